package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/batonhq/baton/oauth"
)

type userListCmd struct {
	Format string `enum:"table,json" default:"table" help:"Output: table or json."`
}

// Run prints every user, by username.
func (c *userListCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		return printList(e, c.Format == "json", svc.ListUsers, "USERNAME\tID\tROLES\tDISABLED\tCREATED", func(u oauth.AdminUser) string {
			return fmt.Sprintf("%s\t%s\t%s\t%t\t%s", u.Username, u.ID, dash(strings.Join(u.Roles, ",")), u.Disabled, u.CreatedAt)
		})
	})
}

type userSetPasswordCmd struct {
	Username      string `required:"" help:"Login name."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the new password from the first line of stdin (required)."`
}

// Run changes the password and ends the user's sessions.
func (c *userSetPasswordCmd) Run(e *env) error {
	return changeSecret(e, c.PasswordStdin, "password-stdin", "password", func(svc *oauth.Admin, password string) (string, error) {
		_, err := svc.SetPassword(e.Ctx, c.Username, password)
		return fmt.Sprintf("password of %s changed; its sessions are revoked", c.Username), err
	})
}

type userDisableCmd struct {
	Username string `required:"" help:"The user to disable."`
}

// Run disables a user and ends its sessions.
func (c *userDisableCmd) Run(e *env) error {
	return switchUser(e, c.Username, (*oauth.Admin).DisableUser, "disabled; its sessions are revoked")
}

type userEnableCmd struct {
	Username string `required:"" help:"The user to enable."`
}

// Run lets a disabled user log in again.
func (c *userEnableCmd) Run(e *env) error {
	return switchUser(e, c.Username, (*oauth.Admin).EnableUser, "enabled")
}

// switchUser disables or enables the user (op; the user it returns, of
// either type, is not needed) and reports it as done.
func switchUser[U any](e *env, username string, op func(*oauth.Admin, context.Context, string) (U, error), done string) error {
	return adminDo(e, func(svc *oauth.Admin) (string, error) {
		_, err := op(svc, e.Ctx, username)
		return fmt.Sprintf("user %s %s", username, done), err
	})
}

type userDeleteCmd struct {
	Username string `required:"" help:"The user to delete."`
}

// Run deletes a user with its sessions.
func (c *userDeleteCmd) Run(e *env) error {
	return adminDo(e, func(svc *oauth.Admin) (string, error) {
		err := svc.DeleteUser(e.Ctx, c.Username)
		return fmt.Sprintf("user %s deleted with its sessions", c.Username), err
	})
}
