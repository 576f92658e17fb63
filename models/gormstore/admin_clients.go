package gormstore

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// Clients lists clients by id, keyset-paginated on the primary key.
func (s *Store) Clients(ctx context.Context, after string, limit int) ([]models.Client, error) {
	q := s.db.WithContext(ctx)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	return findAll[clientRow](q.Order("id").Limit(limit))
}

// UpdateClient rewrites a client's changeable fields under a lock on its
// row (SQLite's immediate transaction already excludes other writers).
func (s *Store) UpdateClient(ctx context.Context, id string, fn func(models.Client) (models.Client, error)) (models.Client, error) {
	var out models.Client
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		row, err := s.lockClient(tx, id)
		if err != nil {
			return err
		}
		c, err := fn(row.model())
		if err != nil {
			return err
		}
		row.SecretHash, row.Trusted = c.SecretHash, c.Trusted
		row.Grants, row.Scopes = strings.Join(c.Grants, " "), strings.Join(c.Scopes, " ")
		row.RedirectURIs, row.AllowedOrigins = strings.Join(c.RedirectURIs, " "), strings.Join(c.AllowedOrigins, " ")
		out = row.model()
		if err := tx.Exec(`UPDATE clients SET secret_hash = ?, grants = ?, scopes = ?, redirect_uris = ?, allowed_origins = ?, trusted = ?
			WHERE id = ?`, row.SecretHash, row.Grants, row.Scopes, row.RedirectURIs, row.AllowedOrigins, row.Trusted, id).Error; err != nil {
			return err
		}
		return bumpClients(tx)
	})
	if err != nil {
		return models.Client{}, translate(err)
	}
	return out, nil
}

// DeleteClient deletes a client and everything issued to it, each table
// explicitly rather than through the foreign keys' cascades.
func (s *Store) DeleteClient(ctx context.Context, id string) (int64, error) {
	var live int64
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockClient(tx, id); err != nil {
			return err
		}
		if err := tx.Raw(`SELECT count(*) FROM sessions WHERE client_id = ? AND ended_at IS NULL`, id).Scan(&live).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE client_id = ?)`, id).Error; err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM sessions WHERE client_id = ?`,
			`DELETE FROM authorization_codes WHERE client_id = ?`,
			`DELETE FROM consents WHERE client_id = ?`,
			`DELETE FROM clients WHERE id = ?`,
		} {
			if err := tx.Exec(stmt, id).Error; err != nil {
				return err
			}
		}
		return bumpClients(tx)
	})
	if err != nil {
		return 0, translate(err)
	}
	return live, nil
}

// lockClient reads a client by id, locking its row on Postgres.
func (s *Store) lockClient(tx *gorm.DB, id string) (clientRow, error) {
	var row clientRow
	err := s.lockedWhere(tx, "id = ?", id).Take(&row).Error
	return row, err
}
