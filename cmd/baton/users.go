package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/batonhq/baton/oauth"
)

type userListCmd struct {
	Format string `enum:"table,json" default:"table" help:"Output: table or json."`
}

// Run prints every user, by username.
func (c *userListCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		users := []oauth.AdminUser{}
		for after := ""; ; {
			page, next, err := svc.ListUsers(e.ctx, after, 500)
			if err != nil {
				return err
			}
			users = append(users, page...)
			if next == "" {
				break
			}
			after = next
		}
		if c.Format == "json" {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(users)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "USERNAME\tID\tROLES\tDISABLED\tCREATED")
		for _, u := range users {
			fmt.Fprintf(w, "%s\t%s\t%s\t%t\t%s\n", u.Username, u.ID, dash(strings.Join(u.Roles, ",")), u.Disabled, u.CreatedAt)
		}
		return w.Flush()
	})
}

type userSetPasswordCmd struct {
	Username      string `required:"" help:"Login name."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the new password from the first line of stdin (required)."`
}

// Run changes the password and ends the user's sessions.
func (c *userSetPasswordCmd) Run(e *env) error {
	if !c.PasswordStdin {
		return stdinRequired("password-stdin", "password")
	}
	password, err := readSecret(e.stdin, "password")
	if err != nil {
		return err
	}
	return withAdmin(e, func(svc *oauth.Admin) error {
		if _, err := svc.SetPassword(e.ctx, c.Username, password); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password of %s changed; its sessions are revoked\n", c.Username)
		return nil
	})
}

type userEnableCmd struct {
	Username string `required:"" help:"The user to enable."`
}

// Run lets a disabled user log in again.
func (c *userEnableCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		if _, err := svc.EnableUser(e.ctx, c.Username); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s enabled\n", c.Username)
		return nil
	})
}

type userDeleteCmd struct {
	Username string `required:"" help:"The user to delete."`
}

// Run deletes a user with its sessions.
func (c *userDeleteCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		if err := svc.DeleteUser(e.ctx, c.Username); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s deleted with its sessions\n", c.Username)
		return nil
	})
}
