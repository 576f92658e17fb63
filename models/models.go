// Package models holds baton's stored entities and the Store interface every
// storage backend implements. It imports no other baton package and no
// database driver: the GORM implementation lives in models/gormstore.
package models

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every Store implementation.
var (
	ErrNotFound      = errors.New("models: not found")
	ErrAlreadyExists = errors.New("models: already exists")
	ErrConflict      = errors.New("models: conflict")
	// ErrUnavailable wraps failures to reach the database (connection
	// refused or lost, server shutting down): the request may be retried.
	ErrUnavailable = errors.New("models: database unavailable")
)

// User is a resource owner who logs in with the password grant.
type User struct {
	ID           string // random, never reused
	Username     string // unique
	PasswordHash string // PHC-encoded argon2id hash
	Disabled     bool
	Roles        []string // e.g. "admin" (SPEC §7); admin rights belong to users
	CreatedAt    time.Time
}

// Client is a registered OAuth client.
type Client struct {
	ID         string
	SecretHash string   // PHC-encoded hash of the secret; empty for public clients
	Public     bool     // true: authenticates with "none"
	Grants     []string // grant types it may use
	Scopes     []string // scopes it may request
	CreatedAt  time.Time
	// RedirectURIs are the registered redirect URIs of the authorization
	// code flow (SPEC §6), matched exactly (loopback: any port).
	RedirectURIs []string
	// AllowedOrigins are the browser origins CORS lets call baton for it.
	AllowedOrigins []string
	// Trusted marks a first-party client that needs no consent screen.
	Trusted bool
}

// Session end reasons, recorded in Session.EndReason.
const (
	EndLogout        = "logout"
	EndAdmin         = "admin"
	EndReuseDetected = "reuse_detected"
	EndUserDisabled  = "user_disabled"
	EndReplaced      = "replaced"
	EndIdle          = "idle"
	EndAbsolute      = "absolute"
)

// Session is what one login starts: a user, a client, the granted scope and
// the chain of refresh tokens issued to it. A live session has exactly one
// current (unspent) refresh token.
type Session struct {
	ID         string
	UserID     string
	ClientID   string
	Scope      string    // granted scope, space-separated
	CreatedAt  time.Time // start of the absolute limit
	LastUsedAt time.Time // start of the idle limit
	ExpiresAt  time.Time // absolute limit: CreatedAt + session max TTL
	EndedAt    time.Time // zero while the session lives
	EndReason  string    // one of the End* constants once ended
	// AuthTime is when the user entered the password that started the
	// session (OIDC auth_time); zero: CreatedAt.
	AuthTime time.Time
	// RefreshGen is the generation of the session's current refresh
	// token: 1 for the first, one more per rotation. No row is kept per
	// token: a token names its session and generation and is authenticated
	// by a MAC (oauth), so any earlier generation is recognised as spent.
	// 0 for a session whose current token is a legacy one (RefreshToken).
	RefreshGen int64
	// RotatedAt is when generation RefreshGen was issued by a rotation;
	// zero before the first rotation.
	RotatedAt time.Time
	// RefreshCheck is the SHA-256 of the random nonce every refresh token
	// of the session carries; nil while its current token is a legacy one.
	RefreshCheck []byte
}

// Ended reports whether the session has been revoked or otherwise ended.
func (s Session) Ended() bool { return !s.EndedAt.IsZero() }

// RefreshToken is one link of a legacy refresh-token chain (sessions
// started before schema version 7): only a hash of the token is stored. No
// new rows are written; a session's legacy tokens go when it is purged.
type RefreshToken struct {
	Hash      []byte // SHA-256 of the token as sent to the client
	SessionID string
	CreatedAt time.Time
	// SpentAt is zero while the token is the session's current one, and the
	// time of its rotation afterwards.
	SpentAt time.Time
	// SuccessorHash is the hash of the token that replaced it (set when
	// spent by a legacy rotation; nil when spent by the upgrade).
	SuccessorHash []byte
	// Generation is set instead of Hash for the current token of a
	// session past the upgrade (CurrentRefreshTokens).
	Generation int64
	// SealedSuccessor is the successor token encrypted under a key derived
	// from this token, so that a concurrent presentation within the grace
	// window receives the same successor. It is dropped after the window.
	SealedSuccessor []byte
}

// Current reports whether the token has not been rotated yet.
func (t RefreshToken) Current() bool { return t.SpentAt.IsZero() }

// RefreshState is what a Store reads, under the session's lock, for one
// presented refresh token.
type RefreshState struct {
	Session Session
	User    User
	// Legacy is the presented token when it is a legacy one (looked up by
	// hash), nil otherwise; LegacySuccessor is the legacy token that
	// replaced it, if any.
	Legacy          *RefreshToken
	LegacySuccessor *RefreshToken
}

