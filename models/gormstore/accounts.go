package gormstore

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/batonhq/baton/models"
)

// userRow is the users table.
type userRow struct {
	ID           string `gorm:"primaryKey"`
	Username     string
	PasswordHash string
	Disabled     bool
	Roles        string // space-separated (schemaV5)
	CreatedAt    micros
}

func (userRow) TableName() string { return "users" }

func (r userRow) model() models.User {
	return models.User{ID: r.ID, Username: r.Username, PasswordHash: r.PasswordHash, Disabled: r.Disabled,
		Roles: strings.Fields(r.Roles), CreatedAt: r.CreatedAt.Time()}
}

// clientRow is the clients table; grants and scopes are space-separated.
type clientRow struct {
	ID         string `gorm:"primaryKey"`
	SecretHash string
	Public     bool
	Grants     string
	Scopes     string
	CreatedAt  micros
	// schemaV6, space-separated like Grants and Scopes.
	RedirectURIs   string `gorm:"column:redirect_uris"`
	AllowedOrigins string
	Trusted        bool
}

func (clientRow) TableName() string { return "clients" }

func (r clientRow) model() models.Client {
	return models.Client{ID: r.ID, SecretHash: r.SecretHash, Public: r.Public,
		Grants: strings.Fields(r.Grants), Scopes: strings.Fields(r.Scopes), CreatedAt: r.CreatedAt.Time(),
		RedirectURIs: strings.Fields(r.RedirectURIs), AllowedOrigins: strings.Fields(r.AllowedOrigins), Trusted: r.Trusted}
}

// CreateUser stores a new user.
func (s *Store) CreateUser(ctx context.Context, u models.User) error {
	row := userRow{ID: u.ID, Username: u.Username, PasswordHash: u.PasswordHash, Disabled: u.Disabled,
		Roles: strings.Join(u.Roles, " "), CreatedAt: toMicros(u.CreatedAt)}
	return translate(s.db.WithContext(ctx).Create(&row).Error)
}

// UserByUsername returns the user with that username.
func (s *Store) UserByUsername(ctx context.Context, username string) (models.User, error) {
	return takeOne[userRow](s.db.WithContext(ctx).Where("username = ?", username))
}

// CreateClient stores a new client.
func (s *Store) CreateClient(ctx context.Context, c models.Client) error {
	row := clientRow{ID: c.ID, SecretHash: c.SecretHash, Public: c.Public,
		Grants: strings.Join(c.Grants, " "), Scopes: strings.Join(c.Scopes, " "), CreatedAt: toMicros(c.CreatedAt),
		RedirectURIs: strings.Join(c.RedirectURIs, " "), AllowedOrigins: strings.Join(c.AllowedOrigins, " "), Trusted: c.Trusted}
	return translate(s.transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return bumpClients(tx)
	}))
}

// bumpClients counts a change of clients, in the transaction that makes it
// (ClientsVersion).
func bumpClients(tx *gorm.DB) error {
	return tx.Exec(`UPDATE client_changes SET version = version + 1 WHERE id = 1`).Error
}

// ClientsVersion returns the count of changes to clients so far.
func (s *Store) ClientsVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.WithContext(ctx).Raw(`SELECT version FROM client_changes WHERE id = 1`).Scan(&v).Error
	return v, translate(err)
}

// Client returns the client with that id.
func (s *Store) Client(ctx context.Context, id string) (models.Client, error) {
	return takeOne[clientRow](s.db.WithContext(ctx).Where("id = ?", id))
}
