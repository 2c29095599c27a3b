package server

import (
	"encoding/json"
	"io"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func jsonEncoder(w io.Writer) *json.Encoder {
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	return e
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