// RefreshChange is what the refresh rules decide for a RefreshState. The
// zero value changes nothing.
type RefreshChange struct {
	// Rotate, when true, advances the session from the generation read to
	// the next one, with RotatedAt and LastUsedAt set to At; a presented
	// legacy token is marked spent at At. Check, when not nil, becomes the
	// session's RefreshCheck (the upgrade of a legacy session).
	Rotate bool
	Check  []byte
	At     time.Time
	// LastUsedAt, when not zero and Rotate is false, becomes the session's
	// LastUsedAt.
	LastUsedAt time.Time
	// End, when set, ends the session with the given time and reason.
	End *SessionEnd
}

// RefreshKey names what UseRefresh locks: a session by id, or the session
// of the legacy token with hash LegacyHash.
type RefreshKey struct {
	SessionID  string
	LegacyHash []byte
}

// Rotation asks for the common refresh in one step (SPEC §3 rule 1 when
// nothing else applies): advance session SessionID from generation Gen to
// Gen+1 with RotatedAt and LastUsedAt set to At.
type Rotation struct {
	SessionID string
	Gen       int64  // the presented generation
	Check     []byte // the session's RefreshCheck, as the presented token proves it
	ClientID  string // the presenting client
	At        time.Time
	// UsedAfter is At minus the idle limit: a session last used at or
	// before it has expired.
	UsedAfter time.Time
}

// SessionEnd records why and when a session ended.
type SessionEnd struct {
	At     time.Time
	Reason string
}

// LoginFailure counts recent failed logins of one throttle key.
type LoginFailure struct {
	Key      string
	Failures int
	LastAt   time.Time
}

// Key states of the signing-key lifecycle: next → active → retired → removed.
const (
	KeyNext    = "next"
	KeyActive  = "active"
	KeyRetired = "retired"
)

// SigningKey is a JWT signing key. The private part is stored sealed (AES-GCM
// under the key-encryption key), never in plaintext.
type SigningKey struct {
	ID         string // kid
	Alg        string // ES256, RS256 or EdDSA
	State      string // KeyNext, KeyActive or KeyRetired
	PublicJWK  []byte // JSON of the public JWK
	SealedKey  []byte // private key, sealed with the KEK
	CreatedAt  time.Time
	ActivateAt time.Time // when it starts (or started) signing
	RetireAt   time.Time // when it stops (or stopped) signing; zero if not planned
	RemoveAt   time.Time // when it leaves the JWKS; zero while not retired
}

