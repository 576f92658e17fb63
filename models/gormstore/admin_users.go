package gormstore

import (
	"context"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/batonhq/baton/models"
)

// Users lists users by username in byte order (Postgres: the "C"
// collation, whatever the database's default), keyset-paginated.
func (s *Store) Users(ctx context.Context, after string, limit int) ([]models.User, error) {
	col := "username"
	if s.dialect == dialectPostgres {
		col = `username COLLATE "C"`
	}
	q := s.db.WithContext(ctx)
	if after != "" {
		q = q.Where(col+" > ?", after)
	}
	return findAll[userRow](q.Order(col).Limit(limit))
}

// UpdateUser rewrites a user's password hash, roles and disabled flag under
// a lock on its row (SQLite's immediate transaction already excludes other
// writers), ending its live sessions in the same transaction when fn asks.
func (s *Store) UpdateUser(ctx context.Context, username string, fn func(models.User) (models.User, *models.SessionEnd, error)) (models.User, int64, error) {
	var out models.User
	var ended int64
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		ended = 0
		u, err := s.lockUser(tx, username)
		if err != nil {
			return err
		}
		changed, end, err := fn(u.model())
		if err != nil {
			return err
		}
		u.PasswordHash, u.Roles, u.Disabled = changed.PasswordHash, strings.Join(changed.Roles, " "), changed.Disabled
		if err := tx.Exec(`UPDATE users SET password_hash = ?, roles = ?, disabled = ? WHERE id = ?`,
			u.PasswordHash, u.Roles, u.Disabled, u.ID).Error; err != nil {
			return err
		}
		out = u.model()
		if end == nil {
			return nil
		}
		return endUserSessions(tx, u.ID, *end, &ended)
	})
	if err != nil {
		return models.User{}, 0, translate(err)
	}
	return out, ended, nil
}

// DeleteUser deletes a user and everything of it in one transaction. On
// Postgres the row lock makes a concurrent CreateSession (whose foreign key
// check locks the user's row too) either finish first, and its session is
// deleted here, or fail its foreign key check after the delete commits.
func (s *Store) DeleteUser(ctx context.Context, username string) (models.User, error) {
	var u userRow
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		var err error
		if u, err = s.lockUser(tx, username); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)`,
			`DELETE FROM sessions WHERE user_id = ?`,
			`DELETE FROM authorization_codes WHERE user_id = ?`,
			`DELETE FROM consents WHERE user_id = ?`,
			`DELETE FROM users WHERE id = ?`,
		} {
			if err := tx.Exec(stmt, u.ID).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return models.User{}, translate(err)
	}
	return u.model(), nil
}

// lockUser reads a user by username, locking its row on Postgres.
func (s *Store) lockUser(tx *gorm.DB, username string) (userRow, error) {
	var u userRow
	err := s.lockedWhere(tx, "username = ?", username).Take(&u).Error
	return u, err
}

// lockedWhere is tx.Where(query, args...) locking the rows it reads on
// Postgres (SQLite's immediate transaction already excludes other writers).
func (s *Store) lockedWhere(tx *gorm.DB, query string, args ...any) *gorm.DB {
	q := tx.Where(query, args...)
	if s.dialect == dialectPostgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return q
}
