package gormstore

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// UserByID returns one user.
func (s *Store) UserByID(ctx context.Context, id string) (models.User, error) {
	return takeOne[userRow](s.db.WithContext(ctx).Where("id = ?", id))
}

// DisableUser disables a user and ends its live sessions in one transaction.
func (s *Store) DisableUser(ctx context.Context, username string, at time.Time) (models.User, int64, error) {
	var u userRow
	var ended int64
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("username = ?", username).Take(&u).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE users SET disabled = ? WHERE id = ?`, true, u.ID).Error; err != nil {
			return err
		}
		u.Disabled = true
		return endUserSessions(tx, u.ID, models.SessionEnd{At: at, Reason: models.EndUserDisabled}, &ended)
	})
	if err != nil {
		return models.User{}, 0, translate(err)
	}
	return u.model(), ended, nil
}

// SessionWithUser returns a session and its user in one indexed query.
func (s *Store) SessionWithUser(ctx context.Context, id string) (models.Session, models.User, error) {
	var j struct {
		Sess         sessionRow `gorm:"embedded"`
		Username     string
		UserDisabled bool
		UserRoles    string
	}
	res := s.db.WithContext(ctx).Raw(`SELECT s.id, s.user_id, s.client_id, s.scope, s.created_at, s.last_used_at,
			s.expires_at, s.ended_at, s.end_reason, s.auth_time, s.refresh_gen, s.rotated_at, s.refresh_check, u.username, u.disabled AS user_disabled, u.roles AS user_roles
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, id).Scan(&j)
	if res.Error != nil {
		return models.Session{}, models.User{}, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return models.Session{}, models.User{}, models.ErrNotFound
	}
	return j.Sess.model(), models.User{ID: j.Sess.UserID, Username: j.Username, Disabled: j.UserDisabled,
		Roles: strings.Fields(j.UserRoles)}, nil
}

// SessionsByUser lists a user's sessions newest first, keyset-paginated.
func (s *Store) SessionsByUser(ctx context.Context, userID, after string, limit int) ([]models.Session, error) {
	q := s.db.WithContext(ctx).Where("user_id = ?", userID)
	if after != "" {
		q = q.Where("(created_at, id) < (SELECT created_at, id FROM sessions WHERE id = ?)", after)
	}
	return findAll[sessionRow](q.Order("created_at DESC, id DESC").Limit(limit))
}

// EndSession ends one live session.
func (s *Store) EndSession(ctx context.Context, id string, end models.SessionEnd) (bool, error) {
	res := endSessions(s.db.WithContext(ctx), int64(toMicros(end.At)), end.Reason, "id = ?", id)
	if res.Error != nil {
		return false, translate(res.Error)
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	if _, err := s.Session(ctx, id); err != nil {
		return false, err
	}
	return false, nil
}

// EndUserSessions ends every live session of a user.
func (s *Store) EndUserSessions(ctx context.Context, userID string, end models.SessionEnd) (int64, error) {
	var n int64
	err := endUserSessions(s.db.WithContext(ctx), userID, end, &n)
	return n, translate(err)
}

// endSessions ends, at (µs) for reason, the live sessions matching where,
// a condition on sessions with one placeholder for arg.
func endSessions(db *gorm.DB, at int64, reason, where string, arg any) *gorm.DB {
	return db.Exec(`UPDATE sessions SET ended_at = ?, end_reason = ? WHERE `+where+` AND ended_at IS NULL`, at, reason, arg)
}

func endUserSessions(db *gorm.DB, userID string, end models.SessionEnd, n *int64) error {
	res := endSessions(db, int64(toMicros(end.At)), end.Reason, "user_id = ?", userID)
	if n != nil {
		*n = res.RowsAffected
	}
	return res.Error
}

// InspectRefreshToken reads a legacy token with its session, user and
// successor, without locks (introspection, revocation).
func (s *Store) InspectRefreshToken(ctx context.Context, hash []byte) (models.RefreshState, error) {
	st, err := s.readLegacy(s.db.WithContext(ctx), hash, false)
	return st, translate(err)
}
