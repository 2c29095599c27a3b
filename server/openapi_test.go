package server

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var ginParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// openapiPath maps a gin route to its OpenAPI path (relative to /api/v1 for
// API routes).
func openapiPath(route string) string {
	p := strings.TrimPrefix(route, "/api/v1")
	return ginParam.ReplaceAllString(p, "{$1}")
}

func TestOpenAPICoversRoutes(t *testing.T) {
	e := newEnv(t, nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	c := e.login("radiologist1")
	r := c.do("GET", "/api/v1/openapi.json", nil, nil, nil)
	if r.StatusCode != 200 {
		t.Fatalf("openapi.json: %d", r.StatusCode)
	}
	if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	routes := e.srv.Engine().Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes", len(routes))
	}
	documented := map[string]bool{}
	for _, rt := range routes {
		p := openapiPath(rt.Path)
		ops := doc.Paths[p]
		raw, ok := ops[strings.ToLower(rt.Method)]
		var op map[string]any
		if ok {
			ok = json.Unmarshal(raw, &op) == nil
		}
		if !ok {
			t.Errorf("route %s %s is not in openapi.json (as %s)", rt.Method, rt.Path, p)
			continue
		}
		documented[strings.ToLower(rt.Method)+" "+p] = true
		if _, ok := op["responses"]; !ok {
			t.Errorf("%s %s: no responses", rt.Method, p)
		}
	}
	// And nothing documented that the router does not serve.
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "servers" || m == "parameters" {
				continue
			}
			if !documented[m+" "+p] {
				t.Errorf("openapi.json documents %s %s, which no route serves", strings.ToUpper(m), p)
			}
		}
	}
}
