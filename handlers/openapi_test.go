package handlers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi/datamodel"

	"github.com/batonhq/baton/handlers"
	"github.com/batonhq/baton/models/gormstore/gormtest"
)

// newDocument parses an OpenAPI document; libopenapi's log of what it
// finds wrong goes nowhere: the errors it returns say it.
func newDocument(doc []byte) (libopenapi.Document, error) {
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = quiet()
	return libopenapi.NewDocumentWithConfiguration(doc, cfg)
}

// validateOpenAPI checks doc with libopenapi and libopenapi-validator: it
// must be OpenAPI 3.1, valid against the OpenAPI 3.1 JSON Schema, and every
// $ref must resolve.
func validateOpenAPI(doc []byte) error {
	d, err := newDocument(doc)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	if v := d.GetVersion(); !strings.HasPrefix(v, "3.1.") {
		return fmt.Errorf("openapi version %q, want 3.1.x", v)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		return fmt.Errorf("validator: %w", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		var msgs []string
		for _, e := range verrs {
			msgs = append(msgs, e.Error())
			for _, se := range e.SchemaValidationErrors {
				msgs = append(msgs, "  "+se.FieldPath+" ("+se.KeywordLocation+"): "+se.Reason)
			}
		}
		return fmt.Errorf("not a valid OpenAPI 3.1 document:\n%s", strings.Join(msgs, "\n"))
	}
	m, err := d.BuildV3Model()
	if err != nil {
		return fmt.Errorf("build model: %w", err)
	}
	if errs := m.Index.GetReferenceIndexErrors(); len(errs) > 0 {
		return fmt.Errorf("references: %w", errors.Join(errs...))
	}
	return nil
}

// TestOpenAPIDocumentIsValid: the served document is OpenAPI 3.1 as a real
// validator sees it, and the validator refuses broken variants of it.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	if err := validateOpenAPI(handlers.OpenAPIDocument); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		breakDoc func(doc map[string]any)
	}{
		{"a response without its required description", func(doc map[string]any) {
			delete(operation(doc, "/admin/v1/clients/{id}", "delete")["responses"].(map[string]any)["200"].(map[string]any), "description")
		}},
		{"a path parameter not marked required", func(doc map[string]any) {
			delete(doc["components"].(map[string]any)["parameters"].(map[string]any)["clientId"].(map[string]any), "required")
		}},
		{"a $ref to a schema that does not exist", func(doc map[string]any) {
			schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
			delete(schemas, "ClientWithSecret")
		}},
		{"a path that does not start with a slash", func(doc map[string]any) {
			paths := doc["paths"].(map[string]any)
			paths["admin/v1/users"] = paths["/admin/v1/users"]
		}},
		{"an unknown member in an operation", func(doc map[string]any) {
			operation(doc, "/admin/v1/users", "get")["returns"] = "users"
		}},
		{"OpenAPI 3.0", func(doc map[string]any) { doc["openapi"] = "3.0.3" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := parseDoc(t, handlers.OpenAPIDocument)
			tc.breakDoc(doc)
			broken, _ := json.Marshal(doc)
			err := validateOpenAPI(broken)
			if err == nil {
				t.Fatal("the validator accepted a broken document")
			}
			t.Logf("refused as it should: %.300s", err)
		})
	}
}

