package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/gin-gonic/gin"
)

// webOpenAPI is the copy of the served document that the web build
// generates its API types from (web/src/api.gen.ts, by openapi-typescript).
var webOpenAPI = filepath.Join("..", "web", "openapi.json")

// TestWebOpenAPIMatchesServed fails when web/openapi.json differs from the
// document the server serves at /api/v1/openapi.json, so the UI's generated
// types cannot drift from the API. RADRAFT_UPDATE_OPENAPI=1 rewrites it:
//
//	RADRAFT_UPDATE_OPENAPI=1 go test ./server -run TestWebOpenAPIMatchesServed
func TestWebOpenAPIMatchesServed(t *testing.T) {
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	(&Server{}).openapi(c)
	if rec.Code != http.StatusOK {
		t.Fatalf("openapi: %d", rec.Code)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, rec.Body.Bytes(), "", "  "); err != nil {
		t.Fatalf("served document is not JSON: %v", err)
	}
	pretty.WriteByte('\n')
	if os.Getenv("RADRAFT_UPDATE_OPENAPI") == "1" {
		if err := os.WriteFile(webOpenAPI, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(webOpenAPI)
	if err != nil {
		t.Fatalf("%v (write it: RADRAFT_UPDATE_OPENAPI=1 go test ./server -run %s)", err, t.Name())
	}
	if !bytes.Equal(have, pretty.Bytes()) {
		t.Fatalf("%s differs from the served /api/v1/openapi.json; rewrite it with RADRAFT_UPDATE_OPENAPI=1 go test ./server -run %s, then fix the UI's type errors (npm run build)", webOpenAPI, t.Name())
	}
}
