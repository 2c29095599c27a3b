package server

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/web"
)

// serveUI serves the embedded review UI: a file of the build when it
// exists, else index.html (SPA fallback: the client routes). Without a
// built UI it answers a short note.
func (s *Server) serveUI(c *gin.Context) {
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		WriteError(c, http.StatusNotFound, "not_found", "no such route")
		return
	}
	p := strings.TrimPrefix(path.Clean("/"+c.Request.URL.Path), "/")
	if !web.Built() {
		if isAssetPath(p) {
			WriteError(c, http.StatusNotFound, "not_found", "no such file")
			return
		}
		c.Data(http.StatusOK, "text/plain; charset=utf-8",
			[]byte("radraft: the web UI is not built (run `npm ci && npm run build` in web/); the API is at /api/v1\n"))
		return
	}
	assets := web.Assets()
	if p != "" && p != "index.html" {
		if fi, err := fs.Stat(assets, p); err == nil && !fi.IsDir() {
			if strings.HasPrefix(p, "assets/") {
				c.Header("Cache-Control", "public, max-age=31536000, immutable")
			}
			c.FileFromFS(p, http.FS(assets))
			return
		}
		if isAssetPath(p) {
			WriteError(c, http.StatusNotFound, "not_found", "no such file")
			return
		}
	}
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		s.internalError(c, err)
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/html; charset=utf-8", index)
}

// isAssetPath says whether a path names a file (a missing one is a 404)
// rather than a client route, whose last segment may be a dotted UID such as
// /studies/1.2.840...: only known file extensions count.
func isAssetPath(p string) bool {
	ext := path.Ext(p)
	return ext != "" && ext != ".html" && mime.TypeByExtension(ext) != ""
}
