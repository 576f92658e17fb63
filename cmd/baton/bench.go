package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchCmd is the load tool: it drives a running baton and prints
// throughput, latency percentiles and errors by status.
type benchCmd struct {
	URL         string        `default:"http://127.0.0.1:8080" help:"baton's base URL."`
	Mode        string        `required:"" enum:"password,refresh,client_credentials,jwks,introspect" help:"What to drive: password, refresh, client_credentials, jwks or introspect."`
	Concurrency int           `short:"c" default:"8" help:"Concurrent workers."`
	Duration    time.Duration `short:"d" help:"How long to run (this or --requests is required)."`
	Requests    int           `short:"n" help:"How many requests in all."`
	Client      string        `default:"bench" help:"Client id: public for password/refresh, confidential for client_credentials/introspect."`
	Username    string        `default:"bench" help:"User for password and refresh."`
	SecretStdin bool          `name:"secret-stdin" help:"Read the client secret from the first line of stdin."`
	PassStdin   bool          `name:"password-stdin" help:"Read the password from the next line of stdin."`
	Baseline    bool          `help:"Also measure a trivial net/http handler answering the same bytes (jwks, client_credentials)."`
	AllowRemote bool          `name:"allow-remote" help:"Allow a non-loopback URL."`
}

// benchResult is the final, machine-readable line.
type benchResult struct {
	Target      string         `json:"target"`
	Mode        string         `json:"mode"`
	Concurrency int            `json:"concurrency"`
	Requests    int            `json:"requests"`
	Seconds     float64        `json:"seconds"`
	RPS         float64        `json:"rps"`
	P50ms       float64        `json:"p50_ms"`
	P90ms       float64        `json:"p90_ms"`
	P99ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	Errors      map[string]int `json:"errors"`
}

// Run validates the bounds and runs the load.
func (c *benchCmd) Run(e *env) error {
	if c.Duration <= 0 && c.Requests <= 0 {
		return errors.New("give --duration or --requests: the load tool refuses to run unbounded")
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		return errors.New("--concurrency must be 1 to 1024")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--url %q is not a URL", c.URL)
	}
	if ip := net.ParseIP(u.Hostname()); !c.AllowRemote && u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--url %s is not loopback; pass --allow-remote to load another machine", u.Host)
	}
	in := bufio.NewReader(e.stdin)
	var secret, password string
	if c.SecretStdin {
		if secret, err = readLine(in, "client secret"); err != nil {
			return err
		}
	}
	if c.PassStdin {
		if password, err = readLine(in, "password"); err != nil {
			return err
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c.Concurrency, MaxConnsPerHost: c.Concurrency}, Timeout: 30 * time.Second}
	l := &loader{cmd: c, http: client, base: strings.TrimSuffix(c.URL, "/"), secret: secret, password: password}
	res, err := l.run(e.ctx)
	if err != nil {
		return err
	}
	printResult(e.stdout, res)
	if c.Baseline && (c.Mode == "jwks" || c.Mode == "client_credentials") {
		base, err := l.baseline(e.ctx)
		if err != nil {
			return err
		}
		printResult(e.stdout, base)
		fmt.Fprintf(e.stdout, "ratio baton/baseline: %.2f\n", res.RPS/base.RPS)
	}
	line, _ := json.Marshal(res)
	fmt.Fprintln(e.stdout, string(line))
	return nil
}

func readLine(r *bufio.Reader, what string) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	if line = strings.TrimRight(line, "\r\n"); line == "" {
		return "", fmt.Errorf("no %s on stdin", what)
	}
	return line, nil
}

func printResult(w io.Writer, r benchResult) {
	fmt.Fprintf(w, "%s %s c=%d: %d requests in %.1fs = %.0f/s; latency p50 %.2fms p90 %.2fms p99 %.2fms max %.2fms; errors %v\n",
		r.Target, r.Mode, r.Concurrency, r.Requests, r.Seconds, r.RPS, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.Errors)
}

// loader runs one measurement.
type loader struct {
	cmd              *benchCmd
	http             *http.Client
	base             string
	secret, password string
}

// request is one call of the mode; a worker keeps its own state (its
// refresh-token chain) in it.
type request func(ctx context.Context) (status int, err error)

func (l *loader) run(ctx context.Context) (benchResult, error) {
	workers := make([]request, l.cmd.Concurrency)
	for i := range workers {
		w, err := l.worker(ctx)
		if err != nil {
			return benchResult{}, err
		}
		workers[i] = w
	}
	return l.measure(ctx, "baton", workers), nil
}

