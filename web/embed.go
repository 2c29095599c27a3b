// Package web holds the review UI: TypeScript sources built by npm (Vite)
// into dist/, which this package embeds for the server to serve at "/".
//
// dist/ is built, not committed (see README.md); a fresh checkout holds only
// the placeholder dist/.gitkeep-README so that `go build` works before
// `npm run build` has run. Built reports whether the real UI is present.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Placeholder is the file that keeps dist/ non-empty in a fresh checkout.
const Placeholder = ".gitkeep-README"

// Assets returns the built UI (index.html, assets/...) rooted at dist/.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: dist is embedded
	}
	return sub
}

// Built reports whether dist/ holds a built UI (index.html), as opposed to
// only the placeholder of a checkout where `npm run build` has not run.
func Built() bool {
	_, err := fs.Stat(Assets(), "index.html")
	return err == nil
}
