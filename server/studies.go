package server

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
)

func (s *Server) studyRoutes(api *gin.RouterGroup) {
	read := s.RequireRole(auth.RoleRadiologist, auth.RoleQALead)
	api.GET("/studies/:studyUID", read, s.studyDetail)
	api.GET("/studies/:studyUID/instances/:sopUID/file", read, s.instanceFile)
	api.GET("/studies/:studyUID/instances/:sopUID/preview", read, s.instancePreview)
	api.POST("/studies/:studyUID/frontal", s.RequireRole(auth.RoleRadiologist), s.chooseFrontal)
}

type orderJSON struct {
	ID               int64  `json:"id"`
	AccessionNumber  string `json:"accession_number"`
	StudyUID         string `json:"study_uid"`
	OrderControl     string `json:"order_control"`
	Cancelled        bool   `json:"cancelled"`
	Indication       string `json:"indication"`
	IndicationSource string `json:"indication_source"`
	ProcedureText    string `json:"procedure_text"`
	Version          int    `json:"version"`
}

type indicationJSON struct {
	Text           string `json:"text"`
	Source         string `json:"source"`
	OrderID        int64  `json:"order_id,omitempty"`
	OrderCancelled bool   `json:"order_cancelled"`
}

type studyJSON struct {
	*drafts.StudyDetail
	Order      *orderJSON     `json:"order"`
	Indication indicationJSON `json:"indication"`
}

func (s *Server) studyDetail(c *gin.Context) {
	uid := c.Param("studyUID")
	d, err := s.cfg.Store.StudyDetail(c.Request.Context(), uid)
	if errors.Is(err, drafts.ErrStudyNotFound) {
		WriteError(c, http.StatusNotFound, "not_found", "no such study")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "study.view", uid, "study:"+uid, nil) {
		return
	}
	out := studyJSON{StudyDetail: d, Indication: indicationJSON{Text: d.Indication.Text, Source: d.Indication.Source,
		OrderID: d.Indication.OrderID, OrderCancelled: d.Indication.OrderCancelled}}
	if o := d.Order; o != nil {
		out.Order = &orderJSON{ID: o.ID, AccessionNumber: o.AccessionNumber, StudyUID: o.StudyUID, OrderControl: o.OrderControl,
			Cancelled: o.Cancelled, Indication: o.Indication, IndicationSource: o.IndicationSource,
			ProcedureText: o.ProcedureText, Version: o.Version}
	}
	c.JSON(http.StatusOK, out)
}

// instancePath finds an instance of the study and its file inside the
// storage directory.
func (s *Server) instancePath(c *gin.Context) (*drafts.InstanceDetail, string, bool) {
	in, err := s.cfg.Store.Instance(c.Request.Context(), c.Param("studyUID"), c.Param("sopUID"))
	if errors.Is(err, drafts.ErrNoInstance) {
		WriteError(c, http.StatusNotFound, "not_found", "no such instance in this study")
		return nil, "", false
	}
	if err != nil {
		s.internalError(c, err)
		return nil, "", false
	}
	rel := filepath.Clean(filepath.FromSlash(in.Path))
	if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		s.internalError(c, fmt.Errorf("instance path escapes the storage dir"))
		return nil, "", false
	}
	return in, filepath.Join(s.cfg.StorageDir, rel), true
}

