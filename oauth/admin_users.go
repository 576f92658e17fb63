package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/batonhq/baton/models"
)

// Errors of the user administration (SPEC §7), besides ErrNotFound.
var (
	// ErrUserExists: the username is taken (the admin API's 409).
	ErrUserExists = errors.New("already exists")
	// ErrInvalidUser marks a refused username, password or role (400);
	// the error's text says which and is safe to show.
	ErrInvalidUser = errors.New("oauth: invalid user")
)

// invalidUser is a validation failure that matches ErrInvalidUser.
type invalidUser struct{ error }

func (e invalidUser) Unwrap() error        { return e.error }
func (e invalidUser) Is(target error) bool { return target == ErrInvalidUser }

// AdminUser is a user as the admin API and CLI show it; every field is
// always present (Roles is [] when the user has none).
type AdminUser struct {
	ID        string   `json:"id"`
	Username  string   `json:"username"`
	Roles     []string `json:"roles"`
	Disabled  bool     `json:"disabled"`
	CreatedAt string   `json:"created_at"`
}

func adminUser(u models.User) AdminUser {
	roles := slices.Clone(u.Roles)
	if roles == nil {
		roles = []string{}
	}
	return AdminUser{ID: u.ID, Username: u.Username, Roles: roles, Disabled: u.Disabled,
		CreatedAt: u.CreatedAt.UTC().Format(timeFormat)}
}

// UserChange is what UpdateUser changes; nil fields stay as they are.
type UserChange struct {
	Password *string
	Roles    *[]string // replaces the roles
	Disabled *bool
}

// ListUsers returns a page of users ordered by username and the cursor of
// the next page ("" on the last one).
func (s *Admin) ListUsers(ctx context.Context, after string, limit int) ([]AdminUser, string, error) {
	return pageOf(ctx, s.store.Users, after, limit, "list users", func(u models.User) string { return u.Username }, adminUser)
}

// GetUser returns one user; ErrNotFound if none.
func (s *Admin) GetUser(ctx context.Context, username string) (AdminUser, error) {
	u, err := s.user(ctx, username)
	if err != nil {
		return AdminUser{}, err
	}
	return adminUser(u), nil
}

// CreateUser registers a user as AddUser does, with errors the admin API
// can tell apart: ErrInvalidUser, ErrUserExists.
func (s *Admin) CreateUser(ctx context.Context, username, password string, roles []string) (AdminUser, error) {
	if err := checkNewUser(username, password, roles); err != nil {
		return AdminUser{}, err
	}
	u, err := s.AddUser(ctx, username, password, roles...)
	if err != nil {
		return AdminUser{}, err
	}
	return adminUser(u), nil
}

// SetPassword changes a user's password and ends its sessions.
func (s *Admin) SetPassword(ctx context.Context, username, password string) (AdminUser, error) {
	return s.UpdateUser(ctx, username, UserChange{Password: &password})
}

// EnableUser lets a disabled user log in again.
func (s *Admin) EnableUser(ctx context.Context, username string) (AdminUser, error) {
	enabled := false
	return s.UpdateUser(ctx, username, UserChange{Disabled: &enabled})
}

// UpdateUser applies a change in one transaction. A new password, a true
// Disabled or roles without admin for an admin end the user's sessions, as
// DisableUser and RevokeRole do. Validation failures match ErrInvalidUser
// and write nothing.
func (s *Admin) UpdateUser(ctx context.Context, username string, ch UserChange) (AdminUser, error) {
	hash, roles, err := s.prepareChange(ctx, ch)
	if err != nil {
		return AdminUser{}, err
	}
	var reason string
	u, ended, err := s.store.UpdateUser(ctx, username, func(u models.User) (models.User, *models.SessionEnd, error) {
		reason = ""
		if hash != "" {
			u.PasswordHash, reason = hash, models.EndAdmin
		}
		if ch.Roles != nil {
			if HasRole(u, RoleAdmin) && !slices.Contains(roles, RoleAdmin) {
				reason = models.EndAdmin
			}
			u.Roles = roles
		}
		if ch.Disabled != nil {
			if *ch.Disabled && !u.Disabled {
				reason = models.EndUserDisabled
			}
			u.Disabled = *ch.Disabled
		}
		if reason == "" {
			return u, nil, nil
		}
		return u, &models.SessionEnd{At: s.now(), Reason: reason}, nil
	})
	if err != nil {
		return AdminUser{}, fromStore(err, "update user", onNotFound(fmt.Errorf("user %q: %w", username, ErrNotFound)))
	}
	if reason != "" {
		s.opts.Metrics.SessionsEnded(reason, int(ended))
	}
	s.log.InfoContext(ctx, "user changed", "user_id", u.ID, "password", hash != "", "roles", u.Roles,
		"disabled", u.Disabled, "sessions_ended", ended)
	return adminUser(u), nil
}

// prepareChange checks a change and hashes its password, before any lock.
func (s *Admin) prepareChange(ctx context.Context, ch UserChange) (hash string, roles []string, err error) {
	if ch.Roles != nil {
		if roles, err = checkRoles(*ch.Roles); err != nil {
			return "", nil, err
		}
	}
	if ch.Password == nil {
		return "", roles, nil
	}
	if err := checkPassword(*ch.Password); err != nil {
		return "", nil, err
	}
	if hash, err = s.hasher.Hash(ctx, *ch.Password); err != nil {
		return "", nil, fmt.Errorf("hash password: %w", err)
	}
	return hash, roles, nil
}

// DeleteUser deletes a user with its sessions, codes and consents; its
// access tokens stop working at once (their session is gone).
func (s *Admin) DeleteUser(ctx context.Context, username string) error {
	u, err := s.store.DeleteUser(ctx, username)
	if err != nil {
		return fromStore(err, "delete user", onNotFound(fmt.Errorf("user %q: %w", username, ErrNotFound)))
	}
	s.log.InfoContext(ctx, "user deleted with its sessions", "user_id", u.ID)
	return nil
}

func checkNewUser(username, password string, roles []string) error {
	if err := checkName("username", username); err != nil {
		return invalidUser{err}
	}
	if _, err := checkRoles(roles); err != nil {
		return err
	}
	return checkPassword(password)
}

// checkRoles validates roles and returns them sorted without duplicates.
func checkRoles(roles []string) ([]string, error) {
	for _, r := range roles {
		if err := checkRole(r); err != nil {
			return nil, invalidUser{err}
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(roles))), nil
}

// checkPassword enforces the length limits of passwords.
func checkPassword(password string) error {
	if n := utf8.RuneCountInString(password); n < minPasswordLen || len(password) > maxPasswordLen {
		return invalidUser{fmt.Errorf("password must be %d to %d characters", minPasswordLen, maxPasswordLen)}
	}
	return nil
}
