package gormstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// codeRow is the authorization_codes table (schemaV6).
type codeRow struct {
	Hash          []byte `gorm:"primaryKey"`
	ClientID      string
	UserID        string
	RedirectURI   string `gorm:"column:redirect_uri"`
	CodeChallenge string
	Scope         string
	Nonce         string
	AuthTime      micros
	CreatedAt     micros
	ExpiresAt     micros
	UsedAt        micros
	SessionID     string
	ReplayedAt    micros
}

func (codeRow) TableName() string { return "authorization_codes" }

func (r codeRow) model() models.AuthorizationCode {
	return models.AuthorizationCode{Hash: r.Hash, ClientID: r.ClientID, UserID: r.UserID, RedirectURI: r.RedirectURI,
		CodeChallenge: r.CodeChallenge, Scope: r.Scope, Nonce: r.Nonce, AuthTime: r.AuthTime.Time(),
		CreatedAt: r.CreatedAt.Time(), ExpiresAt: r.ExpiresAt.Time(), UsedAt: r.UsedAt.Time(),
		SessionID: r.SessionID, ReplayedAt: r.ReplayedAt.Time()}
}

// CreateAuthorizationCode stores a new code.
func (s *Store) CreateAuthorizationCode(ctx context.Context, c models.AuthorizationCode) error {
	row := codeRow{Hash: c.Hash, ClientID: c.ClientID, UserID: c.UserID, RedirectURI: c.RedirectURI,
		CodeChallenge: c.CodeChallenge, Scope: c.Scope, Nonce: c.Nonce, AuthTime: toMicros(c.AuthTime),
		CreatedAt: toMicros(c.CreatedAt), ExpiresAt: toMicros(c.ExpiresAt), UsedAt: toMicros(c.UsedAt),
		SessionID: c.SessionID, ReplayedAt: toMicros(c.ReplayedAt)}
	return translate(s.db.WithContext(ctx).Create(&row).Error)
}

// RedeemAuthorizationCode spends a code. The conditional UPDATE is the
// arbiter: on Postgres a racing UPDATE waits for the winner's row lock and
// then re-reads used_at (no longer NULL), on SQLite writers are serialised;
// either way exactly one caller changes the row.
func (s *Store) RedeemAuthorizationCode(ctx context.Context, hash []byte, at time.Time, sessionID string) (models.AuthorizationCode, error) {
	var row codeRow
	won := false
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE authorization_codes SET used_at = ?, session_id = ? WHERE hash = ? AND used_at IS NULL`,
			int64(toMicros(at)), sessionID, hash)
		if res.Error != nil {
			return res.Error
		}
		won = res.RowsAffected == 1
		if !won {
			if err := tx.Exec(`UPDATE authorization_codes SET replayed_at = ? WHERE hash = ? AND replayed_at IS NULL`,
				int64(toMicros(at)), hash).Error; err != nil {
				return err
			}
		}
		return tx.Where("hash = ?", hash).Take(&row).Error
	})
	if err != nil {
		return models.AuthorizationCode{}, translate(err)
	}
	if !won {
		return row.model(), models.ErrConflict
	}
	return row.model(), nil
}

// AuthorizationCode reads one code.
func (s *Store) AuthorizationCode(ctx context.Context, hash []byte) (models.AuthorizationCode, error) {
	return takeOne[codeRow](s.db.WithContext(ctx).Where("hash = ?", hash))
}

// PurgeAuthorizationCodes deletes a batch of expired codes.
func (s *Store) PurgeAuthorizationCodes(ctx context.Context, expiredBefore time.Time, batch int) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`DELETE FROM authorization_codes WHERE hash IN
		(SELECT hash FROM authorization_codes WHERE expires_at < ? LIMIT ?)`, int64(toMicros(expiredBefore)), batch)
	return res.RowsAffected, translate(res.Error)
}

// Consent returns the consented scopes of a user for a client.
func (s *Store) Consent(ctx context.Context, userID, clientID string) ([]string, error) {
	var scopes []string
	err := s.db.WithContext(ctx).Raw(`SELECT scope FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID).
		Scan(&scopes).Error
	if err != nil {
		return nil, translate(err)
	}
	if len(scopes) == 0 {
		return nil, nil
	}
	return strings.Fields(scopes[0]), nil
}

// AddConsent merges scopes into the stored consent. The row is created
// first when missing (ON CONFLICT DO NOTHING), then locked and updated, so
// that concurrent consents for one user and client lose no scope.
func (s *Store) AddConsent(ctx context.Context, userID, clientID string, scopes []string, at time.Time) error {
	now := int64(toMicros(at))
	return s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO consents (user_id, client_id, scope, updated_at) VALUES (?, ?, '', ?)
			ON CONFLICT (user_id, client_id) DO NOTHING`, userID, clientID, now).Error; err != nil {
			return err
		}
		lock := ""
		if s.dialect == dialectPostgres {
			lock = " FOR UPDATE"
		}
		var stored []string
		if err := tx.Raw(`SELECT scope FROM consents WHERE user_id = ? AND client_id = ?`+lock, userID, clientID).
			Scan(&stored).Error; err != nil {
			return err
		}
		if len(stored) != 1 {
			return errors.New("consent row vanished")
		}
		merged := strings.Fields(stored[0])
		for _, sc := range scopes {
			if !slices.Contains(merged, sc) {
				merged = append(merged, sc)
			}
		}
		return tx.Exec(`UPDATE consents SET scope = ?, updated_at = ? WHERE user_id = ? AND client_id = ?`,
			strings.Join(merged, " "), now, userID, clientID).Error
	})
}

// AllowedOrigins lists the browser origins of every client.
func (s *Store) AllowedOrigins(ctx context.Context) ([]string, error) {
	var lists []string
	if err := s.db.WithContext(ctx).Raw(`SELECT allowed_origins FROM clients WHERE allowed_origins <> ''`).
		Scan(&lists).Error; err != nil {
		return nil, translate(err)
	}
	var out []string
	for _, l := range lists {
		for _, o := range strings.Fields(l) {
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}
