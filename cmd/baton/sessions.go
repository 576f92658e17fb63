package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

type sessionsListCmd struct {
	Username string `required:"" help:"Whose sessions."`
}

// Run prints every session of a user, newest first.
func (c *sessionsListCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error { return c.list(e, svc) })
}

func (c *sessionsListCmd) list(e *env, svc *oauth.Admin) error {
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCLIENT\tSCOPE\tCREATED\tLAST USED\tEXPIRES\tENDED\tREASON")
	after := ""
	for {
		page, next, err := svc.ListSessions(e.ctx, c.Username, after, 500)
		if err != nil {
			return err
		}
		for _, s := range page {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.ClientID, dash(s.Scope), s.CreatedAt,
				s.LastUsedAt, s.ExpiresAt, dash(s.RevokedAt), dash(s.EndReason))
		}
		if next == "" {
			return w.Flush()
		}
		after = next
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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
		ended, err := svc.EndSession(e.ctx, c.ID, models.EndAdmin)
		if err != nil {
			return fmt.Errorf("session %s: %w", c.ID, err)
		}
		if !ended {
			fmt.Fprintf(e.stdout, "session %s had already ended\n", c.ID)
			return nil
		}
		fmt.Fprintf(e.stdout, "session %s revoked\n", c.ID)
		return nil
	}
	n, err := svc.EndUserSessions(e.ctx, c.Username, models.EndAdmin)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d sessions of %s revoked\n", n, c.Username)
	return nil
}

type userDisableCmd struct {
	Username string `required:"" help:"The user to disable."`
}

// Run disables a user and ends its sessions.
func (c *userDisableCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		if _, err := svc.DisableUser(e.ctx, c.Username); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s disabled; its sessions are revoked\n", c.Username)
		return nil
	})
}

// sessionsPurgeCmd runs the maintenance that serve runs every minute, once:
// sessions past their limits are ended, and ended sessions older than the
// audit retention deleted (oauth.Maintenance.Purge).
type sessionsPurgeCmd struct{}

func (c *sessionsPurgeCmd) Run(e *env) error {
	return withShared(e, func(a *app, sh *oauth.Shared) error {
		start := time.Now()
		if err := oauth.NewMaintenance(a.store, sh).Purge(e.ctx); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "purged in %s\n", time.Since(start).Round(time.Millisecond))
		return nil
	})
}
