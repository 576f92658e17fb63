package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

type sessionsListCmd struct {
	Username string `required:"" help:"Whose sessions."`
}

// Run prints every session of a user, newest first.
func (c *sessionsListCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		list := func(ctx context.Context, after string, limit int) ([]oauth.SessionInfo, string, error) {
			return svc.ListSessions(ctx, c.Username, after, limit)
		}
		return printList(e, false, list, "ID\tCLIENT\tSCOPE\tCREATED\tLAST USED\tEXPIRES\tENDED\tREASON", func(s oauth.SessionInfo) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", s.ID, s.ClientID, dash(s.Scope), s.CreatedAt,
				s.LastUsedAt, s.ExpiresAt, dash(orEmpty(s.RevokedAt)), dash(orEmpty(s.EndReason)))
		})
	})
}

// dash is a table cell: "-" for an empty value.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// orEmpty is the value of a nullable field, "" for null.
func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type sessionsRevokeCmd struct {
	ID       string `help:"The session to end." xor:"target"`
	Username string `help:"End every session of this user." xor:"target"`
}

// Run ends one session or all of a user's.
func (c *sessionsRevokeCmd) Run(e *env) error {
	if (c.ID == "") == (c.Username == "") {
		return errors.New("give exactly one of --id or --username")
	}
	return withAdmin(e, func(svc *oauth.Admin) error { return c.revoke(e, svc) })
}

func (c *sessionsRevokeCmd) revoke(e *env, svc *oauth.Admin) error {
	if c.ID != "" {
		ended, err := svc.EndSession(e.Ctx, c.ID, models.EndAdmin)
		if err != nil {
			return fmt.Errorf("session %s: %w", c.ID, err)
		}
		if !ended {
			fmt.Fprintf(e.Stdout, "session %s had already ended\n", c.ID)
			return nil
		}
		fmt.Fprintf(e.Stdout, "session %s revoked\n", c.ID)
		return nil
	}
	n, err := svc.EndUserSessions(e.Ctx, c.Username, models.EndAdmin)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "%d sessions of %s revoked\n", n, c.Username)
	return nil
}

// sessionsPurgeCmd runs the maintenance that serve runs every minute, once:
// sessions past their limits are ended, and ended sessions older than the
// audit retention deleted (oauth.Maintenance.Purge).
type sessionsPurgeCmd struct{}

func (c *sessionsPurgeCmd) Run(e *env) error {
	return withShared(e, func(a *app, sh *oauth.Shared) error {
		start := time.Now()
		if err := oauth.NewMaintenance(a.store, sh).Purge(e.Ctx); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "purged in %s\n", time.Since(start).Round(time.Millisecond))
		return nil
	})
}
