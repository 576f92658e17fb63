package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/batonhq/baton/models"
)

// Limits on account fields, so that nothing unbounded reaches the database.
const (
	maxNameLen      = 128
	minPasswordLen  = 8
	maxPasswordLen  = 1024
	minSecretLength = 16
)

// ClientSpec describes a client to register.
type ClientSpec struct {
	ID     string
	Secret string // empty for public clients
	Public bool
	Grants []string
	Scopes []string
	// Authorization code flow (SPEC §6).
	RedirectURIs   []string
	AllowedOrigins []string
	Trusted        bool
}

// AddUser registers a user with a hashed password and the given roles.
func (s *Admin) AddUser(ctx context.Context, username, password string, roles ...string) (models.User, error) {
	if err := checkName("username", username); err != nil {
		return models.User{}, err
	}
	for _, r := range roles {
		if err := checkRole(r); err != nil {
			return models.User{}, err
		}
	}
	if err := checkPassword(password); err != nil {
		return models.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return models.User{}, fmt.Errorf("hash password: %w", err)
	}
	u := models.User{ID: newID(), Username: username, PasswordHash: hash, Roles: slices.Compact(slices.Sorted(slices.Values(roles))), CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return models.User{}, fromStore(err, "create user", onExists(fmt.Errorf("user %q %w", username, ErrUserExists)))
	}
	return u, nil
}

// AddClient registers a client; confidential clients get their secret hashed.
func (s *Admin) AddClient(ctx context.Context, spec ClientSpec) (models.Client, error) {
	if err := checkClientSpec(spec); err != nil {
		return models.Client{}, &ClientInputError{err}
	}
	c := models.Client{ID: spec.ID, Public: spec.Public, Grants: spec.Grants, Scopes: spec.Scopes, CreatedAt: s.now(),
		RedirectURIs: spec.RedirectURIs, AllowedOrigins: spec.AllowedOrigins, Trusted: spec.Trusted}
	if !spec.Public {
		hash, err := s.hasher.Hash(ctx, spec.Secret)
		if err != nil {
			return models.Client{}, fmt.Errorf("hash secret: %w", err)
		}
		c.SecretHash = hash
	}
	if err := s.store.CreateClient(ctx, c); err != nil {
		return models.Client{}, fromStore(err, "create client", onExists(fmt.Errorf("client %q %w", spec.ID, ErrClientExists)))
	}
	s.clients.forget(c.ID) // it may be in the negative cache
	return c, nil
}

func checkClientSpec(spec ClientSpec) error {
	if err := checkName("client id", spec.ID); err != nil {
		return err
	}
	switch {
	case spec.Public && spec.Secret != "":
		return errors.New("a public client has no secret")
	case !spec.Public && len(spec.Secret) < minSecretLength:
		return fmt.Errorf("client secret must be at least %d characters", minSecretLength)
	case len(spec.Secret) > maxPasswordLen:
		return fmt.Errorf("client secret must be at most %d characters", maxPasswordLen)
	}
	return checkClientLists(spec)
}

// checkClientLists checks what a client update may change: grants,
// scopes, redirect URIs and origins.
func checkClientLists(spec ClientSpec) error {
	switch {
	case len(spec.Grants) == 0:
		return errors.New("at least one grant is required")
	}
	for _, g := range spec.Grants {
		if !slices.Contains(SupportedGrants(), g) {
			return fmt.Errorf("unknown grant %q (want authorization_code, password, refresh_token or client_credentials)", g)
		}
	}
	if spec.Public && slices.Contains(spec.Grants, GrantClientCredentials) {
		return errors.New("a public client cannot use client_credentials")
	}
	for _, sc := range spec.Scopes {
		if !validScopeToken(sc) {
			return fmt.Errorf("invalid scope %q", sc)
		}
	}
	return checkCodeFlowSpec(spec)
}

// checkName accepts 1–128 printable characters without spaces or controls.
func checkName(what, s string) error {
	if s == "" || len(s) > maxNameLen || !utf8.ValidString(s) {
		return fmt.Errorf("%s must be 1 to %d characters of valid UTF-8", what, maxNameLen)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%s must not contain spaces or control characters", what)
		}
	}
	return nil
}
