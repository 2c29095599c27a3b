package dicomweb

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/radraft/radraft/drafts"
)

// instances looks up what a WADO path names; none answers 404.
func (h *handlers) instances(c *gin.Context, action string) ([]drafts.ArchiveInstance, bool) {
	q, ok := pathQuery(c)
	if !ok {
		return nil, false
	}
	list, err := h.s.Store.SearchInstances(c.Request.Context(), q)
	if err != nil {
		h.internal(c, err)
		return nil, false
	}
	if len(list) == 0 {
		fail(c, http.StatusNotFound, "not_found", "no such study, series or instance")
		return nil, false
	}
	ref := "study:" + c.Param("study")
	if s := c.Param("instance"); s != "" {
		ref = "instance:" + s
	} else if s := c.Param("series"); s != "" {
		ref = "series:" + s
	}
	return list, h.m.Audit(c, action, c.Param("study"), ref)
}

// accepts reports whether the Accept header allows media type mt (with
// parameter type=typ for multipart/related), and the transfer syntax it
// asks for ("" or "*" = as stored).
func accepts(c *gin.Context, mt, typ string) (ok bool, ts string) {
	accept := c.GetHeader("Accept")
	if accept == "" {
		return true, ""
	}
	for _, part := range strings.Split(accept, ",") {
		m, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch {
		case m == "*/*" || m == "multipart/*":
			return true, ""
		case m == mt && (typ == "" || params["type"] == "" || params["type"] == typ):
			return true, params["transfer-syntax"]
		}
	}
	return false, ""
}

// multipartWriter frames a multipart/related body.
type multipartWriter struct {
	w        io.Writer // where part and close write (streamed bodies)
	typ      string
	boundary string
}

func newMultipart(typ string) *multipartWriter {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck
	return &multipartWriter{typ: typ, boundary: "radraft-" + hex.EncodeToString(b[:])}
}

func (m *multipartWriter) contentType() string {
	return fmt.Sprintf(`multipart/related; type="%s"; boundary=%s`, m.typ, m.boundary)
}

// startMultipart answers 200 with a streamed (chunked) multipart body.
func startMultipart(c *gin.Context, typ string) *multipartWriter {
	m := newMultipart(typ)
	m.w = c.Writer
	c.Header("Content-Type", m.contentType())
	c.Status(http.StatusOK)
	return m
}

