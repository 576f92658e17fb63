package handlers_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/batonhq/baton/handlers"
)

var update = flag.Bool("update", false, "rewrite docs/admin-api.md from handlers/openapi.json")

// referencePath is the admin API reference rendered from the document.
const referencePath = "../docs/admin-api.md"

// TestAdminAPIReference: docs/admin-api.md is what the OpenAPI document
// renders to. After changing handlers/openapi.json, run
// go test ./handlers -run TestAdminAPIReference -update
func TestAdminAPIReference(t *testing.T) {
	got := renderReference(parseDoc(t, handlers.OpenAPIDocument))
	if *update {
		if err := os.WriteFile(referencePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go test ./handlers -run TestAdminAPIReference -update", referencePath)
	}
}

// TestAdminAPIReferenceFollowsTheDocument: a change to the document
// changes the reference, so a stale file cannot pass.
func TestAdminAPIReferenceFollowsTheDocument(t *testing.T) {
	doc := parseDoc(t, handlers.OpenAPIDocument)
	before := renderReference(doc)
	operation(doc, "/admin/v1/clients", "get")["summary"] = "List every client"
	after := renderReference(doc)
	if bytes.Equal(before, after) || !bytes.Contains(after, []byte("List every client")) {
		t.Fatal("the reference does not follow a changed summary")
	}
}

var methodOrder = []string{"get", "post", "put", "patch", "delete"}

// renderReference renders the document as Markdown.
func renderReference(doc map[string]any) []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	info := obj(doc["info"])
	comps := obj(doc["components"])
	p("# %s reference\n\n", str(info["title"]))
	p("<!-- Rendered from handlers/openapi.json by TestAdminAPIReference: do not edit by hand.\n")
	p("     After changing the document: go test ./handlers -run TestAdminAPIReference -update -->\n\n")
	p("%s\n\n", str(info["summary"]))
	p("Version `%s`, OpenAPI %s. The document itself is served at `GET /admin/v1/openapi.json`.\n\n", str(info["version"]), str(doc["openapi"]))
	p("%s\n\n", str(info["description"]))
	p("## Authentication\n\n")
	for _, name := range sortedKeys(obj(comps["securitySchemes"])) {
		s := obj(obj(comps["securitySchemes"])[name])
		p("`%s`: HTTP `%s` (%s). %s\n\n", name, str(s["scheme"]), str(s["bearerFormat"]), str(s["description"]))
	}

	type op struct{ method, path string }
	byTag := map[string][]op{}
	paths := obj(doc["paths"])
	for _, path := range sortedKeys(paths) {
		for _, m := range methodOrder {
			if o, ok := obj(paths[path])[m].(map[string]any); ok {
				tag := str(o["tags"].([]any)[0])
				byTag[tag] = append(byTag[tag], op{m, path})
			}
		}
	}
	var tags []map[string]any
	for _, t := range doc["tags"].([]any) {
		tags = append(tags, obj(t))
	}

	p("## Operations\n\n| method, path | does |\n| --- | --- |\n")
	for _, tag := range tags {
		for _, o := range byTag[str(tag["name"])] {
			op := obj(obj(paths[o.path])[o.method])
			p("| [`%s %s`](#%s) | %s |\n", strings.ToUpper(o.method), o.path, strings.ToLower(str(op["operationId"])), str(op["summary"]))
		}
	}
	p("\n")

	for _, tag := range tags {
		p("## %s\n\n%s\n\n", str(tag["name"]), str(tag["description"]))
		for _, o := range byTag[str(tag["name"])] {
			item := obj(paths[o.path])
			op := obj(item[o.method])
			p("<a id=\"%s\"></a>\n### `%s %s`\n\n", strings.ToLower(str(op["operationId"])), strings.ToUpper(o.method), o.path)
			p("**%s.** %s\n\n", str(op["summary"]), str(op["description"]))
			var params []any
			if ps, ok := item["parameters"].([]any); ok {
				params = append(params, ps...)
			}
			if ps, ok := op["parameters"].([]any); ok {
				params = append(params, ps...)
			}
			if len(params) > 0 {
				p("| parameter | in | type | required | description |\n| --- | --- | --- | --- | --- |\n")
				for _, pr := range params {
					prm := resolve(doc, obj(pr))
					p("| `%s` | %s | %s | %s | %s |\n", str(prm["name"]), str(prm["in"]), schemaType(obj(prm["schema"])),
						yesNo(prm["required"]), str(prm["description"]))
				}
				p("\n")
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				opt := "optional"
				if rb["required"] == true {
					opt = "required"
				}
				p("Request body (%s, `application/json`): %s. %s\n\n", opt,
					schemaType(obj(obj(obj(rb["content"])["application/json"])["schema"])), str(rb["description"]))
			}
			p("| status | body | meaning |\n| --- | --- | --- |\n")
			responses := obj(op["responses"])
			for _, code := range sortedKeys(responses) {
				r := resolve(doc, obj(responses[code]))
				body := "none"
				if c, ok := r["content"].(map[string]any); ok {
					body = schemaType(obj(obj(c["application/json"])["schema"]))
				}
				desc := str(r["description"])
				for _, h := range sortedKeys(obj(r["headers"])) {
					desc += fmt.Sprintf(" Header `%s`: %s", h, str(obj(obj(r["headers"])[h])["description"]))
				}
				p("| %s | %s | %s |\n", code, body, desc)
			}
			p("\n")
		}
	}

	p("## Schemas\n\n")
	schemas := obj(comps["schemas"])
	for _, name := range sortedKeys(schemas) {
		s := obj(schemas[name])
		p("<a id=\"schema-%s\"></a>\n### %s\n\n", strings.ToLower(name), name)
		if d := str(s["description"]); d != "" {
			p("%s\n\n", d)
		}
		props := obj(s["properties"])
		if len(props) == 0 {
			p("%s.\n\n", schemaType(s))
			continue
		}
		var required []string
		for _, r := range asList(s["required"]) {
			required = append(required, str(r))
		}
		p("| member | type | required | description |\n| --- | --- | --- | --- |\n")
		for _, prop := range sortedKeys(props) {
			ps := obj(props[prop])
			p("| `%s` | %s | %s | %s |\n", prop, schemaType(ps), yesNo(slices.Contains(required, prop)), str(ps["description"]))
		}
		if s["additionalProperties"] == false {
			p("\nNo other member.\n")
		}
		p("\n")
	}
	return []byte(b.String())
}

