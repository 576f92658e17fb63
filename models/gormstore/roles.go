package gormstore

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// UpdateUserRoles rewrites a user's roles under a lock on its row (SQLite's
// immediate transaction already excludes other writers).
func (s *Store) UpdateUserRoles(ctx context.Context, username string, fn func([]string) ([]string, error)) (models.User, error) {
	var u userRow
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var err error
		if u, err = s.lockUser(tx, username); err != nil {
			return err
		}
		roles, err := fn(strings.Fields(u.Roles))
		if err != nil {
			return err
		}
		u.Roles = strings.Join(roles, " ")
		return tx.Exec(`UPDATE users SET roles = ? WHERE id = ?`, u.Roles, u.ID).Error
	})
	if err != nil {
		return models.User{}, translate(err)
	}
	return u.model(), nil
}
