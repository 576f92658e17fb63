package oauth

// Admin administers users, roles, clients and sessions, for the admin API
// and the CLI; it needs no signing keys. It is safe for concurrent use.
type Admin struct {
	*shared
	store AdminStore
}

// NewAdmin returns the administration operations on store.
func NewAdmin(store AdminStore, sh *Shared) *Admin {
	return &Admin{shared: sh.sh, store: store}
}