func (m *multipartWriter) partHeader(header textproto.MIMEHeader) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "\r\n--%s\r\n", m.boundary)
	for _, k := range []string{"Content-Type", "Content-Length"} {
		for _, v := range header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func (m *multipartWriter) closing() string { return "\r\n--" + m.boundary + "--\r\n" }

func (m *multipartWriter) part(header textproto.MIMEHeader) error {
	_, err := m.w.Write(m.partHeader(header))
	return err
}

func (m *multipartWriter) close() error {
	_, err := io.WriteString(m.w, m.closing())
	return err
}

// retrieve: WADO-RS study, series or instance as multipart/related;
// type="application/dicom", each file copied from disk as stored. The
// body's length is known in advance (the files are stat'ed first), so the
// response goes out with a Content-Length and each file is handed to the
// connection's ReadFrom: sendfile(2) on plain HTTP, no copy in user space.
func (h *handlers) retrieve(c *gin.Context) {
	ok, ts := accepts(c, "multipart/related", "application/dicom")
	if !ok {
		fail(c, http.StatusNotAcceptable, "not_acceptable", `only multipart/related; type="application/dicom" is served here`)
		return
	}
	list, ok := h.instances(c, "dicomweb.retrieve")
	if !ok {
		return
	}
	if ts != "" && ts != "*" {
		for _, i := range list {
			if i.TransferSyntaxUID != ts {
				fail(c, http.StatusNotAcceptable, "not_acceptable", "radraft serves instances in the transfer syntax they were received in; ask with transfer-syntax=*")
				return
			}
		}
	}
	mw := newMultipart("application/dicom")
	parts := make([]filePart, 0, len(list))
	total := int64(len(mw.closing()))
	for n := range list {
		fp, err := h.s.filePart(mw, &list[n])
		if err != nil {
			h.internal(c, err)
			return
		}
		parts = append(parts, fp)
		total += int64(len(fp.header)) + fp.size
	}
	c.Header("Content-Type", mw.contentType())
	c.Header("Content-Length", strconv.FormatInt(total, 10))
	c.Status(http.StatusOK)
	c.Writer.WriteHeaderNow()
	// net/http's own writer: its ReadFrom sends files with sendfile.
	var w io.Writer = c.Writer
	if u, ok := c.Writer.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	for _, fp := range parts {
		if err := fp.copyTo(w); err != nil {
			// Headers are sent: the client sees a short body and knows.
			h.log().Warn("dicomweb: retrieve interrupted", "err", err)
			return
		}
	}
	io.WriteString(w, mw.closing()) //nolint:errcheck
}

// filePart is one stored file as a part of a multipart body.
type filePart struct {
	path   string
	size   int64
	header []byte
}

func (s *Service) filePart(mw *multipartWriter, i *drafts.ArchiveInstance) (filePart, error) {
	p, err := s.path(i)
	if err != nil {
		return filePart{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return filePart{}, err
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Type", "application/dicom; transfer-syntax="+i.TransferSyntaxUID)
	hdr.Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	return filePart{path: p, size: st.Size(), header: mw.partHeader(hdr)}, nil
}

// copyTo writes the part: exactly the announced size.
func (fp *filePart) copyTo(w io.Writer) error {
	f, err := os.Open(fp.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := w.Write(fp.header); err != nil {
		return err
	}
	// io.Copy hands the *os.File to w's ReadFrom; LimitReader would hide it.
	n, err := io.Copy(w, f)
	if err == nil && n != fp.size {
		err = fmt.Errorf("dicomweb: %s changed size while being sent", filepath.Base(fp.path))
	}
	return err
}

// parseFile parses a stored file; withPixels reads the pixel data raw
// (frames, bulk data) instead of skipping it (metadata).
func (h *handlers) parseFile(i *drafts.ArchiveInstance, withPixels bool) (sdicom.Dataset, error) {
	p, err := h.s.path(i)
	if err != nil {
		return sdicom.Dataset{}, err
	}
	opts := []sdicom.ParseOption{sdicom.AllowUnknownSpecificCharacterSet()}
	if withPixels {
		opts = append(opts, sdicom.SkipProcessingPixelDataValue())
	} else {
		opts = append(opts, sdicom.SkipPixelData())
	}
	return parseGuarded(p, opts)
}

// parseGuarded parses a file, turning a parser panic into an error.
func parseGuarded(path string, opts []sdicom.ParseOption) (ds sdicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("dicomweb: parser failed: %v", r)
		}
	}()
	return sdicom.ParseFile(path, nil, opts...)
}

// metadata: WADO-RS metadata as application/dicom+json, one dataset per
// instance, written as each file is read; binary values over 1 KiB (pixel
// data included) by BulkDataURI.
func (h *handlers) metadata(c *gin.Context) {
	if ok, _ := accepts(c, "application/dicom+json", ""); !ok {
		if ok2, _ := accepts(c, "application/json", ""); !ok2 {
			fail(c, http.StatusNotAcceptable, "not_acceptable", "metadata is served as application/dicom+json")
			return
		}
	}
	list, ok := h.instances(c, "dicomweb.metadata")
	if !ok {
		return
	}
	base := baseURL(c)
	c.Header("Content-Type", "application/dicom+json")
	c.Status(http.StatusOK)
	enc := json.NewEncoder(c.Writer)
	io.WriteString(c.Writer, "[") //nolint:errcheck
	wrote := 0
	for n := range list {
		i := &list[n]
		ds, err := h.parseFile(i, false)
		if err != nil {
			h.log().Warn("dicomweb: metadata of an unreadable file", "err", err)
			continue
		}
		if wrote++; wrote > 1 {
			io.WriteString(c.Writer, ",") //nolint:errcheck
		}
		url := instanceURL(base, i)
		if err := enc.Encode(fromDataset(ds.Elements, func(t tag.Tag) string {
			return fmt.Sprintf("%s/bulkdata/%04X%04X", url, t.Group, t.Element)
		})); err != nil {
			return
		}
	}
	io.WriteString(c.Writer, "]") //nolint:errcheck
}

// errNoPixels says an instance has no pixel data to answer from.
var errNoPixels = errors.New("dicomweb: no pixel data")
