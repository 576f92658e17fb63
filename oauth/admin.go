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

// pageOf cuts a store read of up to limit+1 items to a page of limit, shown
// by info, and the cursor of the next page: the key of the page's last item,
// "" when there is no next page.
func pageOf[T, I any](read []T, limit int, key func(T) string, info func(T) I) ([]I, string) {
	next := ""
	if len(read) > limit {
		read = read[:limit]
		next = key(read[limit-1])
	}
	out := make([]I, len(read))
	for i, t := range read {
		out[i] = info(t)
	}
	return out, next
}