// resolve follows a local $ref.
func resolve(doc map[string]any, v map[string]any) map[string]any {
	ref, ok := v["$ref"].(string)
	if !ok {
		return v
	}
	cur := any(doc)
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur = obj(cur)[part]
	}
	return obj(cur)
}

// schemaType names a schema's type for a reader.
func schemaType(s map[string]any) string {
	if ref, ok := s["$ref"].(string); ok {
		name := ref[strings.LastIndex(ref, "/")+1:]
		return fmt.Sprintf("[%s](#schema-%s)", name, strings.ToLower(name))
	}
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, str(x))
		}
	}
	for i, t := range types {
		if t == "array" {
			types[i] = "array of " + schemaType(obj(s["items"]))
		}
	}
	out := strings.Join(types, " or ")
	if f := str(s["format"]); f != "" {
		out += " (" + f + ")"
	}
	var extra []string
	if e := asList(s["enum"]); len(e) > 0 {
		var vs []string
		for _, v := range e {
			if v == nil {
				vs = append(vs, "`null`")
				continue
			}
			vs = append(vs, "`"+str(v)+"`")
		}
		extra = append(extra, "one of "+strings.Join(vs, ", "))
	}
	for _, k := range []string{"minimum", "maximum", "default", "minLength", "maxProperties"} {
		if v, ok := s[k]; ok {
			extra = append(extra, fmt.Sprintf("%s %v", k, v))
		}
	}
	if len(extra) > 0 {
		out += ", " + strings.Join(extra, ", ")
	}
	return out
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func str(v any) string         { s, _ := v.(string); return s }
func asList(v any) []any       { l, _ := v.([]any); return l }

func yesNo(v any) string {
	if v == true {
		return "yes"
	}
	return "no"
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
