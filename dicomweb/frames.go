package dicomweb

import (
	"fmt"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/pixels"
	"github.com/radraft/radraft/drafts"
)

// frameMediaTypes: the media type of a frame of an encapsulated transfer
// syntax (PS3.18 8.7.3.5.2); native frames are application/octet-stream.
var frameMediaTypes = map[string]string{
	dicom.JPEGBaseline: "image/jpeg", "1.2.840.10008.1.2.4.51": "image/jpeg", "1.2.840.10008.1.2.4.57": "image/jpeg",
	dicom.JPEGLossless: "image/jpeg", dicom.JPEGLSLossless: "image/jls", dicom.JPEGLSNearLossless: "image/jls",
	dicom.JPEG2000Lossless: "image/jp2", dicom.JPEG2000: "image/jp2", dicom.RLELossless: "image/dicom-rle",
}

// frameData returns the frames of an instance's pixel data: slices of the
// raw value for native data, the fragments for encapsulated data.
func (h *handlers) frameData(i *drafts.ArchiveInstance) ([][]byte, error) {
	ds, err := h.parseFile(i, true)
	if err != nil {
		return nil, err
	}
	el, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		return nil, errNoPixels
	}
	info, ok := el.Value.GetValue().(sdicom.PixelDataInfo)
	if !ok {
		return nil, errNoPixels
	}
	if info.IntentionallyUnprocessed {
		n := 1
		if v := intOf(&ds, tag.NumberOfFrames); v > 0 {
			n = v
		}
		raw := info.UnprocessedValueData
		size := len(raw) / n
		if size == 0 {
			return nil, errNoPixels
		}
		out := make([][]byte, n)
		for k := range out {
			out[k] = raw[k*size : (k+1)*size]
		}
		return out, nil
	}
	var out [][]byte
	for _, f := range info.Frames {
		if f.Encapsulated {
			out = append(out, f.EncapsulatedData.Data)
		}
	}
	if len(out) == 0 {
		return nil, errNoPixels
	}
	return out, nil
}

func intOf(ds *sdicom.Dataset, t tag.Tag) int {
	el, err := ds.FindElementByTag(t)
	if err != nil || el.Value == nil {
		return 0
	}
	switch v := el.Value.GetValue().(type) {
	case []int:
		if len(v) > 0 {
			return v[0]
		}
	case []string:
		if len(v) > 0 {
			n, _ := strconv.Atoi(strings.TrimSpace(v[0]))
			return n
		}
	}
	return 0
}

// frameList parses "1,3,5" (1-based frame numbers).
func frameList(s string) ([]int, bool) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || len(out) >= 1000 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, len(out) > 0
}

// frames: WADO-RS frames as multipart/related, one part per frame asked for.
func (h *handlers) frames(c *gin.Context) {
	nums, ok := frameList(c.Param("frames"))
	if !ok {
		fail(c, http.StatusBadRequest, "bad_request", "frames must be a comma list of frame numbers from 1")
		return
	}
	list, ok := h.instances(c, "dicomweb.retrieve")
	if !ok {
		return
	}
	i := &list[0]
	mt, encapsulated := frameMediaTypes[i.TransferSyntaxUID]
	if !encapsulated {
		mt = "application/octet-stream"
	}
	if ok, _ := accepts(c, "multipart/related", mt); !ok {
		fail(c, http.StatusNotAcceptable, "not_acceptable", fmt.Sprintf(`this instance's frames are served as multipart/related; type="%s"`, mt))
		return
	}
	data, err := h.frameData(i)
	if err == errNoPixels {
		fail(c, http.StatusNotFound, "not_found", "the instance has no pixel data")
		return
	}
	if err != nil {
		h.internal(c, err)
		return
	}
	for _, n := range nums {
		if n > len(data) {
			fail(c, http.StatusNotFound, "not_found", fmt.Sprintf("the instance has %d frame(s)", len(data)))
			return
		}
	}
	mw := startMultipart(c, mt)
	for _, n := range nums {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Type", mt+"; transfer-syntax="+i.TransferSyntaxUID)
		hdr.Set("Content-Length", strconv.Itoa(len(data[n-1])))
		if mw.part(hdr) != nil {
			return
		}
		if _, err := c.Writer.Write(data[n-1]); err != nil {
			return
		}
	}
	mw.close() //nolint:errcheck
}

