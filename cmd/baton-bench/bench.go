package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/internal/cli"
	"github.com/valyala/fastjson"
)

// benchCmd is the command line of the load tool: it drives a running baton
// and prints throughput, latency percentiles and errors by status.
type benchCmd struct {
	URL         string        `default:"http://127.0.0.1:8080" help:"baton's base URL."`
	Mode        string        `required:"" enum:"password,refresh,codeflow,client_credentials,jwks,introspect" help:"What to drive: password, refresh, codeflow (authorize, login page, code, token), client_credentials, jwks or introspect."`
	Concurrency int           `short:"c" default:"8" help:"Concurrent workers."`
	Duration    time.Duration `short:"d" help:"How long to run (this or --requests is required)."`
	Requests    int           `short:"n" help:"How many requests in all."`
	Client      string        `default:"bench" help:"Client id: public for password/refresh/codeflow, confidential for client_credentials/introspect."`
	Username    string        `default:"bench" help:"User for password, refresh and codeflow."`
	Users       int           `default:"0" help:"Spread the logins over N users named <username>-1 … <username>-N, sharing the password (0: <username> alone). The login throttle lets a user have only a few attempts in flight: give one user per worker."`
	RedirectURI string        `name:"redirect-uri" default:"http://127.0.0.1/cb" help:"Registered redirect URI of the codeflow client (a trusted client: no consent page)."`
	SecretStdin bool          `name:"secret-stdin" help:"Read the client secret from the first line of stdin."`
	PassStdin   bool          `name:"password-stdin" help:"Read the password from the next line of stdin."`
	Baseline    bool          `help:"Also measure a trivial net/http handler answering the same bytes (jwks, client_credentials)."`
	AllowRemote bool          `name:"allow-remote" help:"Allow a non-loopback URL."`
	CPUProfile  string        `name:"cpuprofile" hidden:"" type:"path" help:"Write the load tool's own CPU profile to this file (go tool pprof)."`
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
	// FirstCheck is the first answer that failed a check of the mode
	// (counted under "check" in Errors), for diagnosis.
	FirstCheck string `json:"first_check,omitempty"`
}

// Run validates the bounds and runs the load.
func (c *benchCmd) Run(e *cli.Env) error {
	if c.Duration <= 0 && c.Requests <= 0 {
		return errors.New("give --duration or --requests: the load tool refuses to run unbounded")
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		return errors.New("--concurrency must be 1 to 1024")
	}
	if c.Users < 0 {
		return errors.New("--users must be 0 or more")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--url %q is not a URL", c.URL)
	}
	if ip := net.ParseIP(u.Hostname()); !c.AllowRemote && u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--url %s is not loopback; pass --allow-remote to load another machine", u.Host)
	}
	in := bufio.NewReader(e.Stdin)
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
	if c.CPUProfile != "" {
		stop, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	l := &loader{cmd: c, base: u, secret: secret, password: password}
	res, err := l.run(e.Ctx)
	if err != nil {
		return err
	}
	printResult(e.Stdout, res)
	if c.Baseline && (c.Mode == "jwks" || c.Mode == "client_credentials") {
		base, err := l.baseline(e.Ctx)
		if err != nil {
			return err
		}
		printResult(e.Stdout, base)
		fmt.Fprintf(e.Stdout, "ratio baton/baseline: %.2f\n", res.RPS/base.RPS)
	}
	line, _ := json.Marshal(res)
	fmt.Fprintln(e.Stdout, string(line))
	return nil
}

// startCPUProfile profiles the load tool itself until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
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
	base             *url.URL
	secret, password string
	issuer           string // codeflow: the server's issuer, read from its metadata
}

// request is one call of the mode; a worker keeps its own state (its
// connection, its refresh-token chain) in it.
type request func(ctx context.Context) (status int, err error)

func (l *loader) run(ctx context.Context) (benchResult, error) {
	workers := make([]request, l.cmd.Concurrency)
	for i := range workers {
		w, err := l.worker(ctx, i)
		if err != nil {
			return benchResult{}, err
		}
		workers[i] = w
	}
	return l.measure(ctx, "baton", workers), nil
}

