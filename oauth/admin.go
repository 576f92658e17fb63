package oauth

import "context"

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

// pageOf reads with read a page of up to limit items after the cursor
// (asking the store for one more, to learn whether there is a next page)
// and returns them shown by info, and the cursor of the next page: the key
// of the page's last item, "" when there is no next page. A store error is
// translated as the step named.
func pageOf[T, I any](ctx context.Context, read func(ctx context.Context, after string, n int) ([]T, error),
	after string, limit int, step string, key func(T) string, info func(T) I) ([]I, string, error) {
	items, err := read(ctx, after, limit+1)
	if err != nil {
		return nil, "", fromStore(err, step)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = key(items[limit-1])
	}
	out := make([]I, len(items))
	for i, t := range items {
		out[i] = info(t)
	}
	return out, next, nil
}
