package oauth

import (
	"context"
	"fmt"
	"slices"

	"github.com/batonhq/baton/models"
)

// RoleAdmin is the role whose holders may receive the admin scope
// (BATON_ADMIN_SCOPE) in their tokens (SPEC §7).
const RoleAdmin = "admin"

// Roles lists the roles a user may hold.
func Roles() []string { return []string{RoleAdmin} }

// HasRole reports whether the user holds the role.
func HasRole(u models.User, role string) bool { return slices.Contains(u.Roles, role) }

func checkRole(role string) error {
	if !slices.Contains(Roles(), role) {
		return fmt.Errorf("unknown role %q (want %s)", role, RoleAdmin)
	}
	return nil
}

// GrantRole gives a user a role; granting it again changes nothing.
func (s *Admin) GrantRole(ctx context.Context, username, role string) (models.User, error) {
	return s.updateRoles(ctx, username, role, func(roles []string) []string {
		if slices.Contains(roles, role) {
			return roles
		}
		return append(roles, role)
	})
}

// RevokeRole takes a role from a user. Its tokens stop carrying the
// rights of the role at once: Authorize checks the role on every request.
// If the user held the role, its sessions end too, so that no refresh
// hands out another token whose claims still list the role's scope to
// resource servers that verify tokens offline.
func (s *Admin) RevokeRole(ctx context.Context, username, role string) (models.User, error) {
	held := false
	u, err := s.updateRoles(ctx, username, role, func(roles []string) []string {
		held = slices.Contains(roles, role)
		return slices.DeleteFunc(roles, func(r string) bool { return r == role })
	})
	if err != nil || !held {
		return u, err
	}
	if _, err := s.EndUserSessions(ctx, username, models.EndAdmin); err != nil {
		return u, err
	}
	return u, nil
}

func (s *Admin) updateRoles(ctx context.Context, username, role string, change func([]string) []string) (models.User, error) {
	if err := checkRole(role); err != nil {
		return models.User{}, err
	}
	u, err := s.store.UpdateUserRoles(ctx, username, func(roles []string) ([]string, error) { return change(roles), nil })
	if err != nil {
		return models.User{}, fromStore(err, "update roles", onNotFound(fmt.Errorf("user %q: %w", username, ErrNotFound)))
	}
	s.log.InfoContext(ctx, "user roles changed", "user_id", u.ID, "roles", u.Roles)
	return u, nil
}
