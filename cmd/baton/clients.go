package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/batonhq/baton/oauth"
)

type clientListCmd struct {
	Format string `enum:"text,json" default:"text" help:"Output format: text or json."`
}

// Run prints every client, by id; never a secret.
func (c *clientListCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		return printList(e, c.Format == "json", svc.ListClients, "ID\tKIND\tGRANTS\tSCOPE\tTRUSTED\tCREATED", func(cl oauth.ClientInfo) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%t\t%s", cl.ClientID, kindOf(cl.Public), strings.Join(cl.GrantTypes, ","),
				dash(cl.Scope), cl.Trusted, cl.CreatedAt)
		})
	})
}

type clientShowCmd struct {
	ID     string `required:"" help:"Client id."`
	Format string `enum:"text,json" default:"text" help:"Output format: text or json."`
}

// Run prints one client; never its secret.
func (c *clientShowCmd) Run(e *env) error {
	return withAdmin(e, func(svc *oauth.Admin) error {
		cl, err := svc.ClientByID(e.Ctx, c.ID)
		if err != nil {
			return err
		}
		if c.Format == "json" {
			return writeJSON(e, cl)
		}
		w := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
		for _, row := range [][2]string{
			{"id", cl.ClientID}, {"kind", kindOf(cl.Public)}, {"grants", strings.Join(cl.GrantTypes, ",")},
			{"scope", dash(cl.Scope)}, {"redirect uris", dash(strings.Join(cl.RedirectURIs, " "))},
			{"origins", dash(strings.Join(cl.AllowedOrigins, " "))}, {"trusted", fmt.Sprint(cl.Trusted)}, {"created", cl.CreatedAt},
		} {
			fmt.Fprintf(w, "%s:\t%s\n", row[0], row[1])
		}
		return w.Flush()
	})
}

type clientUpdateCmd struct {
	ID          string   `required:"" help:"Client id."`
	Scopes      *string  `help:"Space-separated scopes the client may request (replaces them; \"\" for none)."`
	Grants      []string `sep:"," help:"Allowed grants (replaces them): authorization_code, password, refresh_token, client_credentials."`
	RedirectURI []string `name:"redirect-uri" sep:"none" help:"Redirect URI (repeatable; replaces them; --redirect-uri '' for none)."`
	Origin      []string `sep:"none" help:"Browser origin allowed by CORS (repeatable; replaces them; --origin '' for none)."`
}

// Run replaces the given lists of a client, checked as client add checks them.
func (c *clientUpdateCmd) Run(e *env) error {
	var ch oauth.ClientChange
	if c.Scopes != nil {
		scopes := strings.Fields(*c.Scopes)
		ch.Scopes = &scopes
	}
	if c.Grants != nil {
		ch.Grants = &c.Grants
	}
	ch.RedirectURIs, ch.AllowedOrigins = nonEmpty(c.RedirectURI), nonEmpty(c.Origin)
	if ch == (oauth.ClientChange{}) {
		return errors.New("nothing to change: give --scopes, --grants, --redirect-uri or --origin")
	}
	return adminDo(e, func(svc *oauth.Admin) (string, error) {
		cl, err := svc.UpdateClient(e.Ctx, c.ID, ch)
		return fmt.Sprintf("client %s updated", cl.ClientID), err
	})
}

// nonEmpty is nil for a flag not given, and the given values without
// empty ones otherwise (a lone "" clears the list).
func nonEmpty(given []string) *[]string {
	if given == nil {
		return nil
	}
	l := slices.DeleteFunc(slices.Clone(given), func(s string) bool { return s == "" })
	return &l
}

type clientRotateSecretCmd struct {
	ID          string `required:"" help:"Client id."`
	SecretStdin bool   `name:"secret-stdin" help:"Read the new secret from the first line of stdin (required)."`
}

// Run replaces a confidential client's secret; the old one stops working
// at once here, and within 0.1 s on running servers (their client cache).
func (c *clientRotateSecretCmd) Run(e *env) error {
	return changeSecret(e, c.SecretStdin, "secret-stdin", "client secret", func(svc *oauth.Admin, secret string) (string, error) {
		_, err := svc.RotateClientSecret(e.Ctx, c.ID, secret)
		return fmt.Sprintf("client %s: secret rotated; running servers refuse the old one within 0.1 s", c.ID), err
	})
}

type clientDeleteCmd struct {
	ID string `required:"" help:"Client id."`
}

// Run deletes a client and ends its sessions.
func (c *clientDeleteCmd) Run(e *env) error {
	return adminDo(e, func(svc *oauth.Admin) (string, error) {
		n, err := svc.DeleteClient(e.Ctx, c.ID)
		return fmt.Sprintf("client %s deleted; %d sessions ended", c.ID, n), err
	})
}

func kindOf(public bool) string {
	if public {
		return "public"
	}
	return "confidential"
}

// printList prints every row of a listing, fetched 500 a page: as
// indented JSON, or as a table under header, line making each row.
func printList[T any](e *env, asJSON bool, list func(ctx context.Context, after string, limit int) ([]T, string, error),
	header string, line func(T) string) error {
	all := []T{}
	for after := ""; ; {
		page, next, err := list(e.Ctx, after, 500)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	if asJSON {
		return writeJSON(e, all)
	}
	w := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, row := range all {
		fmt.Fprintln(w, line(row))
	}
	return w.Flush()
}

// writeJSON prints v as indented JSON.
func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
