package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/oauth"
)

type userAddCmd struct {
	Username      string   `required:"" help:"Login name."`
	PasswordStdin bool     `name:"password-stdin" help:"Read the password from the first line of stdin (required)."`
	Role          []string `help:"Role of the user (repeatable): admin lets its tokens carry BATON_ADMIN_SCOPE."`
}

// Run creates a user.
func (c *userAddCmd) Run(e *env) error {
	if !c.PasswordStdin {
		return stdinRequired("password-stdin", "password")
	}
	for _, r := range c.Role { // before reading stdin or opening the database
		if err := checkRole(r); err != nil {
			return err
		}
	}
	password, err := readSecret(e.Stdin, "password")
	if err != nil {
		return err
	}
	return adminDo(e, func(svc *oauth.Admin) (string, error) {
		u, err := svc.AddUser(e.Ctx, c.Username, password, c.Role...)
		return fmt.Sprintf("user %s created (id %s)%s", u.Username, u.ID, rolesSuffix(u.Roles)), err
	})
}

// userRoleCmd names a user and a role.
type userRoleCmd struct {
	Username string `required:"" help:"Login name."`
	Role     string `required:"" help:"Role: admin."`
}

type userGrantCmd struct {
	userRoleCmd `embed:""`
}

// Run gives the user the role.
func (c *userGrantCmd) Run(e *env) error {
	return c.change(e, (*oauth.Admin).GrantRole, "granted")
}

type userRevokeRoleCmd struct {
	userRoleCmd `embed:""`
}

// Run takes the role from the user.
func (c *userRevokeRoleCmd) Run(e *env) error {
	return c.change(e, (*oauth.Admin).RevokeRole, "revoked")
}

func (c *userRoleCmd) change(e *env, op func(*oauth.Admin, context.Context, string, string) (models.User, error), done string) error {
	if err := checkRole(c.Role); err != nil {
		return err
	}
	return adminDo(e, func(svc *oauth.Admin) (string, error) {
		u, err := op(svc, e.Ctx, c.Username, c.Role)
		return fmt.Sprintf("role %s %s: user %s%s", c.Role, done, u.Username, rolesSuffix(u.Roles)), err
	})
}

// checkRole refuses a role baton does not know.
func checkRole(r string) error {
	if !slices.Contains(oauth.Roles(), r) {
		return fmt.Errorf("unknown role %q (want %s)", r, strings.Join(oauth.Roles(), ", "))
	}
	return nil
}

func rolesSuffix(roles []string) string {
	if len(roles) == 0 {
		return ", no roles"
	}
	return ", roles: " + strings.Join(roles, " ")
}

type clientAddCmd struct {
	ID          string   `required:"" help:"Client id."`
	SecretStdin bool     `name:"secret-stdin" help:"Confidential client: read its secret from the first line of stdin."`
	Public      bool     `help:"Public client (authenticates with client_id only)."`
	Grants      []string `required:"" sep:"," help:"Allowed grants: authorization_code, password, refresh_token, client_credentials."`
	Scopes      string   `help:"Space-separated scopes the client may request."`
	RedirectURI []string `name:"redirect-uri" sep:"none" help:"Redirect URI of the authorization_code grant (repeatable; matched exactly, loopback IPs on any port)."`
	Origin      []string `sep:"none" help:"Browser origin allowed by CORS, as in https://app.example (repeatable)."`
	Trusted     bool     `help:"First-party client: the user is not asked for consent."`
}

// Run registers a client.
func (c *clientAddCmd) Run(e *env) error {
	if c.SecretStdin == c.Public {
		return errors.New("give exactly one of --secret-stdin (confidential client) or --public")
	}
	spec := oauth.ClientSpec{ID: c.ID, Public: c.Public, Grants: c.Grants, Scopes: strings.Fields(c.Scopes),
		RedirectURIs: c.RedirectURI, AllowedOrigins: c.Origin, Trusted: c.Trusted}
	if c.SecretStdin {
		secret, err := readSecret(e.Stdin, "client secret")
		if err != nil {
			return err
		}
		spec.Secret = secret
	}
	return adminDo(e, func(svc *oauth.Admin) (string, error) {
		cl, err := svc.AddClient(e.Ctx, spec)
		return fmt.Sprintf("%s client %s created", kindOf(cl.Public), cl.ID), err
	})
}

// stdinRequired is the error for a flag that must be given because the
// secret it names is read from stdin, never from arguments.
func stdinRequired(flag, what string) error {
	return fmt.Errorf("--%s is required: the %s is read from stdin, never from arguments", flag, what)
}

// stdinSecret reads the secret that --flag (given) says is on stdin. The
// flag is required: a secret is never taken from the arguments.
func stdinSecret(e *env, given bool, flag, what string) (string, error) {
	if !given {
		return "", stdinRequired(flag, what)
	}
	return readSecret(e.Stdin, what)
}

// changeSecret reads the new secret that --flag (given) says is on stdin
// and then runs op with it, as adminDo does.
func changeSecret(e *env, given bool, flag, what string, op func(svc *oauth.Admin, secret string) (string, error)) error {
	secret, err := stdinSecret(e, given, flag, what)
	if err != nil {
		return err
	}
	return adminDo(e, func(svc *oauth.Admin) (string, error) { return op(svc, secret) })
}

// readSecret reads the first line of r, without its line ending.
func readSecret(r io.Reader, what string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s from stdin: %w", what, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("no %s on stdin", what)
	}
	return line, nil
}
