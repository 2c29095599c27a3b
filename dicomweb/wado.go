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

// multipartWriter writes a multipart/related body part by part, straight
// to the response.
type multipartWriter struct {
	w        io.Writer
	boundary string
}

func startMultipart(c *gin.Context, typ string) *multipartWriter {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck
	m := &multipartWriter{w: c.Writer, boundary: "radraft-" + hex.EncodeToString(b[:])}
	c.Header("Content-Type", fmt.Sprintf(`multipart/related; type="%s"; boundary=%s`, typ, m.boundary))
	c.Status(http.StatusOK)
	return m
}

func (m *multipartWriter) part(header textproto.MIMEHeader) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\r\n--%s\r\n", m.boundary)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	_, err := io.WriteString(m.w, b.String())
	return err
}

func (m *multipartWriter) close() error {
	_, err := fmt.Fprintf(m.w, "\r\n--%s--\r\n", m.boundary)
	return err
}

// retrieve: WADO-RS study, series or instance as multipart/related;
// type="application/dicom", each file copied from disk as stored.
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
	mw := startMultipart(c, "application/dicom")
	for i := range list {
		if err := h.copyFile(mw, &list[i]); err != nil {
			// Headers are sent: the client sees a truncated body.
			h.log().Warn("dicomweb: retrieve interrupted", "err", err)
			return
		}
	}
	mw.close() //nolint:errcheck
}

func (h *handlers) copyFile(mw *multipartWriter, i *drafts.ArchiveInstance) error {
	p, err := h.s.path(i)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Type", "application/dicom; transfer-syntax="+i.TransferSyntaxUID)
	hdr.Set("Content-Length", fmt.Sprint(st.Size()))
	if err := mw.part(hdr); err != nil {
		return err
	}
	// io.Copy hands the file to the response writer's ReadFrom (sendfile
	// where the connection allows it): no copy of the file in memory.
	_, err = io.Copy(mw.w, f)
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