// Store is baton's storage. Implementations are safe for concurrent use and
// return times in UTC.
type Store interface {
	// CreateUser stores a new user; ErrAlreadyExists if the username is taken.
	CreateUser(ctx context.Context, u User) error
	// UserByUsername returns the user; ErrNotFound if none.
	UserByUsername(ctx context.Context, username string) (User, error)

	// CreateClient stores a new client; ErrAlreadyExists if the id is taken.
	CreateClient(ctx context.Context, c Client) error
	// Client returns the client; ErrNotFound if none.
	Client(ctx context.Context, id string) (Client, error)
	// ClientsVersion returns a count that every committed change of a
	// client (created, updated, deleted) increases, whichever process made
	// it: caches of clients compare it to learn of changes.
	ClientsVersion(ctx context.Context) (int64, error)

	// UserByID returns the user; ErrNotFound if none.
	UserByID(ctx context.Context, id string) (User, error)
	// DisableUser marks the user disabled and ends every live session of it
	// with EndUserDisabled, in one transaction, returning how many it ended.
	// ErrNotFound if no such user.
	DisableUser(ctx context.Context, username string, at time.Time) (User, int64, error)

	// CreateSession stores a new session (its first refresh token is
	// generation s.RefreshGen, authenticated by s.RefreshCheck). With maxPerUser > 0, the user's oldest live sessions
	// beyond maxPerUser (counting the new one) end with EndReplaced in the
	// same transaction, under a lock on the user, so that concurrent logins
	// never leave more than maxPerUser live sessions. It returns the ids of
	// the sessions it ended. ErrNotFound if the user or the client does not
	// exist (deleted while the login was under way).
	CreateSession(ctx context.Context, s Session, maxPerUser int) ([]string, error)
	// Session returns the session; ErrNotFound if none.
	Session(ctx context.Context, id string) (Session, error)
	// SessionWithUser returns a session and its user (with its roles) in one query.
	SessionWithUser(ctx context.Context, id string) (Session, User, error)
	// SessionsByUser lists a user's sessions, newest first, starting after
	// the session with id after ("" for the first page), at most limit.
	SessionsByUser(ctx context.Context, userID, after string, limit int) ([]Session, error)
	// EndSession ends a live session; it reports false if the session had
	// already ended. ErrNotFound if none.
	EndSession(ctx context.Context, id string, end SessionEnd) (bool, error)
	// EndUserSessions ends every live session of a user and returns how many.
	EndUserSessions(ctx context.Context, userID string, end SessionEnd) (int64, error)
	// InspectRefreshToken reads a legacy refresh token with its session and
	// user, without locking (introspection, revocation). ErrNotFound if unknown.
	InspectRefreshToken(ctx context.Context, hash []byte) (RefreshState, error)
	// UseRefresh locks the session named by key, reads it with its user
	// (and the legacy token, for a LegacyHash), calls decide with what it
	// read and applies the returned change, all in one transaction. The
	// change is committed even when decide returns an error (a reuse
	// revocation sticks while the grant fails), and that error is then
	// returned. ErrNotFound when there is no such session or token; a
	// rotation of a generation that is no longer current is ErrConflict.
	// decide may run more than once (retries), so it has no side effects.
	UseRefresh(ctx context.Context, key RefreshKey, decide func(RefreshState) (RefreshChange, error)) error
	// RotateRefresh performs r atomically, in one round trip where the
	// database allows it, when all of these hold at r.At: the session's
	// generation is r.Gen and its RefreshCheck r.Check, it is live, issued
	// to r.ClientID, before its ExpiresAt and last used after r.UsedAfter,
	// and its user is enabled. It then returns the session as the rotation
	// left it and true. Otherwise it changes nothing and returns false: the
	// caller applies the full rules with UseRefresh. A store may always
	// answer false (SQLite: the full path is as cheap).
	RotateRefresh(ctx context.Context, r Rotation) (Session, bool, error)
	// ForgetSuccessors drops SealedSuccessor from legacy tokens spent
	// before the given time and returns how many it changed.
	ForgetSuccessors(ctx context.Context, spentBefore time.Time) (int64, error)
	// EndExpiredSessions ends, with EndAbsolute or EndIdle, at most batch
	// live sessions that are past their absolute limit or unused for idle.
	EndExpiredSessions(ctx context.Context, now time.Time, idle time.Duration, batch int) (int64, error)
	// PurgeTokens deletes at most batch legacy refresh tokens of sessions
	// that ended before the given time; spent tokens of live sessions are
	// kept for reuse detection.
	PurgeTokens(ctx context.Context, endedBefore time.Time, batch int) (int64, error)
	// PurgeSessions deletes at most batch sessions (with their tokens) that
	// ended before the given time: the audit retention.
	PurgeSessions(ctx context.Context, endedBefore time.Time, batch int) (int64, error)

	// UpdateUserRoles calls fn with the user's roles under a lock on the
	// user and stores the roles it returns, in one transaction; nothing is
	// written when fn fails. ErrNotFound if no such user.
	UpdateUserRoles(ctx context.Context, username string, fn func(roles []string) ([]string, error)) (User, error)
	// RevokeAccessToken remembers the jti of a revoked access token until
	// expiresAt (the token's exp); revoking it again changes nothing.
	RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error
	// AccessTokenRevoked reports whether the jti was revoked: one indexed read.
	AccessTokenRevoked(ctx context.Context, jti string) (bool, error)
	// PurgeRevokedTokens deletes at most batch revocations that expired
	// before the given time.
	PurgeRevokedTokens(ctx context.Context, expiredBefore time.Time, batch int) (int64, error)

	// SigningKeys returns every stored signing key.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateKeys takes a lock that makes it the only key writer across every
	// instance sharing the database, calls fn with the stored keys and
	// writes back the result: keys in the returned slice are inserted or
	// updated, stored keys missing from it are deleted. fn may run more than
	// once. If fn returns an error nothing is written.
	UpdateKeys(ctx context.Context, fn func(keys []SigningKey) ([]SigningKey, error)) error

	// ReserveLoginAttempt counts a login attempt before it is tried, so that
	// concurrent attempts cannot all pass one check. In one transaction it
	// reads the failure records of keys under lock (keys without a record
	// are absent) and asks wait how long the attempt must wait; when wait
	// answers zero it counts the attempt under every key (failures+1, last
	// failure at now; a count whose last failure is older than window starts
	// again from one), otherwise it changes nothing. It returns wait's
	// answer. wait must be a pure function: it may run more than once.
	ReserveLoginAttempt(ctx context.Context, keys []string, now time.Time, window time.Duration,
		wait func([]LoginFailure) time.Duration) (time.Duration, error)
	// ReleaseLoginAttempt takes a reservation back after a success: the
	// records of clear are deleted, the counts of release lose one (a
	// record left at zero is deleted).
	ReleaseLoginAttempt(ctx context.Context, clear, release []string) error
	// PurgeLoginFailures deletes records whose last failure is older than before.
	PurgeLoginFailures(ctx context.Context, before time.Time) (int64, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error

	// CreateAuthorizationCode stores a new authorization code (SPEC §6).
	CreateAuthorizationCode(ctx context.Context, c AuthorizationCode) error
	// RedeemAuthorizationCode spends the code with the given hash, in one
	// atomic step: of any number of concurrent calls exactly one finds it
	// unspent, sets UsedAt to at and SessionID to sessionID (the session
	// the caller is about to start) and returns it with a nil error. Every
	// other call marks the code replayed and returns it as stored (with the
	// first caller's SessionID) and ErrConflict. ErrNotFound if no code has
	// the hash. Expiry is the caller's to check.
	RedeemAuthorizationCode(ctx context.Context, hash []byte, at time.Time, sessionID string) (AuthorizationCode, error)
	// AuthorizationCode reads a code; ErrNotFound if none.
	AuthorizationCode(ctx context.Context, hash []byte) (AuthorizationCode, error)
	// PurgeAuthorizationCodes deletes at most batch codes that expired
	// before the given time.
	PurgeAuthorizationCodes(ctx context.Context, expiredBefore time.Time, batch int) (int64, error)
	// Consent returns the scopes the user has consented to for the client;
	// empty when none.
	Consent(ctx context.Context, userID, clientID string) ([]string, error)
	// AddConsent adds scopes to the user's consent for the client (the
	// union with what was consented before), atomically.
	AddConsent(ctx context.Context, userID, clientID string, scopes []string, at time.Time) error
	// AllowedOrigins returns every browser origin registered with some
	// client (CORS preflights), without duplicates.
	AllowedOrigins(ctx context.Context) ([]string, error)

	// Clients administration (SPEC §7).

	// Clients lists clients ordered by id, starting after the client with
	// id after ("" for the first page), at most limit.
	Clients(ctx context.Context, after string, limit int) ([]Client, error)
	// UpdateClient calls fn with the client under a lock on it and stores
	// what fn returns (grants, scopes, redirect URIs, origins, trusted and
	// the secret hash; the id, Public and CreatedAt stay), in one
	// transaction; nothing is written when fn fails, and fn's error is
	// returned. ErrNotFound if no such client.
	UpdateClient(ctx context.Context, id string, fn func(Client) (Client, error)) (Client, error)
	// DeleteClient deletes the client with its sessions and their refresh
	// tokens, its authorization codes and consents, in one transaction,
	// and returns how many of the deleted sessions were live. ErrNotFound
	// if no such client.
	DeleteClient(ctx context.Context, id string) (int64, error)

	// Users administration (SPEC §7).
	// Users lists users ordered by username (byte order), starting after
	// the username after ("" for the first page), at most limit.
	Users(ctx context.Context, after string, limit int) ([]User, error)
	// UpdateUser calls fn with the user under a lock on it and stores the
	// PasswordHash, Roles and Disabled of the user it returns (ID, Username
	// and CreatedAt cannot change), in one transaction. When fn also
	// returns a SessionEnd, every live session of the user ends with it in
	// that transaction; UpdateUser returns how many. Nothing is written
	// when fn fails. fn may run more than once. ErrNotFound if no such user.
	UpdateUser(ctx context.Context, username string, fn func(User) (User, *SessionEnd, error)) (User, int64, error)
	// DeleteUser deletes the user with its sessions, their refresh tokens,
	// its authorization codes and consents, in one transaction. A session
	// being created concurrently is either deleted with it or refused, never
	// left behind. ErrNotFound if no such user.
	DeleteUser(ctx context.Context, username string) (User, error)
}

// AuthorizationCode is a one-time code of the authorization code flow
// (RFC 6749 §4.1, SPEC §6). Only a hash of the code is stored.
type AuthorizationCode struct {
	Hash          []byte // SHA-256 of the code as sent to the client
	ClientID      string
	UserID        string
	RedirectURI   string
	CodeChallenge string // RFC 7636 S256 challenge
	Scope         string // granted scope, space-separated
	Nonce         string // OIDC nonce; empty when none was sent
	AuthTime      time.Time
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time // zero while unspent
	SessionID     string    // the session the redemption started
	ReplayedAt    time.Time // first presentation after UsedAt; zero if none
}
