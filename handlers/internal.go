package handlers

import (
	"errors"
	"net/http"
)

// NewInternalRouter returns the handler of the internal listener
// (BATON_INTERNAL_ADDR), for operators and scrapers rather than clients, as
// Keycloak's management port and Hydra's admin port are: /metrics and, with
// cfg.InternalAdmin, the admin API (still requiring an admin token). Build
// the public router from the same cfg with cfg.Internal set.
func NewInternalRouter(cfg Config) (http.Handler, error) {
	if cfg.Metrics == nil {
		return nil, errors.New("handlers: the internal router needs metrics")
	}
	if cfg.InternalAdmin && (cfg.Tokens == nil || cfg.Admin == nil || cfg.Rotator == nil || cfg.Log == nil || cfg.AdminScope == "") {
		return nil, errors.New("handlers: the internal admin API needs tokens, admin, rotator, admin scope and log")
	}
	if cfg.Log == nil {
		return nil, errors.New("handlers: log is required")
	}
	r, err := newEngine(cfg, true)
	if err != nil {
		return nil, err
	}
	if cfg.InternalAdmin {
		mountAdmin(r, cfg)
	}
	return headAsGet{r}, nil
}
