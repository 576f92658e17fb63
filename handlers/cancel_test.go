package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/models"
	"github.com/batonhq/baton/models/gormstore/gormtest"
	"github.com/batonhq/baton/models/storetest"
	"github.com/batonhq/baton/oauth"
)

// levelRecorder keeps the level and message of every log record.
type levelRecorder struct {
	mu      sync.Mutex
	records []string
}

func (r *levelRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *levelRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *levelRecorder) WithGroup(string) slog.Handler            { return r }
func (r *levelRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec.Level >= slog.LevelWarn {
		r.records = append(r.records, rec.Level.String()+" "+rec.Message)
	}
	return nil
}

func (r *levelRecorder) warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.records...)
}

// hangingStore makes a user lookup (once fail is set) wait until its
// request is cancelled and then fail with fail's error.
type hangingStore struct {
	storetest.Store
	mu      sync.Mutex
	fail    func(ctx context.Context) error
	entered chan struct{}
}

func (s *hangingStore) UserByUsername(ctx context.Context, username string) (models.User, error) {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail == nil {
		return s.Store.UserByUsername(ctx, username)
	}
	close(s.entered)
	<-ctx.Done()
	return models.User{}, fail(ctx)
}

// TestCancelledRequestIsNotAnOutage: a client that hangs up while its
// login waits for the database is logged at debug only, whichever error
// the store makes of the cancelled query, and
// baton_database_unavailable_total stays 0.
func TestCancelledRequestIsNotAnOutage(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail func(ctx context.Context) error // what the store returns once the client is gone
	}{
		// pgx cut off by a cancelled context: the Postgres store reports a
		// broken connection, an unavailable database.
		{"as an unavailable database", func(ctx context.Context) error {
			return fmt.Errorf("%w: %w", models.ErrUnavailable, fmt.Errorf("conn closed: %w", ctx.Err()))
		}},
		// database/sql (SQLite) returns the context's error.
		{"as the context's error", func(ctx context.Context) error { return fmt.Errorf("user by username: %w", ctx.Err()) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := &levelRecorder{}
			st := &hangingStore{Store: gormtest.OpenSQLite(t)}
			s := newServerConfig(t, st, func(*oauth.Options) {}, func(c *handlers.Config) { c.Log = slog.New(logs) })
			st.mu.Lock()
			st.fail, st.entered = tt.fail, make(chan struct{})
			st.mu.Unlock()

			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/oauth2/token", strings.NewReader(url.Values{
				"grant_type": {"password"}, "username": {"alice"}, "password": {password}, "client_id": {"spa"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			done := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			<-st.entered
			cancel() // the client hangs up
			<-done

			// The server notices the hang-up on its own time: wait for the
			// request to be counted.
			var text string
			for deadline := time.Now().Add(10 * time.Second); ; {
				text, _ = metricsText(t, s)
				if strings.Contains(text, `baton_http_request_duration_seconds_count{route="/oauth2/token"} 1`) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the cancelled request was never counted:\n%s", text)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if !strings.Contains(text, "baton_database_unavailable_total 0") {
				t.Errorf("a cancelled request counted as a database outage:\n%s", grep(text, "baton_database_unavailable_total"))
			}
			if w := logs.warnings(); len(w) > 0 {
				t.Errorf("a cancelled request logged at warning or above: %q", w)
			}
		})
	}
}

// grep returns the lines of text containing s.
func grep(text, s string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
