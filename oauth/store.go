package oauth

import (
	"context"
	"time"

	"github.com/batonhq/baton/models"
)

// The storage each part of oauth needs, declared here by the part that
// uses it (as fosite's handler/oauth2/storage.go does): each lists only the
// methods that part calls, with the contracts of models.Store, which every
// one of them is a subset of.

// ClientStore reads registered clients (the client cache).
type ClientStore interface {
	Client(ctx context.Context, id string) (models.Client, error)
	ClientsVersion(ctx context.Context) (int64, error)
}

// UserStore reads users by name (logins).
type UserStore interface {
	UserByUsername(ctx context.Context, username string) (models.User, error)
}

// ThrottleStore counts login and client-secret attempts (throttle.go).
type ThrottleStore interface {
	ReserveLoginAttempt(ctx context.Context, keys []string, now time.Time, window time.Duration,
		wait func([]models.LoginFailure) time.Duration) (time.Duration, error)
	ReleaseLoginAttempt(ctx context.Context, clear, release []string) error
}

// OriginStore lists the browser origins clients registered (CORS).
type OriginStore interface {
	AllowedOrigins(ctx context.Context) ([]string, error)
}

// SharedStore is what the pieces in Shared read and write.
type SharedStore interface {
	ClientStore
	UserStore
	ThrottleStore
	OriginStore
}

// SessionStore starts, reads and ends sessions for the grants and bearer
// tokens.
type SessionStore interface {
	CreateSession(ctx context.Context, s models.Session, maxPerUser int) ([]string, error)
	Session(ctx context.Context, id string) (models.Session, error)
	SessionWithUser(ctx context.Context, id string) (models.Session, models.User, error)
	EndSession(ctx context.Context, id string, end models.SessionEnd) (bool, error)
	UserByID(ctx context.Context, id string) (models.User, error)
}

// RefreshStore rotates and inspects refresh tokens (grant_refresh.go,
// introspect.go, revoke.go).
type RefreshStore interface {
	UseRefresh(ctx context.Context, key models.RefreshKey, decide func(models.RefreshState) (models.RefreshChange, error)) error
	RotateRefresh(ctx context.Context, r models.Rotation) (models.Session, bool, error)
	InspectRefreshToken(ctx context.Context, hash []byte) (models.RefreshState, error)
}

// RevocationStore remembers revoked access tokens (RFC 7009).
type RevocationStore interface {
	RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error
	AccessTokenRevoked(ctx context.Context, jti string) (bool, error)
}

// CodeRedeemer spends authorization codes (grant_authorization_code.go).
type CodeRedeemer interface {
	RedeemAuthorizationCode(ctx context.Context, hash []byte, at time.Time, sessionID string) (models.AuthorizationCode, error)
	AuthorizationCode(ctx context.Context, hash []byte) (models.AuthorizationCode, error)
}

// TokenStore is what Tokens needs.
type TokenStore interface {
	SessionStore
	RefreshStore
	RevocationStore
	CodeRedeemer
}

// AuthorizationStore is what Authorizations needs: codes and consents.
type AuthorizationStore interface {
	CreateAuthorizationCode(ctx context.Context, c models.AuthorizationCode) error
	Consent(ctx context.Context, userID, clientID string) ([]string, error)
	AddConsent(ctx context.Context, userID, clientID string, scopes []string, at time.Time) error
}

// UserAdminStore administers users and their roles.
type UserAdminStore interface {
	UserStore
	CreateUser(ctx context.Context, u models.User) error
	Users(ctx context.Context, after string, limit int) ([]models.User, error)
	UpdateUser(ctx context.Context, username string, fn func(models.User) (models.User, *models.SessionEnd, error)) (models.User, int64, error)
	UpdateUserRoles(ctx context.Context, username string, fn func(roles []string) ([]string, error)) (models.User, error)
	DisableUser(ctx context.Context, username string, at time.Time) (models.User, int64, error)
	DeleteUser(ctx context.Context, username string) (models.User, error)
}

// ClientAdminStore administers clients.
type ClientAdminStore interface {
	ClientStore
	CreateClient(ctx context.Context, c models.Client) error
	Clients(ctx context.Context, after string, limit int) ([]models.Client, error)
	UpdateClient(ctx context.Context, id string, fn func(models.Client) (models.Client, error)) (models.Client, error)
	DeleteClient(ctx context.Context, id string) (int64, error)
}

// SessionAdminStore lists and ends sessions.
type SessionAdminStore interface {
	SessionsByUser(ctx context.Context, userID, after string, limit int) ([]models.Session, error)
	EndSession(ctx context.Context, id string, end models.SessionEnd) (bool, error)
	EndUserSessions(ctx context.Context, userID string, end models.SessionEnd) (int64, error)
}

// AdminStore is what Admin needs.
type AdminStore interface {
	UserAdminStore
	ClientAdminStore
	SessionAdminStore
}

// MaintenanceStore ends expired sessions and purges old rows.
type MaintenanceStore interface {
	EndExpiredSessions(ctx context.Context, now time.Time, idle time.Duration, batch int) (int64, error)
	PurgeTokens(ctx context.Context, endedBefore time.Time, batch int) (int64, error)
	PurgeSessions(ctx context.Context, endedBefore time.Time, batch int) (int64, error)
	PurgeRevokedTokens(ctx context.Context, expiredBefore time.Time, batch int) (int64, error)
	PurgeAuthorizationCodes(ctx context.Context, expiredBefore time.Time, batch int) (int64, error)
	PurgeLoginFailures(ctx context.Context, before time.Time) (int64, error)
	ForgetSuccessors(ctx context.Context, spentBefore time.Time) (int64, error)
}