// measure runs the workers until the duration or the request count is
// reached and summarises.
//
// A login cut off by the deadline keeps the reservation the throttle made
// for it on the client address (the server cannot tell an abandoned
// attempt from a guess), and twenty of them throttle the address for an
// hour: so in the modes that log in (password, codeflow) the iterations in
// flight at the deadline finish, and count; elapsed time runs until the
// last one ends. Other modes' iterations are cut off and not counted.
func (l *loader) measure(parent context.Context, target string, workers []request) benchResult {
	ctx := parent // ends the run
	if l.cmd.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, l.cmd.Duration)
		defer cancel()
	}
	reqCtx := ctx // ends a request
	if l.cmd.Mode == "password" || l.cmd.Mode == "codeflow" {
		reqCtx = parent
	}
	var left atomic.Int64
	left.Store(int64(l.cmd.Requests))
	lat := make([][]time.Duration, len(workers))
	errs := make([]map[string]int, len(workers))
	checks := make([]string, len(workers))
	start := time.Now()
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			errs[i] = map[string]int{}
			for ctx.Err() == nil && (l.cmd.Requests <= 0 || left.Add(-1) >= 0) {
				t0 := time.Now()
				status, err := w(reqCtx)
				if reqCtx.Err() != nil && err != nil {
					return // cut off by the deadline or by the caller: not a result
				}
				lat[i] = append(lat[i], time.Since(t0))
				var cerr *checkError
				switch {
				case errors.As(err, &cerr):
					errs[i]["check"]++
					if checks[i] == "" {
						checks[i] = cerr.Error()
					}
				case err != nil:
					errs[i]["transport"]++
				case status != http.StatusOK:
					errs[i][fmt.Sprint(status)]++
				}
			}
		})
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
		if res.FirstCheck == "" {
			res.FirstCheck = checks[i]
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

// username is the user worker i logs in as.
func (l *loader) username(i int) string {
	if l.cmd.Users == 0 {
		return l.cmd.Username
	}
	return fmt.Sprintf("%s-%d", l.cmd.Username, i%l.cmd.Users+1)
}

// worker prepares worker i of the mode, with a connection of its own.
func (l *loader) worker(ctx context.Context, i int) (request, error) {
	c := &benchConn{base: l.base}
	fixed := func(req *http.Request) (request, error) {
		raw, err := encode(req)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (int, error) {
			status, _, err := c.roundTrip(ctx, raw)
			return status, err
		}, nil
	}
	switch l.cmd.Mode {
	case "jwks":
		return fixed(l.get("/.well-known/jwks.json"))
	case "password":
		return fixed(l.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {l.username(i)},
			"password": {l.password}, "client_id": {l.cmd.Client}}, false))
	case "client_credentials":
		return fixed(l.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, true))
	case "refresh":
		status, tok, err := c.token(ctx, l.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {l.username(i)},
			"password": {l.password}, "client_id": {l.cmd.Client}}, false))
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("log in as %s with client %s: status %d %v", l.username(i), l.cmd.Client, status, err)
		}
		return l.refresh(c, tok.RefreshToken), nil
	case "introspect":
		status, tok, err := c.token(ctx, l.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, true))
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("client_credentials for %s: status %d %v", l.cmd.Client, status, err)
		}
		return fixed(l.post("/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, true))
	case "codeflow":
		if l.issuer == "" {
			resp, body, err := c.do(ctx, l.get("/.well-known/oauth-authorization-server"))
			var meta struct {
				Issuer string `json:"issuer"`
			}
			if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(body, &meta) != nil || meta.Issuer == "" {
				return nil, fmt.Errorf("read the server's metadata: %v", cmp.Or(err, fmt.Errorf("status %d, issuer %q", resp.StatusCode, meta.Issuer)))
			}
			l.issuer = meta.Issuer
		}
		return l.codeFlow(c, l.username(i)), nil
	}
	return nil, fmt.Errorf("unknown mode %q", l.cmd.Mode)
}

// tokenBody is what the load tool reads of a token response.
type tokenBody struct {
	AccessToken, RefreshToken string
}

