package server

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"sort"

	"github.com/gin-gonic/gin"
)

// openapiFiles holds the hand-written OpenAPI 3 document (openapi.json) and
// the fragments of other files of this package (<part>_openapi.json, e.g.
// qa_openapi.json): their "paths" (relative to /api/v1) and
// "components.schemas" are merged into the document served at
// /api/v1/openapi.json. TestOpenAPICoversRoutes checks that every route of
// the router is documented; TestWebOpenAPIMatchesServed that web/openapi.json,
// from which the UI generates its API types, is this merged document.
//
//go:embed *openapi.json
var openapiFiles embed.FS

// openapiDoc is the merged document (built once).
var openapiDoc = mustMergeOpenAPI()

func mustMergeOpenAPI() []byte {
	b, err := mergeOpenAPI(openapiFiles)
	if err != nil {
		panic("server: openapi: " + err.Error())
	}
	return b
}

func mergeOpenAPI(fsys fs.FS) ([]byte, error) {
	main, err := fs.ReadFile(fsys, "openapi.json")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(main, &doc); err != nil {
		return nil, err
	}
	names, _ := fs.Glob(fsys, "*_openapi.json")
	sort.Strings(names)
	paths, _ := doc["paths"].(map[string]any)
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		var frag map[string]any
		if err := json.Unmarshal(b, &frag); err != nil {
			return nil, err
		}
		if fp, ok := frag["paths"].(map[string]any); ok {
			for p, item := range fp {
				ops, _ := item.(map[string]any)
				cur, _ := paths[p].(map[string]any)
				if cur == nil {
					cur = map[string]any{}
					paths[p] = cur
				}
				for m, o := range ops {
					cur[m] = o
				}
			}
		}
		if fc, ok := frag["components"].(map[string]any); ok {
			if fs, ok := fc["schemas"].(map[string]any); ok && schemas != nil {
				for k, v := range fs {
					schemas[k] = v
				}
			}
		}
	}
	return json.Marshal(doc)
}

func (s *Server) openapi(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openapiDoc)
}
