package gormstore

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/batonhq/baton/models"
)

// keyRow is the signing_keys table.
type keyRow struct {
	ID         string `gorm:"primaryKey"`
	Alg        string
	State      string
	PublicJWK  []byte `gorm:"column:public_jwk"`
	SealedKey  []byte
	CreatedAt  micros
	ActivateAt micros
	RetireAt   micros
	RemoveAt   micros
}

func (keyRow) TableName() string { return "signing_keys" }

func (r keyRow) model() models.SigningKey {
	return models.SigningKey{ID: r.ID, Alg: r.Alg, State: r.State, PublicJWK: r.PublicJWK, SealedKey: r.SealedKey,
		CreatedAt: r.CreatedAt.Time(), ActivateAt: r.ActivateAt.Time(), RetireAt: r.RetireAt.Time(), RemoveAt: r.RemoveAt.Time()}
}

func newKeyRow(k models.SigningKey) keyRow {
	return keyRow{ID: k.ID, Alg: k.Alg, State: k.State, PublicJWK: k.PublicJWK, SealedKey: k.SealedKey,
		CreatedAt: toMicros(k.CreatedAt), ActivateAt: toMicros(k.ActivateAt), RetireAt: toMicros(k.RetireAt), RemoveAt: toMicros(k.RemoveAt)}
}

// keysLock is the Postgres advisory lock held by the one key writer.
const keysLock = 0x6261746f6e02 // "baton" 2

// SigningKeys returns every stored key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]models.SigningKey, error) {
	return loadKeys(s.db.WithContext(ctx))
}

func loadKeys(db *gorm.DB) ([]models.SigningKey, error) {
	return findAll[keyRow](db.Order("created_at, activate_at, id"))
}

// UpdateKeys lets one writer at a time (across every instance) replace the
// key set: returned keys are upserted, missing ones deleted.
func (s *Store) UpdateKeys(ctx context.Context, fn func([]models.SigningKey) ([]models.SigningKey, error)) error {
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if s.dialect == dialectPostgres {
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(?)`, keysLock).Error; err != nil {
				return err
			}
		}
		current, err := loadKeys(tx)
		if err != nil {
			return err
		}
		next, err := fn(current)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		for _, k := range next {
			keep[k.ID] = true
			row := newKeyRow(k)
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
				return err
			}
		}
		for _, k := range current {
			if !keep[k.ID] {
				if err := tx.Exec(`DELETE FROM signing_keys WHERE id = ?`, k.ID).Error; err != nil {
					return err
				}
			}
		}
		return nil
	})
}
