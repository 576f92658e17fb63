// Command baton is the baton OAuth 2.0 authorization server and its
// administration CLI.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/batonhq/baton/internal/cli"
	"github.com/gin-gonic/gin"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// commands is the command line (SPEC §1).
type commands struct {
	Serve   serveCmd   `cmd:"" help:"Run the HTTP server (migrates the schema first)."`
	Migrate migrateCmd `cmd:"" help:"Apply schema migrations and exit."`
	User    struct {
		Add         userAddCmd         `cmd:"" help:"Create a user; the password is read from stdin."`
		Disable     userDisableCmd     `cmd:"" help:"Disable a user and revoke all of its sessions."`
		Grant       userGrantCmd       `cmd:"" help:"Give a user a role (admin)."`
		RevokeRole  userRevokeRoleCmd  `cmd:"" name:"revoke-role" help:"Take a role (admin) from a user; ends its sessions, so its tokens lose the role's rights at once."`
		List        userListCmd        `cmd:"" help:"List users: username, id, roles, disabled, created."`
		SetPassword userSetPasswordCmd `cmd:"" name:"set-password" help:"Change a user's password (read from stdin); ends its sessions."`
		Enable      userEnableCmd      `cmd:"" help:"Let a disabled user log in again."`
		Delete      userDeleteCmd      `cmd:"" help:"Delete a user and its sessions."`
	} `cmd:"" help:"Manage users."`
	Client struct {
		Add          clientAddCmd          `cmd:"" help:"Register a client."`
		List         clientListCmd         `cmd:"" help:"List clients (never their secrets)."`
		Show         clientShowCmd         `cmd:"" help:"Show one client (never its secret)."`
		Update       clientUpdateCmd       `cmd:"" help:"Replace a client's scopes, grants, redirect URIs or origins (those given)."`
		RotateSecret clientRotateSecretCmd `cmd:"" name:"rotate-secret" help:"Replace a confidential client's secret (read from stdin); the old one stops working."`
		Delete       clientDeleteCmd       `cmd:"" help:"Delete a client; ends its sessions, its access tokens turn inactive."`
	} `cmd:"" help:"Manage clients."`
	Keys struct {
		List   keysListCmd   `cmd:"" help:"List signing keys with their state and schedule."`
		Rotate keysRotateCmd `cmd:"" help:"Rotate the signing key now."`
		Rekey  keysRekeyCmd  `cmd:"" help:"Re-seal every signing key under a new KEK (read from stdin)."`
	} `cmd:"" help:"Manage signing keys."`
	Healthcheck healthcheckCmd `cmd:"" help:"Exit 0 if a running baton is ready (container health checks)."`
	Version     versionCmd     `cmd:"" help:"Print the version, the commit and the Go version."`
	Sessions    struct {
		List   sessionsListCmd   `cmd:"" help:"List a user's sessions."`
		Revoke sessionsRevokeCmd `cmd:"" help:"Revoke one session (--id) or all of a user's (--username)."`
		Purge  sessionsPurgeCmd  `cmd:"" help:"End the sessions past their limits and delete the ended ones older than the audit retention, now (serve does it every minute)."`
	} `cmd:"" help:"Administer sessions."`
}

// env is what every command receives: the process's context, environment
// and standard streams, and the commands' clock.
type env struct {
	cli.Env
	now func() time.Time // time.Now but in tests
}

// run executes one command and returns the process exit status. Errors are
// one line on stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runAt(ctx, time.Now, args, getenv, stdin, stdout, stderr)
}

// runAt is run with the clock now.
func runAt(ctx context.Context, now func() time.Time, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("baton", "baton: an OAuth 2.0 authorization server with rotating refresh tokens.",
		&commands{}, args, stdout, stderr,
		&env{Env: cli.Env{Ctx: ctx, Getenv: getenv, Stdin: stdin, Stdout: stdout, Stderr: stderr}, now: now})
}
