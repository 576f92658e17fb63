package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/batonhq/baton/oauth"
)

type userAddCmd struct {
	Username      string `required:"" help:"Login name."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from the first line of stdin (required)."`
}

// Run creates a user.
func (c *userAddCmd) Run(e *env) error {
	if !c.PasswordStdin {
		return errors.New("--password-stdin is required: the password is read from stdin, never from arguments")
	}
	password, err := readSecret(e.stdin, "password")
	if err != nil {
		return err
	}
	return withService(e, func(svc *oauth.Service) error {
		u, err := svc.AddUser(e.ctx, c.Username, password)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s created (id %s)\n", u.Username, u.ID)
		return nil
	})
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
		secret, err := readSecret(e.stdin, "client secret")
		if err != nil {
			return err
		}
		spec.Secret = secret
	}
	return withService(e, func(svc *oauth.Service) error {
		cl, err := svc.AddClient(e.ctx, spec)
		if err != nil {
			return err
		}
		kind := "confidential"
		if cl.Public {
			kind = "public"
		}
		fmt.Fprintf(e.stdout, "%s client %s created\n", kind, cl.ID)
		return nil
	})
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