// measure runs the workers until the duration or the request count is
// reached and summarises.
func (l *loader) measure(ctx context.Context, target string, workers []request) benchResult {
	if l.cmd.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.cmd.Duration)
		defer cancel()
	}
	var left atomic.Int64
	left.Store(int64(l.cmd.Requests))
	lat := make([][]time.Duration, len(workers))
	errs := make([]map[string]int, len(workers))
	start := time.Now()
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = map[string]int{}
			for ctx.Err() == nil && (l.cmd.Requests <= 0 || left.Add(-1) >= 0) {
				t0 := time.Now()
				status, err := w(ctx)
				if ctx.Err() != nil && err != nil {
					return // cut off by the deadline: not a result
				}
				lat[i] = append(lat[i], time.Since(t0))
				switch {
				case err != nil:
					errs[i]["transport"]++
				case status != http.StatusOK:
					errs[i][fmt.Sprint(status)]++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	res := benchResult{Target: target, Mode: l.cmd.Mode, Concurrency: len(workers), Errors: map[string]int{}, Seconds: elapsed.Seconds()}
	for i := range workers {
		all = append(all, lat[i]...)
		for k, v := range errs[i] {
			res.Errors[k] += v
		}
	}
	slices.Sort(all)
	res.Requests = len(all)
	if len(all) == 0 {
		return res
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(p float64) time.Duration { return all[int(p*float64(len(all)-1))] }
	res.RPS = float64(len(all)) / elapsed.Seconds()
	res.P50ms, res.P90ms, res.P99ms, res.MaxMs = ms(pct(.5)), ms(pct(.9)), ms(pct(.99)), ms(all[len(all)-1])
	return res
}

// worker prepares one worker of the mode.
func (l *loader) worker(ctx context.Context) (request, error) {
	switch l.cmd.Mode {
	case "jwks":
		return func(ctx context.Context) (int, error) { return l.get(ctx, l.base+"/.well-known/jwks.json") }, nil
	case "password":
		form := url.Values{"grant_type": {"password"}, "username": {l.cmd.Username}, "password": {l.password}, "client_id": {l.cmd.Client}}
		return func(ctx context.Context) (int, error) {
			s, _, err := l.post(ctx, "/oauth2/token", form, false)
			return s, err
		}, nil
	case "client_credentials":
		form := url.Values{"grant_type": {"client_credentials"}}
		return func(ctx context.Context) (int, error) {
			s, _, err := l.post(ctx, "/oauth2/token", form, true)
			return s, err
		}, nil
	case "refresh":
		status, tok, err := l.post(ctx, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {l.cmd.Username},
			"password": {l.password}, "client_id": {l.cmd.Client}}, false)
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("log in as %s with client %s: status %d %v", l.cmd.Username, l.cmd.Client, status, err)
		}
		rt := tok.RefreshToken
		return func(ctx context.Context) (int, error) {
			s, next, err := l.post(ctx, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {l.cmd.Client}}, false)
			if s == http.StatusOK {
				rt = next.RefreshToken // always present the newest token
			}
			return s, err
		}, nil
	case "introspect":
		status, tok, err := l.post(ctx, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, true)
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("client_credentials for %s: status %d %v", l.cmd.Client, status, err)
		}
		form := url.Values{"token": {tok.AccessToken}}
		return func(ctx context.Context) (int, error) {
			s, _, err := l.post(ctx, "/oauth2/introspect", form, true)
			return s, err
		}, nil
	}
	return nil, fmt.Errorf("unknown mode %q", l.cmd.Mode)
}

type tokenBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (l *loader) get(ctx context.Context, u string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := l.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (l *loader) post(ctx context.Context, path string, form url.Values, auth bool) (int, tokenBody, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth {
		req.SetBasicAuth(url.QueryEscape(l.cmd.Client), url.QueryEscape(l.secret))
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return 0, tokenBody{}, err
	}
	defer resp.Body.Close()
	var body tokenBody
	if resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(resp.Body).Decode(&body)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, body, nil
}

// baseline measures a trivial net/http server on loopback answering the
// bytes baton answers (the JWKS, or a token response to a form POST), in
// the same run, so the two figures share the machine's state.
func (l *loader) baseline(ctx context.Context) (benchResult, error) {
	var body []byte
	var contentType string
	switch l.cmd.Mode {
	case "jwks":
		resp, err := l.http.Get(l.base + "/.well-known/jwks.json")
		if err != nil {
			return benchResult{}, err
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		contentType = "application/jwk-set+json"
	default:
		body = []byte(`{"access_token":"x","token_type":"Bearer","expires_in":900}`)
		contentType = "application/json"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return benchResult{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	base := &loader{cmd: l.cmd, http: l.http, base: "http://" + ln.Addr().String(), secret: l.secret}
	workers := make([]request, l.cmd.Concurrency)
	for i := range workers {
		if l.cmd.Mode == "jwks" {
			workers[i] = func(ctx context.Context) (int, error) { return base.get(ctx, base.base+"/.well-known/jwks.json") }
		} else {
			form := url.Values{"grant_type": {"client_credentials"}}
			workers[i] = func(ctx context.Context) (int, error) { s, _, err := base.post(ctx, "/", form, true); return s, err }
		}
	}
	return base.measure(ctx, "baseline", workers), nil
}
