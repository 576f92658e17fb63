package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// sessionRow is the sessions table.
type sessionRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	ClientID   string
	Scope      string
	CreatedAt  micros
	LastUsedAt micros
	ExpiresAt  micros
	EndedAt    micros
	EndReason  string
	AuthTime   micros // schemaV6
}

func (sessionRow) TableName() string { return "sessions" }

func (r sessionRow) model() models.Session {
	return models.Session{ID: r.ID, UserID: r.UserID, ClientID: r.ClientID, Scope: r.Scope,
		CreatedAt: r.CreatedAt.Time(), LastUsedAt: r.LastUsedAt.Time(), ExpiresAt: r.ExpiresAt.Time(),
		EndedAt: r.EndedAt.Time(), EndReason: r.EndReason, AuthTime: r.AuthTime.Time()}
}

// tokenRow is the refresh_tokens table.
type tokenRow struct {
	Hash          []byte `gorm:"primaryKey"`
	SessionID     string
	CreatedAt     micros
	SpentAt       micros
	SuccessorHash []byte
	Sealed        []byte // this token sealed under its predecessor (schemaV4)
}

func (tokenRow) TableName() string { return "refresh_tokens" }

func (r tokenRow) model() models.RefreshToken {
	return models.RefreshToken{Hash: r.Hash, SessionID: r.SessionID, CreatedAt: r.CreatedAt.Time(),
		SpentAt: r.SpentAt.Time(), SuccessorHash: r.SuccessorHash}
}

func newTokenRow(t models.RefreshToken) tokenRow {
	return tokenRow{Hash: t.Hash, SessionID: t.SessionID, CreatedAt: toMicros(t.CreatedAt),
		SpentAt: toMicros(t.SpentAt), SuccessorHash: t.SuccessorHash}
}

// CreateSession stores a session and its first refresh token atomically,
// ending the user's oldest live sessions beyond maxPerUser.
func (s *Store) CreateSession(ctx context.Context, sess models.Session, first models.RefreshToken, maxPerUser int) ([]string, error) {
	row := sessionRow{ID: sess.ID, UserID: sess.UserID, ClientID: sess.ClientID, Scope: sess.Scope,
		CreatedAt: toMicros(sess.CreatedAt), LastUsedAt: toMicros(sess.LastUsedAt), ExpiresAt: toMicros(sess.ExpiresAt),
		EndedAt: toMicros(sess.EndedAt), EndReason: sess.EndReason, AuthTime: toMicros(sess.AuthTime)}
	first.SessionID = sess.ID
	tok := newTokenRow(first)
	var ended []string
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		ended = nil
		if maxPerUser > 0 {
			// Serialise the logins of one user (SQLite's immediate
			// transaction already serialises every writer).
			if err := s.lockRow(tx, "users", sess.UserID); err != nil {
				return err
			}
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := tx.Create(&tok).Error; err != nil {
			return err
		}
		if maxPerUser <= 0 {
			return nil
		}
		var live []string
		if err := tx.Raw(`SELECT id FROM sessions WHERE user_id = ? AND id <> ? AND ended_at IS NULL AND expires_at > ?
			ORDER BY created_at DESC, id DESC`, sess.UserID, sess.ID, int64(row.CreatedAt)).Scan(&live).Error; err != nil {
			return err
		}
		if len(live) < maxPerUser {
			return nil
		}
		ended = live[maxPerUser-1:]
		return tx.Exec(`UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id IN ? AND ended_at IS NULL`,
			int64(row.CreatedAt), models.EndReplaced, ended).Error
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// lockRow takes a row lock on Postgres; SQLite needs none.
func (s *Store) lockRow(tx *gorm.DB, table, id string) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	var got []string
	return tx.Raw(`SELECT id FROM `+table+` WHERE id = ? FOR UPDATE`, id).Scan(&got).Error
}

// Session returns one session.
func (s *Store) Session(ctx context.Context, id string) (models.Session, error) {
	var row sessionRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.Session{}, translate(err)
	}
	return row.model(), nil
}