func parseDoc(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func operation(doc map[string]any, path, method string) map[string]any {
	return doc["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
}

// ginParam is a gin path parameter (:id); OpenAPI writes it {id}.
var ginParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// undocumented lists the routes under /admin/v1 that the document lacks.
func undocumented(routes gin.RoutesInfo, doc map[string]any) []string {
	paths, _ := doc["paths"].(map[string]any)
	var out []string
	for _, r := range routes {
		if !strings.HasPrefix(r.Path, "/admin/v1/") {
			continue
		}
		path := ginParam.ReplaceAllString(r.Path, "{$1}")
		item, _ := paths[path].(map[string]any)
		if _, ok := item[strings.ToLower(r.Method)].(map[string]any); !ok {
			out = append(out, r.Method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// unserved lists the documented operations that no route serves.
func unserved(routes gin.RoutesInfo, doc map[string]any) []string {
	served := map[string]bool{}
	for _, r := range routes {
		served[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var out []string
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			if m := strings.ToUpper(method); m != "PARAMETERS" && !served[m+" "+path] {
				out = append(out, m+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIDocumentsEveryRoute: every route baton serves under /admin/v1
// has its path and method in the document, and the document promises no
// operation that baton does not serve.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	s := sqliteServer(t)
	routes := s.Config.Handler.(interface{ Routes() gin.RoutesInfo }).Routes()
	doc := parseDoc(t, handlers.OpenAPIDocument)
	if missing := undocumented(routes, doc); len(missing) > 0 {
		t.Fatalf("routes missing from openapi.json: %q", missing)
	}
	if got := unserved(routes, doc); len(got) > 0 {
		t.Fatalf("documented but not served: %q", got)
	}
	var admin int
	for _, r := range routes {
		if strings.HasPrefix(r.Path, "/admin/v1/") {
			admin++
		}
	}
	if admin < 11 {
		t.Fatalf("only %d admin routes walked: the check would pass on nothing", admin)
	}

	// The check fails on a route the document lacks: drop one path, and
	// one method of another, from a copy of the document.
	paths := doc["paths"].(map[string]any)
	delete(paths, "/admin/v1/clients/{id}/secret")
	delete(paths["/admin/v1/sessions"].(map[string]any), "delete")
	want := []string{"DELETE /admin/v1/sessions", "POST /admin/v1/clients/{id}/secret"}
	if missing := undocumented(routes, doc); !slices.Equal(missing, want) {
		t.Fatalf("with two operations removed, undocumented found %q, want %q", missing, want)
	}
	// And on a route the router gains.
	extra := append(slices.Clone(routes), gin.RouteInfo{Method: "PUT", Path: "/admin/v1/keys/:kid"})
	if missing := undocumented(extra, parseDoc(t, handlers.OpenAPIDocument)); !slices.Equal(missing, []string{"PUT /admin/v1/keys/{kid}"}) {
		t.Fatalf("an undocumented route went unnoticed: %q", missing)
	}
}

// apiCheck sends admin requests and validates each request and its answer
// against the document.
type apiCheck struct {
	t      *testing.T
	s      *server
	v      validator.Validator
	bearer string
	seen   map[string]bool // "METHOD path status" checked
}

func newAPICheck(t *testing.T, s *server, bearer string) *apiCheck {
	t.Helper()
	d, err := newDocument(handlers.OpenAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	return &apiCheck{t: t, s: s, v: v, bearer: bearer, seen: map[string]bool{}}
}

// call sends the request, checks the status and validates the exchange.
func (a *apiCheck) call(method, path, body string, want int) map[string]any {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.s.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+a.bearer)
	}
	resp, raw := do(a.t, req)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if errs := a.validate(req, body, resp, raw); len(errs) > 0 {
		a.t.Fatalf("%s %s (%d %s) does not match openapi.json:\n%s", method, path, resp.StatusCode, raw, strings.Join(errs, "\n"))
	}
	a.seen[fmt.Sprintf("%s %s %d", method, path, want)] = true
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// validate checks a request (unless it is one the document must refuse:
// a 4xx for bad input) and its answer against the document.
func (a *apiCheck) validate(req *http.Request, body string, resp *http.Response, raw []byte) []string {
	req.Body = io.NopCloser(strings.NewReader(body))
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if resp.StatusCode < 300 {
		return messages(a.v.ValidateHttpRequestResponse(req, resp))
	}
	return messages(a.v.ValidateHttpResponse(req, resp))
}

func messages(ok bool, verrs []*verrors.ValidationError) []string {
	if ok {
		return nil
	}
	var msgs []string
	for _, e := range verrs {
		msgs = append(msgs, e.Error())
		for _, se := range e.SchemaValidationErrors {
			msgs = append(msgs, "  "+se.FieldPath+" ("+se.KeywordLocation+"): "+se.Reason)
		}
	}
	return msgs
}

// TestOpenAPIMatchesAnswers: real admin requests and answers, successes
// and errors, are what the document says, on both databases.
func TestOpenAPIMatchesAnswers(t *testing.T) {
	for _, b := range gormtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := newServer(t, b.Open(t))
			a := newAPICheck(t, s, s.token(t, "ops"))
			s.login(t, "spa", "")
			s.login(t, "backend", secret)

			// Sessions.
			list := a.call("GET", "/admin/v1/sessions?username=alice&limit=1", "", 200)
			first := list["sessions"].([]any)[0].(map[string]any)["id"].(string)
			a.call("DELETE", "/admin/v1/sessions/"+first, "", 200)
			a.call("GET", "/admin/v1/sessions?username=alice", "", 200) // an ended session among them
			a.call("DELETE", "/admin/v1/sessions?username=alice", "", 200)
			a.call("DELETE", "/admin/v1/sessions/no-such-session", "", 404)
			a.call("GET", "/admin/v1/sessions?username=nobody", "", 404)
			a.call("GET", "/admin/v1/sessions", "", 400)
			a.call("GET", "/admin/v1/sessions?username=alice&limit=0", "", 400)

			// Clients.
			a.call("GET", "/admin/v1/clients?limit=2", "", 200)
			a.call("POST", "/admin/v1/clients", `{"client_id":"svc","grant_types":["client_credentials"],"scope":"jobs"}`, 201)
			a.call("POST", "/admin/v1/clients", `{"client_id":"web","public":true,"grant_types":["authorization_code","refresh_token"],"redirect_uris":["https://app.example/cb"],"allowed_origins":["https://app.example"]}`, 201)
			a.call("POST", "/admin/v1/clients", `{"client_id":"svc","grant_types":["client_credentials"]}`, 409)
			a.call("POST", "/admin/v1/clients", `{"client_id":`, 400)
			a.call("GET", "/admin/v1/clients/svc", "", 200)
			a.call("GET", "/admin/v1/clients/nope", "", 404)
			a.call("PATCH", "/admin/v1/clients/svc", `{"scope":"jobs reports","trusted":true}`, 200)
			a.call("POST", "/admin/v1/clients/svc/secret", "", 200)
			a.call("POST", "/admin/v1/clients/svc/secret", "{}", 200)
			a.call("POST", "/admin/v1/clients/web/secret", "", 400)
			a.call("DELETE", "/admin/v1/clients/svc", "", 200)
			a.call("DELETE", "/admin/v1/clients/svc", "", 404)

			// Users.
			a.call("GET", "/admin/v1/users?limit=2", "", 200)
			a.call("POST", "/admin/v1/users", `{"username":"bob","password":"a long password","roles":["admin"]}`, 201)
			a.call("POST", "/admin/v1/users", `{"username":"bob","password":"a long password"}`, 409)
			a.call("POST", "/admin/v1/users", `{"username":`, 400)
			a.call("GET", "/admin/v1/users/bob", "", 200)
			a.call("GET", "/admin/v1/users/nobody", "", 404)
			a.call("PATCH", "/admin/v1/users/bob", `{"roles":[],"disabled":true}`, 200)
			a.call("DELETE", "/admin/v1/users/bob", "", 204)
			a.call("DELETE", "/admin/v1/users/bob", "", 404)

			// Keys, and this document.
			a.call("POST", "/admin/v1/keys/rotate", "", 409)
			s.clock.Advance(11 * time.Minute)
			a.call("POST", "/admin/v1/keys/rotate", "", 200)
			a.call("GET", "/admin/v1/openapi.json", "", 200)

			// The bearer rule.
			a.bearer = ""
			a.call("GET", "/admin/v1/openapi.json", "", 401)
			a.bearer = s.token(t, "worker")
			a.call("GET", "/admin/v1/clients", "", 403)
		})
	}
}

// TestOpenAPIAnswerCheckFails: the answer check is not vacuous: answers
// that differ from the document (a member it does not list, a status it
// does not list, a member missing) are refused.
func TestOpenAPIAnswerCheckFails(t *testing.T) {
	s := sqliteServer(t)
	a := newAPICheck(t, s, "")
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"an undocumented member", "GET", "/admin/v1/sessions?username=alice", 200, `{"sessions":[],"next":"","total":0}`},
		{"a missing member", "GET", "/admin/v1/clients", 200, `{"clients":[]}`},
		{"a secret in a client read", "GET", "/admin/v1/clients/x", 200,
			`{"client_id":"x","grant_types":[],"scope":"","redirect_uris":[],"allowed_origins":[],"trusted":false,"public":false,"created_at":"2025-01-01T00:00:00.000000Z","client_secret":"s"}`},
		{"an undocumented status", "DELETE", "/admin/v1/users/alice", 200, `{}`},
		{"an error without its code", "GET", "/admin/v1/clients/x", 404, `{"error_description":"no such client"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.URL+tc.path, nil)
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(tc.body)), Request: req}
			errs := messages(a.v.ValidateHttpResponse(req, resp))
			if len(errs) == 0 {
				t.Fatal("an answer that breaks the document passed")
			}
			t.Logf("refused as it should: %.200s", strings.Join(errs, "; "))
		})
	}
}
