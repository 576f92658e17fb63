package oauth

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/batonhq/baton/models"
)

// TestFromStore: every storage sentinel becomes the meaning its call gave
// it, or else one of oauth's errors; none reaches a caller of oauth as the
// store's own, except inside the chain kept for the log.
func TestFromStore(t *testing.T) {
	gone := ErrInvalidGrant.Describe("gone")
	taken := fmt.Errorf("user %q %w", "alice", ErrUserExists)
	used := ErrInvalidGrant.Describe("used")
	decided := ErrInvalidScope.Describe("from a callback")
	down := fmt.Errorf("%w: dial tcp: connection refused", models.ErrUnavailable)
	meanings := []storeMeaning{onNotFound(gone), onExists(taken), onConflict(used)}
	for _, tt := range []struct {
		name     string
		err      error
		meanings []storeMeaning
		want     error  // the very value returned, when set
		is       error  // else: what it must match
		text     string // and its text
	}{
		{"nil", nil, meanings, nil, nil, ""},
		{"not found", fmt.Errorf("x: %w", models.ErrNotFound), meanings, gone, nil, ""},
		{"already exists", models.ErrAlreadyExists, meanings, taken, nil, ""},
		{"conflict", models.ErrConflict, meanings, used, nil, ""},
		{"not found, no failure", models.ErrNotFound, []storeMeaning{onNotFound(nil)}, nil, nil, ""},
		{"unavailable", down, meanings, nil, ErrUnavailable, "load user: models: database unavailable: dial tcp: connection refused"},
		{"a callback's *Error", decided, meanings, decided, nil, ""},
		{"not found without a meaning", models.ErrNotFound, nil, nil, models.ErrNotFound, "load user: models: not found"},
		{"conflict without a meaning", models.ErrConflict, []storeMeaning{onNotFound(gone)}, nil, models.ErrConflict, "load user: models: conflict"},
		{"anything else", context.DeadlineExceeded, meanings, nil, context.DeadlineExceeded, "load user: context deadline exceeded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := fromStore(tt.err, "load user", tt.meanings...)
			if tt.is == nil {
				if got != tt.want {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				return
			}
			if !errors.Is(got, tt.is) || got.Error() != tt.text {
				t.Fatalf("got %q, want %q matching %v", got, tt.text, tt.is)
			}
			if errors.Is(got, ErrUnavailable) != (tt.is == ErrUnavailable) {
				t.Fatalf("%v: ErrUnavailable %v", got, errors.Is(got, ErrUnavailable))
			}
		})
	}
}