// CurrentRefreshTokens returns the session's unspent refresh tokens.
func (s *Store) CurrentRefreshTokens(ctx context.Context, sessionID string) ([]models.RefreshToken, error) {
	var rows []tokenRow
	if err := s.db.WithContext(ctx).Where("session_id = ? AND spent_at IS NULL", sessionID).Find(&rows).Error; err != nil {
		return nil, translate(err)
	}
	out := make([]models.RefreshToken, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// ForgetSuccessors drops the sealed successors of tokens spent before the
// given time. A sealed successor is stored on the successor's row, created
// when its predecessor was spent.
func (s *Store) ForgetSuccessors(ctx context.Context, spentBefore time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE refresh_tokens SET sealed = NULL
		WHERE sealed IS NOT NULL AND created_at < ?`, int64(toMicros(spentBefore)))
	return res.RowsAffected, translate(res.Error)
}

// refreshJoin is what UseRefreshToken reads after taking the session lock.
type refreshJoin struct {
	Hash          []byte
	SessionID     string
	CreatedAt     micros
	SpentAt       micros
	SuccessorHash []byte
	UserUsername  string
	UserDisabled  bool
	UserCreated   micros
	SuccHash      []byte
	SuccCreated   micros
	SuccSpent     micros
	SuccSealed    []byte
}

// UseRefreshToken runs the refresh rules under the session's lock: the
// full path, for what RotateRefreshToken (one round trip) leaves. On
// Postgres a rotation here costs four round trips: BEGIN, one statement
// reading and locking the session and the token with the user, one writing
// (spend, insert the successor, touch the session: rotateOneStatement),
// COMMIT. A spent token costs one more read (its successor, with the sealed
// copy the grace window hands out); ending the session one UPDATE.
// SQLite (BEGIN IMMEDIATE: the write lock is held from the start) runs the
// same read and the writes as three local statements.
func (s *Store) UseRefreshToken(ctx context.Context, hash []byte, decide func(models.RefreshState) (models.RefreshChange, error)) error {
	var decideErr error
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		decideErr = nil
		state, err := s.readRefresh(tx, hash, true)
		if err != nil {
			return err
		}
		change, err := decide(state)
		decideErr = err
		return s.applyRefresh(tx, state, change)
	})
	if err != nil {
		return err
	}
	return decideErr
}

// readRefresh reads the token with its session and user in one statement
// that, with forUpdate on Postgres, locks the token's and the session's rows: a racing
// presentation waits for the lock and then sees the rows as the previous
// holder committed them (READ COMMITTED re-reads locked rows). The
// successor of a spent token (the rare path) is read by a second statement,
// which sees what was committed before it.
func (s *Store) readRefresh(tx *gorm.DB, hash []byte, forUpdate bool) (models.RefreshState, error) {
	lock := ""
	if forUpdate && s.dialect == dialectPostgres {
		lock = " FOR UPDATE OF s, t" // session first, as RotateRefreshToken
	}
	var j struct {
		Token refreshJoin `gorm:"embedded"`
		Sess  sessionRow  `gorm:"embedded;embeddedPrefix:sess_"`
	}
	res := tx.Raw(`SELECT t.hash, t.session_id, t.created_at, t.spent_at, t.successor_hash,
			u.username AS user_username, u.disabled AS user_disabled, u.created_at AS user_created,
			s.id AS sess_id, s.user_id AS sess_user_id, s.client_id AS sess_client_id, s.scope AS sess_scope,
			s.created_at AS sess_created_at, s.last_used_at AS sess_last_used_at, s.expires_at AS sess_expires_at,
			s.ended_at AS sess_ended_at, s.end_reason AS sess_end_reason
		FROM refresh_tokens t
		JOIN sessions s ON s.id = t.session_id
		JOIN users u ON u.id = s.user_id
		WHERE t.hash = ?`+lock, hash).Scan(&j)
	if res.Error != nil {
		return models.RefreshState{}, res.Error
	}
	if res.RowsAffected == 0 {
		return models.RefreshState{}, models.ErrNotFound
	}
	if len(j.Token.SuccessorHash) > 0 {
		var n tokenRow
		res := tx.Raw(`SELECT hash, created_at, spent_at, sealed FROM refresh_tokens WHERE hash = ?`, j.Token.SuccessorHash).Scan(&n)
		if res.Error != nil {
			return models.RefreshState{}, res.Error
		}
		j.Token.SuccHash, j.Token.SuccCreated, j.Token.SuccSpent, j.Token.SuccSealed = n.Hash, n.CreatedAt, n.SpentAt, n.Sealed
	}
	return j.Token.state(j.Sess), nil
}

// state assembles what the refresh rules see.
func (j refreshJoin) state(sess sessionRow) models.RefreshState {
	st := models.RefreshState{
		Session: sess.model(),
		User:    models.User{ID: sess.UserID, Username: j.UserUsername, Disabled: j.UserDisabled, CreatedAt: j.UserCreated.Time()},
		Token: tokenRow{Hash: j.Hash, SessionID: j.SessionID, CreatedAt: j.CreatedAt, SpentAt: j.SpentAt,
			SuccessorHash: j.SuccessorHash}.model(),
	}
	st.Token.SealedSuccessor = j.SuccSealed // kept on the successor's row
	if len(j.SuccHash) > 0 {
		st.Successor = &models.RefreshToken{Hash: j.SuccHash, SessionID: sess.ID, CreatedAt: j.SuccCreated.Time(), SpentAt: j.SuccSpent.Time()}
	}
	return st
}

// rotateOneStatement is the hot path on Postgres: spending the token,
// inserting its successor and touching the session in one statement (one
// round trip instead of three).
func rotateOneStatement(tx *gorm.DB, st models.RefreshState, c models.RefreshChange) error {
	at, used := int64(toMicros(c.Rotate.CreatedAt)), int64(toMicros(c.LastUsedAt))
	res := tx.Exec(`WITH spent AS (
			UPDATE refresh_tokens SET spent_at = ?, successor_hash = ?
			WHERE hash = ? AND spent_at IS NULL RETURNING session_id
		), ins AS (
			INSERT INTO refresh_tokens (hash, session_id, created_at, sealed) SELECT ?, session_id, ?, ? FROM spent RETURNING session_id
		)
		UPDATE sessions SET last_used_at = ? WHERE id IN (SELECT session_id FROM ins)`,
		at, c.Rotate.Hash, st.Token.Hash, c.Rotate.Hash, at, c.SealedSuccessor, used)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("gormstore: rotate: %w: token already spent", models.ErrConflict)
	}
	return nil
}

// applyRefresh writes what the rules decided.
func (s *Store) applyRefresh(tx *gorm.DB, st models.RefreshState, c models.RefreshChange) error {
	if s.dialect == dialectPostgres && c.Rotate != nil && c.End == nil && !c.LastUsedAt.IsZero() {
		return rotateOneStatement(tx, st, c)
	}
	if c.Rotate != nil {
		next := *c.Rotate
		next.SessionID = st.Session.ID
		res := tx.Exec(spendToken, int64(toMicros(next.CreatedAt)), next.Hash, st.Token.Hash)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("gormstore: rotate: %w: token already spent", models.ErrConflict)
		}
		row := newTokenRow(next)
		row.Sealed = c.SealedSuccessor
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
	}
	if c.End != nil {
		return tx.Exec(`UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL`,
			int64(toMicros(c.End.At)), c.End.Reason, st.Session.ID).Error
	}
	if !c.LastUsedAt.IsZero() {
		return tx.Exec(`UPDATE sessions SET last_used_at = ? WHERE id = ?`, int64(toMicros(c.LastUsedAt)), st.Session.ID).Error
	}
	return nil
}
