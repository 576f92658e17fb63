package oauth

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// sealSuccessor encrypts successor under a key derived from token, as
// rotations stored it before schema 7; baton now only opens such rows.
func sealSuccessor(token, successor string) ([]byte, error) {
	aead, err := successorAEAD(token)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(successor), hashToken(token)), nil
}

func TestSealedSuccessor(t *testing.T) {
	tok, succ := newOpaque(tokenBytes), newOpaque(tokenBytes)
	sealed, err := sealSuccessor(tok, succ)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(succ)) {
		t.Fatal("sealed successor contains the plaintext")
	}
	got, err := openSuccessor(tok, sealed)
	if err != nil || got != succ {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := openSuccessor(newOpaque(tokenBytes), sealed); err == nil {
		t.Fatal("another token opened the successor")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := openSuccessor(tok, sealed); err == nil {
		t.Fatal("a tampered successor opened")
	}
	if _, err := openSuccessor(tok, sealed[:3]); err == nil {
		t.Fatal("a truncated successor opened")
	}
}

func TestHasher(t *testing.T) {
	h, err := NewHasher(Argon2Params{Memory: 64, Time: 1, Threads: 1}, HashLimits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	enc, err := h.Hash(ctx, "pa55word")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		enc, pw string
		want    bool
	}{
		{enc, "pa55word", true},
		{enc, "pa55wore", false},
		{"", "pa55word", false},
		{"", "baton dummy password", false}, // the dummy hash never matches
		{"$argon2id$v=19$m=64,t=1,p=1$!!$!!", "x", false},
		{"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x", false}, // absurd cost refused
	} {
		got, err := h.Verify(ctx, tt.enc, tt.pw)
		if err != nil || got != tt.want {
			t.Errorf("Verify(%q, %q) = %v, %v; want %v", tt.enc, tt.pw, got, err, tt.want)
		}
	}
	other, _ := h.Hash(ctx, "pa55word")
	if other == enc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}
