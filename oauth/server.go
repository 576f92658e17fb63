package oauth

import (
	"log/slog"
	"time"

	"github.com/batonhq/baton/models"
)

// Server is every oauth type on one store and one Shared, as a serving
// process wires them.
type Server struct {
	Shared         *Shared
	Tokens         *Tokens
	Authorizations *Authorizations
	Admin          *Admin
	Maintenance    *Maintenance
}

// NewServer builds the shared pieces once and every type on them.
func NewServer(store models.Store, keys Keys, opts Options, now func() time.Time, log *slog.Logger) (*Server, error) {
	sh, err := NewShared(store, opts, now, log)
	if err != nil {
		return nil, err
	}
	tok, err := NewTokens(store, keys, sh)
	if err != nil {
		return nil, err
	}
	return &Server{Shared: sh, Tokens: tok, Authorizations: NewAuthorizations(store, sh),
		Admin: NewAdmin(store, sh), Maintenance: NewMaintenance(store, sh)}, nil
}
