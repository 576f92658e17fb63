package keys_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/batonhq/baton/internal/clocktest"
	"github.com/batonhq/baton/keys"
	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

var t0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func kek(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func options(alg string) keys.Options {
	return keys.Options{Alg: alg, KEK: kek(1), RotationPeriod: time.Hour, JWKSMaxAge: 10 * time.Minute,
		TokenTTL: 15 * time.Minute, ReloadInterval: time.Minute}
}

func newRing(t *testing.T, store keys.Store, opts keys.Options, c *clocktest.Clock) *keys.Ring {
	t.Helper()
	r, err := keys.NewRing(store, opts, c.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r
}

// verify checks a token against a JWKS the way a resource server would.
func verify(t *testing.T, token string, jwks []byte) error {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return err
	}
	h := jws.Signatures[0].Header
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Fatalf("typ %v", h.ExtraHeaders[jose.HeaderType])
	}
	ks := set.Key(h.KeyID)
	if len(ks) == 0 {
		return errUnknownKid
	}
	_, err = jws.Verify(ks[0])
	return err
}

type errString string

func (e errString) Error() string { return string(e) }

const errUnknownKid = errString("unknown kid")

func TestSignAndVerifyEachAlg(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			r := newRing(t, gormtest.OpenSQLite(t), options(alg), clocktest.New(t0))
			tok, err := r.Sign(t.Context(), "at+jwt", []byte(`{"sub":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			jwks, _ := r.JWKS()
			if err := verify(t, tok, jwks); err != nil {
				t.Fatal(err)
			}
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil || jws.Signatures[0].Header.Algorithm != alg || string(jws.UnsafePayloadWithoutVerification()) != `{"sub":"x"}` {
				t.Fatalf("token %s (%v): want alg %s and the payload as given", tok, err, alg)
			}
			if !strings.Contains(string(jwks), `"alg":"`+alg+`"`) || !strings.Contains(string(jwks), `"use":"sig"`) {
				t.Fatalf("JWKS %s", jwks)
			}
			var set struct{ Keys []map[string]any }
			json.Unmarshal(jwks, &set)
			for _, k := range set.Keys {
				if _, ok := k["d"]; ok {
					t.Fatal("JWKS publishes a private key")
				}
			}
		})
	}
}

func TestInitCreatesActiveAndNext(t *testing.T) {
	store := gormtest.OpenSQLite(t)
	r := newRing(t, store, options(keys.ES256), clocktest.New(t0))
	ks := r.Keys()
	if len(ks) != 2 || ks[0].State != models.KeyActive || ks[1].State != models.KeyNext {
		t.Fatalf("keys %+v", ks)
	}
	if !ks[0].RetireAt.Equal(t0.Add(time.Hour)) || !ks[1].ActivateAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("schedule %+v", ks)
	}
	stored, _ := store.SigningKeys(t.Context())
	for _, k := range stored {
		if bytes.Contains(k.SealedKey, k.PublicJWK) || len(k.SealedKey) < 32 {
			t.Fatal("private key not sealed")
		}
	}
}

func TestRestartKeepsKeysAndWrongKEKChangesNothing(t *testing.T) {
	store := gormtest.OpenSQLite(t)
	c := clocktest.New(t0)
	r1 := newRing(t, store, options(keys.ES256), c)
	tok, _ := r1.Sign(t.Context(), "at+jwt", []byte(`{}`))
	before, _ := store.SigningKeys(t.Context())

	r2 := newRing(t, store, options(keys.ES256), c)
	if r2.ActiveKeyID() != r1.ActiveKeyID() {
		t.Fatal("restart changed the active key")
	}
	jwks, _ := r2.JWKS()
	if err := verify(t, tok, jwks); err != nil {
		t.Fatalf("token from before the restart: %v", err)
	}

	wrong := options(keys.ES256)
	wrong.KEK = kek(2)
	c.Advance(2 * time.Hour) // a rotation would be due
	r3, _ := keys.NewRing(store, wrong, c.Now, slog.New(slog.DiscardHandler))
	err := r3.Init(t.Context())
	if !errors.Is(err, keys.ErrWrongKEK) || !strings.Contains(err.Error(), "the KEK does not decrypt signing key") {
		t.Fatalf("wrong KEK: %v", err)
	}
	after, _ := store.SigningKeys(t.Context())
	if len(after) != len(before) {
		t.Fatalf("wrong KEK changed the keys: %d → %d", len(before), len(after))
	}
	for i := range before {
		if !bytes.Equal(before[i].SealedKey, after[i].SealedKey) || before[i].State != after[i].State {
			t.Fatal("wrong KEK changed a stored key")
		}
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*keys.Options)
		want string
	}{
		{"alg", func(o *keys.Options) { o.Alg = "HS256" }, `"HS256" is not ES256, RS256 or EdDSA`},
		{"kek", func(o *keys.Options) { o.KEK = []byte("short") }, "KEK: want 32 bytes, got 5"},
		{"period", func(o *keys.Options) { o.RotationPeriod = 15 * time.Minute }, "rotation period (15m0s) must be at least twice the JWKS max-age (10m0s)"},
	} {
		o := options(keys.ES256)
		tt.edit(&o)
		_, err := keys.NewRing(nil, o, time.Now, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "BATON_") { // keys speaks of its options; cmd names the variables
			t.Errorf("%s: %v names a variable", tt.name, err)
		}
	}
}

func TestParseKEK(t *testing.T) {
	for s, ok := range map[string]bool{
		"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=": true,
		"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE":  true,
		"AQEB": false, "not base64!": false, "": false,
	} {
		if _, err := keys.ParseKEK(s); (err == nil) != ok {
			t.Errorf("ParseKEK(%q): %v", s, err)
		}
	}
}

// TestLifecycle runs several rotation periods: every key is in the JWKS at
// least the JWKS max-age before it first signs, and a retired key stays
// until its last token has expired plus the max-age.
func TestLifecycle(t *testing.T) {
	c := clocktest.New(t0)
	opts := options(keys.ES256)
	r := newRing(t, gormtest.OpenSQLite(t), opts, c)
	firstSeen := map[string]time.Time{}
	lastSigned := map[string]time.Time{}
	step := time.Minute
	for range int(5 * opts.RotationPeriod / step) {
		if err := r.Tick(t.Context()); err != nil {
			t.Fatal(err)
		}
		now := c.Now()
		jwks, _ := r.JWKS()
		var set jose.JSONWebKeySet
		json.Unmarshal(jwks, &set)
		inSet := map[string]bool{}
		for _, k := range set.Keys {
			inSet[k.KeyID] = true
			if _, ok := firstSeen[k.KeyID]; !ok {
				firstSeen[k.KeyID] = now
			}
		}
		kid := r.ActiveKeyID()
		if _, ok := lastSigned[kid]; !ok && kid != "" && now.After(t0) {
			if seen := firstSeen[kid]; now.Sub(seen) < opts.JWKSMaxAge {
				t.Fatalf("key %s signs %s after it was published", kid, now.Sub(seen))
			}
		}
		lastSigned[kid] = now
		for k, last := range lastSigned {
			if !inSet[k] && now.Before(last.Add(opts.TokenTTL+opts.JWKSMaxAge)) {
				t.Fatalf("key %s left the JWKS while its tokens may be cached", k)
			}
		}
		c.Advance(step)
	}
	if len(lastSigned) < 5 {
		t.Fatalf("%d keys signed over 5 periods, want at least 5", len(lastSigned))
	}
}

func TestRotateOnDemand(t *testing.T) {
	c := clocktest.New(t0)
	r := newRing(t, gormtest.OpenSQLite(t), options(keys.ES256), c)
	first := r.ActiveKeyID()
	c.Advance(5 * time.Minute)
	if err := r.Rotate(t.Context()); err == nil {
		t.Fatal("rotated to a key published for less than the JWKS max-age")
	}
	c.Advance(5 * time.Minute)
	if err := r.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r.ActiveKeyID() == first {
		t.Fatal("rotate did not change the active key")
	}
	states := map[string]int{}
	for _, k := range r.Keys() {
		states[k.State]++
	}
	if states[models.KeyActive] != 1 || states[models.KeyNext] != 1 || states[models.KeyRetired] != 1 {
		t.Fatalf("states %v", states)
	}
}

func TestAlgorithmChangeIsARotation(t *testing.T) {
	c := clocktest.New(t0)
	store := gormtest.OpenSQLite(t)
	newRing(t, store, options(keys.ES256), c)
	r := newRing(t, store, options(keys.EdDSA), c)
	for range 2 {
		c.Advance(time.Hour)
		if err := r.Tick(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range r.Keys() {
		if k.State == models.KeyActive && k.Alg != keys.EdDSA {
			t.Fatalf("active key is %s after two rotations", k.Alg)
		}
	}
}

// TestOneRotatorAmongInstances: rings on one database (several instances)
// ticking at the same moment perform exactly one rotation.
func TestOneRotatorAmongInstances(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			store := b.Open(t)
			c := clocktest.New(t0)
			rings := make([]*keys.Ring, 4)
			for i := range rings {
				rings[i] = newRing(t, store, options(keys.ES256), c)
			}
			c.Advance(time.Hour)
			var wg sync.WaitGroup
			for _, r := range rings {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := r.Tick(t.Context()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			ks, _ := store.SigningKeys(t.Context())
			if len(ks) != 3 {
				t.Fatalf("%d keys after one due rotation, want 3 (retired, active, next)", len(ks))
			}
			for _, r := range rings[1:] {
				if r.ActiveKeyID() != rings[0].ActiveKeyID() {
					t.Fatal("instances disagree on the active key")
				}
			}
		})
	}
}

func TestVerify(t *testing.T) {
	c := clocktest.New(t0)
	r := newRing(t, gormtest.OpenSQLite(t), options(keys.ES256), c)
	other := newRing(t, gormtest.OpenSQLite(t), options(keys.ES256), c)
	good, _ := r.Sign(t.Context(), "at+jwt", []byte(`{"a":1}`))
	wrongTyp, _ := r.Sign(t.Context(), "JWT", []byte(`{"a":1}`))
	foreign, _ := other.Sign(t.Context(), "at+jwt", []byte(`{"a":1}`))
	parts := strings.Split(good, ".")
	// The same signature in the JWS JSON serializations (RFC 7515 §7.2):
	// flattened, and general with its one signature in a list.
	flattened := fmt.Sprintf(`{"protected":%q,"payload":%q,"signature":%q}`, parts[0], parts[1], parts[2])
	general := fmt.Sprintf(`{"payload":%q,"signatures":[{"protected":%q,"signature":%q}]}`, parts[1], parts[0], parts[2])
	for _, tok := range []string{flattened, general} {
		if _, err := jose.ParseSignedJSON(tok, []jose.SignatureAlgorithm{jose.ES256}); err != nil {
			t.Fatalf("go-jose does not parse %s: %v", tok, err)
		}
	}
	for _, tt := range []struct {
		name, token string
		ok          bool
	}{
		{"good", good, true},
		{"JSON flattened", flattened, false},
		{"JSON general", general, false},
		{"wrong typ", wrongTyp, false},
		{"unknown kid", foreign, false},
		{"alg none", "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + parts[1] + ".", false},
		{"HMAC", "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9." + parts[1] + "." + parts[2], false},
		{"tampered payload", parts[0] + ".eyJhIjoyfQ." + parts[2], false},
		{"garbage", "x.y.z", false},
	} {
		payload, err := r.Verify(tt.token, "at+jwt")
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.name, err)
		}
		if tt.ok && string(payload) != `{"a":1}` {
			t.Errorf("%s: payload %s", tt.name, payload)
		}
	}
}
