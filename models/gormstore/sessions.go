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
	// schemaV7: the refresh token's generation, its rotation, the nonce's hash.
	RefreshGen   int64
	RotatedAt    micros
	RefreshCheck []byte
}

func (sessionRow) TableName() string { return "sessions" }

func (r sessionRow) model() models.Session {
	return models.Session{ID: r.ID, UserID: r.UserID, ClientID: r.ClientID, Scope: r.Scope,
		CreatedAt: r.CreatedAt.Time(), LastUsedAt: r.LastUsedAt.Time(), ExpiresAt: r.ExpiresAt.Time(),
		EndedAt: r.EndedAt.Time(), EndReason: r.EndReason, AuthTime: r.AuthTime.Time(),
		RefreshGen: r.RefreshGen, RotatedAt: r.RotatedAt.Time(), RefreshCheck: r.RefreshCheck}
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

// CreateSession stores a session, whose first refresh token is its
// generation and nonce check (no token row), ending the user's oldest live
// sessions beyond maxPerUser in the same transaction.
func (s *Store) CreateSession(ctx context.Context, sess models.Session, maxPerUser int) ([]string, error) {
	row := sessionRow{ID: sess.ID, UserID: sess.UserID, ClientID: sess.ClientID, Scope: sess.Scope,
		CreatedAt: toMicros(sess.CreatedAt), LastUsedAt: toMicros(sess.LastUsedAt), ExpiresAt: toMicros(sess.ExpiresAt),
		EndedAt: toMicros(sess.EndedAt), EndReason: sess.EndReason, AuthTime: toMicros(sess.AuthTime),
		RefreshGen: sess.RefreshGen, RotatedAt: toMicros(sess.RotatedAt), RefreshCheck: sess.RefreshCheck}
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
		return endSessions(tx, int64(row.CreatedAt), models.EndReplaced, "id IN ?", ended).Error
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
	return takeOne[sessionRow](s.db.WithContext(ctx).Where("id = ?", id))
}

// CurrentRefreshTokens returns the current refresh token of a live
// session: its generation, or (a legacy session) its unspent legacy tokens.
// Only tests read it (storetest.Store); it is no part of models.Store.
func (s *Store) CurrentRefreshTokens(ctx context.Context, sessionID string) ([]models.RefreshToken, error) {
	sess, err := s.Session(ctx, sessionID)
	switch {
	case err != nil:
		return nil, err
	case sess.Ended():
		return nil, nil
	case sess.RefreshCheck != nil:
		at := sess.RotatedAt
		if at.IsZero() {
			at = sess.CreatedAt
		}
		return []models.RefreshToken{{SessionID: sess.ID, Generation: sess.RefreshGen, CreatedAt: at}}, nil
	}
	return findAll[tokenRow](s.db.WithContext(ctx).Where("session_id = ? AND spent_at IS NULL", sessionID))
}

// ForgetSuccessors drops the sealed successors of legacy tokens spent
// before the given time. A sealed successor is stored on the successor's
// row, created when its predecessor was spent.
func (s *Store) ForgetSuccessors(ctx context.Context, spentBefore time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE refresh_tokens SET sealed = NULL
		WHERE sealed IS NOT NULL AND created_at < ?`, int64(toMicros(spentBefore)))
	return res.RowsAffected, translate(res.Error)
}

// sessionColumns are the columns of sessionRow, for the statements below.
const sessionColumns = `s.id, s.user_id, s.client_id, s.scope, s.created_at, s.last_used_at, s.expires_at,
	s.ended_at, s.end_reason, s.auth_time, s.refresh_gen, s.rotated_at, s.refresh_check`

// UseRefresh runs the refresh rules under the session's lock: the full
// path, for what RotateRefresh (one round trip) leaves. On Postgres it
// costs BEGIN, one statement reading and locking the session with its
// user, one writing, COMMIT; SQLite (BEGIN IMMEDIATE: the write lock is
// held from the start) runs the same statements locally.
func (s *Store) UseRefresh(ctx context.Context, key models.RefreshKey, decide func(models.RefreshState) (models.RefreshChange, error)) error {
	var decideErr error
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		decideErr = nil
		var state models.RefreshState
		var err error
		if key.LegacyHash != nil {
			state, err = s.readLegacy(tx, key.LegacyHash, true)
		} else {
			state, err = s.readSession(tx, key.SessionID)
		}
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

// sessionJoin is a session with its user.
type sessionJoin struct {
	Sess         sessionRow `gorm:"embedded"`
	UserUsername string
	UserDisabled bool
	UserCreated  micros
}

func (j sessionJoin) state() models.RefreshState {
	return models.RefreshState{Session: j.Sess.model(),
		User: models.User{ID: j.Sess.UserID, Username: j.UserUsername, Disabled: j.UserDisabled, CreatedAt: j.UserCreated.Time()}}
}

// readSession reads and locks (Postgres: FOR UPDATE; SQLite's immediate
// transaction holds the write lock) a session with its user.
func (s *Store) readSession(tx *gorm.DB, id string) (models.RefreshState, error) {
	lock := ""
	if s.dialect == dialectPostgres {
		lock = " FOR UPDATE OF s"
	}
	var j sessionJoin
	res := tx.Raw(`SELECT `+sessionColumns+`, u.username AS user_username, u.disabled AS user_disabled, u.created_at AS user_created
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`+lock, id).Scan(&j)
	if res.Error != nil {
		return models.RefreshState{}, res.Error
	}
	if res.RowsAffected == 0 {
		return models.RefreshState{}, models.ErrNotFound
	}
	return j.state(), nil
}

// readLegacy reads a legacy token with its session and user in one
// statement that, with forUpdate on Postgres, locks the session's and the
// token's rows: a racing presentation waits for the lock and then sees the
// rows as the previous holder committed them (READ COMMITTED re-reads
// locked rows). The successor of a spent token is read by a second
// statement, which sees what was committed before it.
func (s *Store) readLegacy(tx *gorm.DB, hash []byte, forUpdate bool) (models.RefreshState, error) {
	lock := ""
	if forUpdate && s.dialect == dialectPostgres {
		lock = " FOR UPDATE OF s, t"
	}
	var j struct {
		Join  sessionJoin `gorm:"embedded"`
		Token tokenRow    `gorm:"embedded;embeddedPrefix:tok_"`
	}
	res := tx.Raw(`SELECT `+sessionColumns+`, u.username AS user_username, u.disabled AS user_disabled, u.created_at AS user_created,
			t.hash AS tok_hash, t.session_id AS tok_session_id, t.created_at AS tok_created_at, t.spent_at AS tok_spent_at,
			t.successor_hash AS tok_successor_hash
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
	st := j.Join.state()
	tok := j.Token.model()
	st.Legacy = &tok
	if len(tok.SuccessorHash) > 0 {
		var n tokenRow
		res := tx.Raw(`SELECT hash, session_id, created_at, spent_at, sealed FROM refresh_tokens WHERE hash = ?`, tok.SuccessorHash).Scan(&n)
		if res.Error != nil {
			return models.RefreshState{}, res.Error
		}
		if res.RowsAffected == 1 {
			succ := n.model()
			st.LegacySuccessor = &succ
			tok.SealedSuccessor = n.Sealed // kept on the successor's row
			st.Legacy = &tok
		}
	}
	return st, nil
}

// applyRefresh writes what the rules decided: mechanically, the rules are
// oauth's.
func (s *Store) applyRefresh(tx *gorm.DB, st models.RefreshState, c models.RefreshChange) error {
	if c.Rotate {
		at := int64(toMicros(c.At))
		check := st.Session.RefreshCheck
		if c.Check != nil {
			check = c.Check
		}
		res := tx.Exec(`UPDATE sessions SET refresh_gen = refresh_gen + 1, rotated_at = ?, last_used_at = ?, refresh_check = ?
			WHERE id = ? AND refresh_gen = ?`, at, at, check, st.Session.ID, st.Session.RefreshGen)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("gormstore: rotate: %w: generation already spent", models.ErrConflict)
		}
		if st.Legacy != nil {
			res := tx.Exec(`UPDATE refresh_tokens SET spent_at = ? WHERE hash = ? AND spent_at IS NULL`, at, st.Legacy.Hash)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 1 {
				return fmt.Errorf("gormstore: rotate: %w: token already spent", models.ErrConflict)
			}
		}
	}
	if c.End != nil {
		return endSessions(tx, int64(toMicros(c.End.At)), c.End.Reason, "id = ?", st.Session.ID).Error
	}
	if !c.Rotate && !c.LastUsedAt.IsZero() {
		return tx.Exec(`UPDATE sessions SET last_used_at = ? WHERE id = ?`, int64(toMicros(c.LastUsedAt)), st.Session.ID).Error
	}
	return nil
}