// instanceFile answers the Part 10 file (application/dicom).
func (s *Server) instanceFile(c *gin.Context) {
	in, path, ok := s.instancePath(c)
	if !ok {
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		WriteError(c, http.StatusGone, "file_missing", "the stored file is missing")
		return
	}
	if err != nil {
		s.internalError(c, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "instance.view_file", in.StudyUID, "instance:"+in.SOPInstanceUID, nil) {
		return
	}
	c.Header("Content-Type", "application/dicom")
	c.Header("Content-Disposition", `inline; filename="`+in.SOPInstanceUID+`.dcm"`)
	http.ServeContent(c.Writer, c.Request, "", fi.ModTime(), f)
}

// instancePreview renders the instance: ?format=png|jpeg&wc=&ww=&size=&invert=1
func (s *Server) instancePreview(c *gin.Context) {
	if s.cfg.Render == nil {
		WriteError(c, http.StatusNotImplemented, "no_renderer", "previews are not available on this server")
		return
	}
	var o RenderOptions
	format := c.DefaultQuery("format", "png")
	if format != "png" && format != "jpeg" {
		WriteError(c, http.StatusBadRequest, "bad_request", "format must be png or jpeg")
		return
	}
	parse := func(name string, dst *float64) bool {
		if v := c.Query(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				WriteError(c, http.StatusBadRequest, "bad_request", name+" must be a number")
				return false
			}
			*dst = f
		}
		return true
	}
	if !parse("wc", &o.Center) || !parse("ww", &o.Width) {
		return
	}
	if o.Width < 0 {
		WriteError(c, http.StatusBadRequest, "bad_request", "ww must not be negative")
		return
	}
	o.MaxSize = 1024
	if v := c.Query("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 16 || n > 4096 {
			WriteError(c, http.StatusBadRequest, "bad_request", "size must be 16..4096")
			return
		}
		o.MaxSize = n
	}
	o.Invert = c.Query("invert") == "1" || c.Query("invert") == "true"
	in, path, ok := s.instancePath(c)
	if !ok {
		return
	}
	key := fmt.Sprintf("%s|%s|%g|%g|%d|%t", in.SOPInstanceUID, format, o.Center, o.Width, o.MaxSize, o.Invert)
	body, hit := s.preview.get(key)
	if !hit {
		img, err := s.cfg.Render(c.Request.Context(), path, o)
		if err != nil {
			s.log.Warn("preview render failed", "err", err)
			WriteError(c, http.StatusUnprocessableEntity, "render_failed", "this image could not be rendered")
			return
		}
		var buf bytes.Buffer
		if format == "png" {
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
		} else {
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
		}
		if err != nil {
			s.internalError(c, err)
			return
		}
		body = buf.Bytes()
		s.preview.put(key, body)
	}
	if !s.auditOr500(c, "instance.view_preview", in.StudyUID, "instance:"+in.SOPInstanceUID, map[string]any{"cached": hit}) {
		return
	}
	c.Header("X-Preview-Cache", map[bool]string{true: "hit", false: "miss"}[hit])
	c.Data(http.StatusOK, "image/"+format, body)
}

// previewCache is an LRU of encoded previews bounded in bytes.
type previewCache struct {
	mu    sync.Mutex
	max   int
	size  int
	ll    *list.List
	items map[string]*list.Element
}

type previewEntry struct {
	key  string
	body []byte
}

func newPreviewCache(max int) *previewCache {
	return &previewCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (p *previewCache) get(key string) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.items[key]; ok {
		p.ll.MoveToFront(e)
		return e.Value.(*previewEntry).body, true
	}
	return nil, false
}

func (p *previewCache) put(key string, body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(body) > p.max {
		return
	}
	if e, ok := p.items[key]; ok {
		p.size -= len(e.Value.(*previewEntry).body)
		p.ll.Remove(e)
	}
	p.items[key] = p.ll.PushFront(&previewEntry{key, body})
	p.size += len(body)
	for p.size > p.max {
		e := p.ll.Back()
		pe := e.Value.(*previewEntry)
		p.ll.Remove(e)
		delete(p.items, pe.key)
		p.size -= len(pe.body)
	}
}

type chooseFrontalRequest struct {
	SOPInstanceUID string `json:"sop_instance_uid"`
}

// chooseFrontal: a radiologist picks the frontal image (the study becomes
// ready and is drafted again from it; drafts.Store.ChooseFrontal).
func (s *Server) chooseFrontal(c *gin.Context) {
	var req chooseFrontalRequest
	if !bindJSON(c, &req) {
		return
	}
	uid := c.Param("studyUID")
	err := s.cfg.Store.ChooseFrontal(c.Request.Context(), uid, req.SOPInstanceUID, CurrentUser(c).Username, c.ClientIP())
	switch {
	case errors.Is(err, drafts.ErrStudyNotFound):
		WriteError(c, http.StatusNotFound, "not_found", "no such study")
	case errors.Is(err, drafts.ErrInstanceNotInStudy):
		WriteError(c, http.StatusUnprocessableEntity, "not_in_study", "that instance is not part of this study")
	case errors.Is(err, drafts.ErrNotAnImage):
		WriteError(c, http.StatusUnprocessableEntity, "not_an_image", "that instance has no pixels (a report, key-object selection or presentation state)")
	case errors.Is(err, drafts.ErrStudyState):
		WriteError(c, http.StatusConflict, "study_state", "the study's images are still arriving or being drafted")
	case err != nil:
		s.internalError(c, err)
	default:
		c.JSON(http.StatusOK, gin.H{"study_uid": uid, "frontal_sop_instance_uid": req.SOPInstanceUID})
	}
}
