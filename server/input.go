package server

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// contentSecurityPolicy lets the UI load only its own scripts, styles,
// workers and data: nothing inline, nothing from elsewhere, no framing.
// 'wasm-unsafe-eval' is what the viewer's DICOM codecs (WebAssembly) need
// to compile; blob: workers and images are how Cornerstone decodes and
// draws.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; " +
	"style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// refuseBadText answers 400 to a path or query that holds a NUL byte or is
// not UTF-8: Postgres stores neither in text, so such a value could only
// fail later as a 500.
func refuseBadText(c *gin.Context) {
	bad := badText(c.Request.URL.Path)
	for k, vs := range c.Request.URL.Query() {
		bad = bad || badText(k)
		for _, v := range vs {
			bad = bad || badText(v)
		}
	}
	if bad {
		WriteError(c, http.StatusBadRequest, "bad_request", "the path or query holds a NUL byte or is not UTF-8")
		return
	}
	c.Next()
}

func badText(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }

// bindJSON decodes a strict JSON body into v; it answers 415 when a body is
// not declared application/json, and 400 when there is none, it does not
// decode, or a string in it holds a NUL character.
func bindJSON(c *gin.Context, v any) bool {
	if c.Request.ContentLength != 0 && c.ContentType() != "application/json" {
		WriteError(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as Content-Type: application/json")
		return false
	}
	dec := jsonDecoder(c.Request.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteError(c, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body over %d bytes", tooBig.Limit))
			return false
		}
		WriteError(c, http.StatusBadRequest, "bad_request", "request body is not the expected JSON")
		return false
	}
	if holdsNUL(reflect.ValueOf(v)) {
		WriteError(c, http.StatusBadRequest, "bad_request", "request body holds a NUL character")
		return false
	}
	return true
}

// holdsNUL reports whether any string reachable from v contains NUL.
func holdsNUL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.IndexByte(v.String(), 0) >= 0
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && holdsNUL(v.Elem())
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if holdsNUL(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if holdsNUL(it.Key()) || holdsNUL(it.Value()) {
				return true
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && holdsNUL(v.Field(i)) {
				return true
			}
		}
	}
	return false
}
