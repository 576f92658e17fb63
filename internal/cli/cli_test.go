package cli

import (
	"errors"
	"fmt"
	"testing"
)

// TestOneLine: a joined error becomes one line of its parts, and an error
// wrapping several errors (fmt.Errorf with two %w, which also unwraps to a
// list) keeps its whole message, prefixes included.
func TestOneLine(t *testing.T) {
	cipher := errors.New("cipher: message authentication failed")
	wrongKEK := errors.New("keys: the KEK does not decrypt signing key")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("plain"), "plain"},
		{errors.Join(errors.New("BATON_ADDR: empty"), errors.New("BATON_KEK: 5 bytes")), "BATON_ADDR: empty; BATON_KEK: 5 bytes"},
		{errors.Join(errors.New("a"), errors.Join(errors.New("b"), errors.New("c"))), "a; b; c"},
		{fmt.Errorf("BATON_KEK: %w", fmt.Errorf("%w k1: %w", wrongKEK, cipher)),
			"BATON_KEK: keys: the KEK does not decrypt signing key k1: cipher: message authentication failed"},
	} {
		if got := OneLine(tc.err); got != tc.want {
			t.Errorf("OneLine(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