// refresh is a worker of the refresh mode: it keeps its own chain, always
// presents its newest refresh token, and checks that the answer is 200 with
// a refresh token. The form is the same bytes as url.Values.Encode's (its
// keys sorted), but only the token is encoded per request, and net/http
// writes the request's head once per body length (formPost).
func (l *loader) refresh(c *benchConn, rt string) request {
	post := &formPost{req: l.post("/oauth2/token", nil, false)}
	fixed := url.Values{"grant_type": {"refresh_token"}, "client_id": {l.cmd.Client}}.Encode() + "&refresh_token="
	var body []byte
	return func(ctx context.Context) (int, error) {
		body = append(append(body[:0], fixed...), url.QueryEscape(rt)...)
		c.out.Reset()
		if err := post.write(&c.out, body); err != nil {
			return 0, err
		}
		s, next, err := c.decodeToken(c.exchange(ctx, c.out.Bytes()))
		if err == nil && s == http.StatusOK {
			if next.RefreshToken == "" {
				return 0, checkFailed("refresh answered 200 without a refresh token")
			}
			rt = next.RefreshToken // always present the newest token
		}
		return s, err
	}
}

// formPost is a form POST whose body changes from one request to the next
// while its head does not, but for the Content-Length: net/http writes the
// head once per body length (a refresh token's length does not change).
type formPost struct {
	req  *http.Request // without a body
	head []byte        // req's head for a body of n bytes
	n    int
}

// write appends the request with body to dst.
func (f *formPost) write(dst *bytes.Buffer, body []byte) error {
	if f.head == nil || f.n != len(body) {
		r := *f.req
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		var b bytes.Buffer
		if err := r.Write(&b); err != nil {
			return err
		}
		f.head, f.n = b.Bytes()[:b.Len()-len(body)], len(body)
	}
	dst.Write(f.head)
	dst.Write(body)
	return nil
}

// at is the URL of path under the base URL.
func (l *loader) at(path string) *url.URL {
	u := *l.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return &u
}

func (l *loader) get(path string) *http.Request {
	return &http.Request{Method: http.MethodGet, URL: l.at(path), Host: l.base.Host, Header: http.Header{}}
}

func (l *loader) post(path string, form url.Values, auth bool) *http.Request {
	return l.postTo(l.at(path), form, auth)
}

func (l *loader) postTo(u *url.URL, form url.Values, auth bool) *http.Request {
	body := form.Encode()
	req := &http.Request{Method: http.MethodPost, URL: u, Host: l.base.Host, Header: http.Header{},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth {
		req.SetBasicAuth(url.QueryEscape(l.cmd.Client), url.QueryEscape(l.secret))
	}
	return req
}

// benchConn is one worker's keep-alive HTTP/1.1 connection. The load tool
// writes each request and reads each response on it directly, as wrk does,
// instead of going through net/http's Transport, whose connection
// goroutines cost more CPU per request than the small handlers measured
// here: on two shared cores the tool's CPU is taken from the server.
// Requests and responses are still written and parsed by net/http.
type benchConn struct {
	base *url.URL
	conn net.Conn
	r    *bufio.Reader
	out  bytes.Buffer    // the request being sent
	in   bytes.Buffer    // the body of the last answer
	json fastjson.Parser // reused: decodes a token response without allocating
}

// encode serialises a request once, for workers that send the same bytes.
func encode(req *http.Request) ([]byte, error) {
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// roundTrip sends raw and reads the answer, reconnecting when the
// connection was closed. The body returned by roundTrip, do and exchange
// is valid until the connection's next request.
func (c *benchConn) roundTrip(ctx context.Context, raw []byte) (int, []byte, error) {
	resp, body, err := c.exchange(ctx, raw)
	if resp == nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, err
}

// do sends a request built for this worker alone and returns the answer
// with its header.
func (c *benchConn) do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	c.out.Reset()
	if err := req.Write(&c.out); err != nil {
		return nil, nil, err
	}
	return c.exchange(ctx, c.out.Bytes())
}

// exchange is roundTrip with the response's header.
func (c *benchConn) exchange(ctx context.Context, raw []byte) (*http.Response, []byte, error) {
	if c.conn == nil {
		host, port := c.base.Hostname(), c.base.Port()
		switch {
		case port != "":
		case c.base.Scheme == "https":
			port = "443"
		default:
			port = "80"
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, err
		}
		if c.base.Scheme == "https" {
			conn = tls.Client(conn, &tls.Config{ServerName: c.base.Hostname()})
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) })
	defer stop()
	_ = c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	resp, err := c.send(raw)
	if err != nil {
		c.conn.Close()
		c.conn = nil
		return nil, nil, err
	}
	c.in.Reset()
	_, err = c.in.ReadFrom(resp.Body)
	body := c.in.Bytes()
	resp.Body.Close()
	if err != nil || resp.Close {
		c.conn.Close()
		c.conn = nil
	}
	return resp, body, err
}

