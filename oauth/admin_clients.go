package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/batonhq/baton/models"
)

// ErrClientExists is returned when a client id is taken.
var ErrClientExists = errors.New("already exists")

// ClientInputError refuses a client field; its message names the problem
// (the admin API answers it 400 invalid_request).
type ClientInputError struct{ Err error }

func (e *ClientInputError) Error() string { return e.Err.Error() }
func (e *ClientInputError) Unwrap() error { return e.Err }

// generatedSecretBytes is the entropy of secrets baton generates: 256 bits.
const generatedSecretBytes = 32

// ClientMetadata is a client with RFC 7591 §2 names: what the admin API
// registers (CreateClient) and, with its creation time, shows (ClientInfo).
// It never holds the secret or its hash.
type ClientMetadata struct {
	ClientID       string   `json:"client_id"`
	GrantTypes     []string `json:"grant_types"`
	Scope          string   `json:"scope"` // space-separated
	RedirectURIs   []string `json:"redirect_uris"`
	AllowedOrigins []string `json:"allowed_origins"`
	Trusted        bool     `json:"trusted"`
	Public         bool     `json:"public"`
}

// ClientInfo is a client as the admin API and CLI show it.
type ClientInfo struct {
	ClientMetadata
	CreatedAt string `json:"created_at"`
}

func clientInfo(c models.Client) ClientInfo {
	list := func(l []string) []string { return append([]string{}, l...) } // [] rather than null
	return ClientInfo{ClientMetadata: ClientMetadata{ClientID: c.ID, GrantTypes: list(c.Grants),
		Scope: joinScope(c.Scopes), RedirectURIs: list(c.RedirectURIs), AllowedOrigins: list(c.AllowedOrigins),
		Trusted: c.Trusted, Public: c.Public}, CreatedAt: c.CreatedAt.UTC().Format(timeFormat)}
}

// ClientChange is what UpdateClient changes: nil fields stay as they are,
// the others replace the stored value.
type ClientChange struct {
	Grants         *[]string
	Scopes         *[]string
	RedirectURIs   *[]string
	AllowedOrigins *[]string
	Trusted        *bool
}

// ListClients returns a page of clients by id and the cursor of the next
// page ("" on the last one).
func (s *Admin) ListClients(ctx context.Context, after string, limit int) ([]ClientInfo, string, error) {
	return pageOf(ctx, s.store.Clients, after, limit, "list clients", func(c models.Client) string { return c.ID }, clientInfo)
}

// ClientByID returns one client.
func (s *Admin) ClientByID(ctx context.Context, id string) (ClientInfo, error) {
	c, err := s.store.Client(ctx, id)
	if err != nil {
		return ClientInfo{}, clientErr(id, err, "load client")
	}
	return clientInfo(c), nil
}

// CreateClient registers a client as AddClient does, but a confidential
// client's secret is generated (256 bits, base64url) and returned: the
// only time it is ever shown. A public client gets none.
func (s *Admin) CreateClient(ctx context.Context, m ClientMetadata) (ClientInfo, string, error) {
	spec := ClientSpec{ID: m.ClientID, Public: m.Public, Grants: m.GrantTypes, Scopes: strings.Fields(m.Scope),
		RedirectURIs: m.RedirectURIs, AllowedOrigins: m.AllowedOrigins, Trusted: m.Trusted}
	if !spec.Public {
		spec.Secret = newOpaque(generatedSecretBytes)
	}
	c, err := s.AddClient(ctx, spec)
	if err != nil {
		return ClientInfo{}, "", err
	}
	s.log.InfoContext(ctx, "client created", "client_id", c.ID)
	return clientInfo(c), spec.Secret, nil
}

// UpdateClient replaces the given lists of a client, checked as AddClient
// checks them, under a lock on the client: nothing is written when a
// check fails. This instance uses the change at once, others within the
// client cache's lifetime (5 s).
func (s *Admin) UpdateClient(ctx context.Context, id string, ch ClientChange) (ClientInfo, error) {
	c, err := s.store.UpdateClient(ctx, id, func(c models.Client) (models.Client, error) {
		for dst, src := range map[*[]string]*[]string{&c.Grants: ch.Grants, &c.Scopes: ch.Scopes,
			&c.RedirectURIs: ch.RedirectURIs, &c.AllowedOrigins: ch.AllowedOrigins} {
			if src != nil {
				*dst = slices.Clone(*src)
			}
		}
		if ch.Trusted != nil {
			c.Trusted = *ch.Trusted
		}
		err := checkClientLists(ClientSpec{ID: c.ID, Public: c.Public, Grants: c.Grants, Scopes: c.Scopes,
			RedirectURIs: c.RedirectURIs, AllowedOrigins: c.AllowedOrigins})
		if err != nil {
			return c, &ClientInputError{err}
		}
		return c, nil
	})
	if err != nil {
		return ClientInfo{}, clientErr(id, err, "update client")
	}
	s.clients.forget(id)
	s.origins.forget()
	s.log.InfoContext(ctx, "client updated", "client_id", id)
	return clientInfo(c), nil
}

// RotateClientSecret replaces a confidential client's secret; with secret
// empty a new one is generated (256 bits, base64url). It returns the new
// secret. The old one stops working at once on this instance (the client
// cache forgets the client and what it verified) and on other instances
// within the client cache's lifetime (5 s).
func (s *Admin) RotateClientSecret(ctx context.Context, id, secret string) (string, error) {
	if secret == "" {
		secret = newOpaque(generatedSecretBytes)
	}
	if len(secret) < minSecretLength || len(secret) > maxPasswordLen {
		return "", &ClientInputError{fmt.Errorf("client secret must be %d to %d characters", minSecretLength, maxPasswordLen)}
	}
	hash, err := s.hasher.Hash(ctx, secret) // outside the store's lock: hashing is slow
	if err != nil {
		return "", fmt.Errorf("hash secret: %w", err)
	}
	_, err = s.store.UpdateClient(ctx, id, func(c models.Client) (models.Client, error) {
		if c.Public {
			return c, &ClientInputError{fmt.Errorf("client %q is public: it has no secret", id)}
		}
		c.SecretHash = hash
		return c, nil
	})
	if err != nil {
		return "", clientErr(id, err, "rotate client secret")
	}
	s.clients.forget(id)
	s.log.InfoContext(ctx, "client secret rotated", "client_id", id)
	return secret, nil
}

// DeleteClient deletes a client with its sessions (their refresh tokens
// stop working, their access tokens turn inactive), codes and consents, and
// returns how many live sessions it ended. Its client_credentials access
// tokens, which have no session, turn inactive because their client is
// gone (clientRegistered): at once on this instance, within the client
// cache's lifetime (5 s) on others.
func (s *Admin) DeleteClient(ctx context.Context, id string) (int64, error) {
	n, err := s.store.DeleteClient(ctx, id)
	if err != nil {
		return 0, clientErr(id, err, "delete client")
	}
	s.clients.forget(id)
	s.origins.forget()
	s.opts.Metrics.SessionsEnded(models.EndAdmin, int(n))
	s.log.InfoContext(ctx, "client deleted; its sessions ended", "client_id", id, "count", n, "reason", models.EndAdmin)
	return n, nil
}

// clientErr translates a store error of the client id; a refused field
// (ClientInputError, from a store callback) passes unchanged.
func clientErr(id string, err error, step string) error {
	var in *ClientInputError
	if errors.As(err, &in) {
		return err
	}
	return fromStore(err, step, onNotFound(fmt.Errorf("client %q: %w", id, ErrNotFound)))
}