// rendered: WADO-RS rendered instance as image/jpeg (default) or image/png,
// drawn by the viewer's renderer. Query: window=center,width[,function],
// viewport=width,height (bounds the longer side), quality=1..100 (JPEG).
func (h *handlers) rendered(c *gin.Context) {
	o := pixels.RenderOptions{}
	if w := c.Query("window"); w != "" {
		p := strings.Split(w, ",")
		ctr, err1 := strconv.ParseFloat(strings.TrimSpace(p[0]), 64)
		var wid float64
		var err2 error = fmt.Errorf("missing width")
		if len(p) > 1 {
			wid, err2 = strconv.ParseFloat(strings.TrimSpace(p[1]), 64)
		}
		if err1 != nil || err2 != nil || wid <= 0 || len(p) > 2 && strings.TrimSpace(p[2]) != "linear" {
			fail(c, http.StatusBadRequest, "bad_request", "window must be center,width[,linear] with width > 0")
			return
		}
		o.WindowCenter, o.WindowWidth = ctr, wid
	}
	if v := c.Query("viewport"); v != "" {
		for _, p := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 1 || n > 16384 {
				fail(c, http.StatusBadRequest, "bad_request", "viewport must be width,height in pixels")
				return
			}
			o.MaxSize = max(o.MaxSize, n)
		}
	}
	quality := 90
	if v := c.Query("quality"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fail(c, http.StatusBadRequest, "bad_request", "quality must be 1..100")
			return
		}
		quality = n
	}
	asPNG := false
	if ok, _ := accepts(c, "image/jpeg", ""); !ok {
		if ok, _ = accepts(c, "image/png", ""); !ok {
			fail(c, http.StatusNotAcceptable, "not_acceptable", "rendered images are image/jpeg or image/png")
			return
		}
		asPNG = true
	}
	list, ok := h.instances(c, "dicomweb.rendered")
	if !ok {
		return
	}
	p, err := h.s.path(&list[0])
	if err != nil {
		h.internal(c, err)
		return
	}
	img, err := pixels.RenderFile(p, o)
	if err != nil {
		fail(c, http.StatusNotFound, "not_renderable", "the instance cannot be rendered")
		return
	}
	if asPNG {
		c.Header("Content-Type", "image/png")
		c.Status(http.StatusOK)
		png.Encode(c.Writer, img) //nolint:errcheck
		return
	}
	c.Header("Content-Type", "image/jpeg")
	c.Status(http.StatusOK)
	jpeg.Encode(c.Writer, img, &jpeg.Options{Quality: quality}) //nolint:errcheck
}

// bulkdata: the value of one top-level binary attribute (a metadata
// BulkDataURI), as multipart/related; type="application/octet-stream".
// Pixel data comes as its frames.
func (h *handlers) bulkdata(c *gin.Context) {
	t := strings.ToUpper(c.Param("tag"))
	if len(t) != 8 || strings.Trim(t, "0123456789ABCDEF") != "" {
		fail(c, http.StatusBadRequest, "bad_request", "bulk data is named by its tag, GGGGEEEE")
		return
	}
	list, ok := h.instances(c, "dicomweb.retrieve")
	if !ok {
		return
	}
	var parts [][]byte
	if t == "7FE00010" {
		var err error
		if parts, err = h.frameData(&list[0]); err != nil {
			fail(c, http.StatusNotFound, "not_found", "no such bulk data")
			return
		}
	} else {
		ds, err := h.parseFile(&list[0], false)
		if err != nil {
			h.internal(c, err)
			return
		}
		g, _ := strconv.ParseUint(t[:4], 16, 16)
		e, _ := strconv.ParseUint(t[4:], 16, 16)
		el, err := ds.FindElementByTag(tag.Tag{Group: uint16(g), Element: uint16(e)})
		b, isBytes := []byte(nil), false
		if err == nil && el.Value != nil {
			b, isBytes = el.Value.GetValue().([]byte)
		}
		if !isBytes {
			fail(c, http.StatusNotFound, "not_found", "no such bulk data")
			return
		}
		parts = [][]byte{b}
	}
	mw := startMultipart(c, "application/octet-stream")
	for _, b := range parts {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Type", "application/octet-stream")
		hdr.Set("Content-Length", strconv.Itoa(len(b)))
		if mw.part(hdr) != nil {
			return
		}
		if _, err := c.Writer.Write(b); err != nil {
			return
		}
	}
	mw.close() //nolint:errcheck
}