func (c *benchConn) send(raw []byte) (*http.Response, error) {
	if _, err := c.conn.Write(raw); err != nil {
		return nil, err
	}
	return http.ReadResponse(c.r, nil)
}

// token sends a token request and decodes a successful answer.
func (c *benchConn) token(ctx context.Context, req *http.Request) (int, tokenBody, error) {
	return c.decodeToken(c.do(ctx, req))
}

// decodeToken reads the two tokens of a successful token response, with a
// parser reused from one answer to the next (encoding/json's Unmarshal was
// a fifth of the load tool's CPU in the refresh mode).
func (c *benchConn) decodeToken(resp *http.Response, body []byte, err error) (int, tokenBody, error) {
	if err != nil || resp.StatusCode != http.StatusOK {
		return status(resp), tokenBody{}, err
	}
	v, err := c.json.ParseBytes(body)
	if err != nil {
		return resp.StatusCode, tokenBody{}, fmt.Errorf("token response: %w", err)
	}
	return resp.StatusCode, tokenBody{AccessToken: string(v.GetStringBytes("access_token")),
		RefreshToken: string(v.GetStringBytes("refresh_token"))}, nil
}

// baseline measures a trivial net/http server answering the bytes baton
// answers (the JWKS, or a token response to a form POST), in the same run,
// so that the two figures share the machine's state. The server runs in a
// process of its own (baseline-server), as baton does: served from inside
// the load tool, it would trade requests with the client within one Go
// scheduler and look faster than any separate server can be.
func (l *loader) baseline(ctx context.Context) (benchResult, error) {
	body := []byte(`{"access_token":"x","token_type":"Bearer","expires_in":900}`)
	contentType := "application/json"
	if l.cmd.Mode == "jwks" {
		c := &benchConn{base: l.base}
		raw, err := encode(l.get("/.well-known/jwks.json"))
		if err != nil {
			return benchResult{}, err
		}
		if _, body, err = c.roundTrip(ctx, raw); err != nil {
			return benchResult{}, err
		}
		body = bytes.Clone(body)
		c.conn.Close()
		contentType = "application/jwk-set+json"
	}
	exe, err := os.Executable()
	if err != nil {
		return benchResult{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lifetime := l.cmd.Duration + 5*time.Minute
	cmd := exec.CommandContext(ctx, exe, baselineArg, "--content-type", contentType, "--lifetime", lifetime.String())
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return benchResult{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return benchResult{}, fmt.Errorf("start the baseline server: %w", err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return benchResult{}, fmt.Errorf("the baseline server did not start: %w", err)
	}
	base := &loader{cmd: l.cmd, base: &url.URL{Scheme: "http", Host: strings.TrimSpace(addr)}, secret: l.secret}
	mode := *l.cmd
	if mode.Mode != "jwks" {
		mode.Mode = "client_credentials"
	}
	base.cmd = &mode
	workers := make([]request, l.cmd.Concurrency)
	for i := range workers {
		if workers[i], err = base.worker(ctx, i); err != nil {
			return benchResult{}, err
		}
	}
	return base.measure(ctx, "baseline", workers), nil
}

// benchBaselineCmd is the baseline server of `--baseline`: a bare
// net/http handler answering the bytes read from stdin to every request
// (parsing the form of a POST, as a token endpoint must). It prints its
// address and serves until it is killed or its lifetime ends.
type benchBaselineCmd struct {
	ContentType string        `required:"" help:"Content-Type of the answer."`
	Lifetime    time.Duration `default:"10m" help:"Exit after this long."`
}

// Run serves the baseline.
func (c *benchBaselineCmd) Run(e *cli.Env) error {
	body, err := io.ReadAll(e.Stdin)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
		}
		w.Header().Set("Content-Type", c.ContentType)
		_, _ = w.Write(body)
	})}
	ctx, cancel := context.WithTimeout(e.Ctx, c.Lifetime)
	defer cancel()
	context.AfterFunc(ctx, func() { srv.Close() })
	fmt.Fprintln(e.Stdout, ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
