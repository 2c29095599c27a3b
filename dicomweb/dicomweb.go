// Package dicomweb is radraft's DICOMweb service (PS3.18) under /dicomweb:
// QIDO-RS searches over the index that DICOM ingest fills, WADO-RS
// retrieval of the stored Part 10 files (instances, metadata, frames,
// rendered images), and STOW-RS ingest through the same code path as
// C-STORE (dicom/scp's Ingest: the same durability, validation, duplicate,
// view and drafting rules).
//
// It owns the PS3.18 wire formats (query parameters and matching,
// application/dicom+json, multipart/related); authentication, roles and
// the audit log come from the server that mounts it (Routes).
//
// Retrieval streams files from disk with io.Copy; STOW-RS streams each part
// into the storage (one copy buffer per request): neither ever holds an
// instance in memory, except the frames and bulk data routes, which parse
// the one file they answer from.
package dicomweb

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/dicom/match"
	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/drafts"
)

// Ingester stores one dataset as a C-STORE would (*scp.Server).
type Ingester interface {
	Ingest(r io.Reader, sopClass, sopInst, ts string, o scp.Origin) (uint16, string, error)
}

// Service answers the DICOMweb routes.
type Service struct {
	Store      *drafts.Store
	StorageDir string
	// Ingest receives STOW-RS instances; nil answers STOW with 503 (this
	// node runs no DICOM listener, and one storage tree has one writer).
	Ingest Ingester
	Logger *slog.Logger
}

// Mount is how the server lends its authentication and audit log.
type Mount struct {
	// Group is /dicomweb behind authentication.
	Group *gin.RouterGroup
	// Read guards searches and retrieval, Write guards STOW-RS.
	Read, Write gin.HandlerFunc
	// Audit records an access to PHI; false means it failed and the request
	// was answered (500).
	Audit func(c *gin.Context, action, studyUID, objectRef string) bool
	// Actor is the authenticated user's name (recorded as an instance's origin).
	Actor func(c *gin.Context) string
}

// Routes registers the PS3.18 routes on m.
func (s *Service) Routes(m Mount) {
	h := &handlers{s: s, m: m}
	g, r := m.Group, m.Read
	// QIDO-RS
	g.GET("/studies", r, h.searchStudies)
	g.GET("/series", r, h.searchSeries)
	g.GET("/instances", r, h.searchInstances)
	g.GET("/studies/:study/series", r, h.searchSeries)
	g.GET("/studies/:study/instances", r, h.searchInstances)
	g.GET("/studies/:study/series/:series/instances", r, h.searchInstances)
	// WADO-RS
	g.GET("/studies/:study", r, h.retrieve)
	g.GET("/studies/:study/series/:series", r, h.retrieve)
	g.GET("/studies/:study/series/:series/instances/:instance", r, h.retrieve)
	g.GET("/studies/:study/metadata", r, h.metadata)
	g.GET("/studies/:study/series/:series/metadata", r, h.metadata)
	g.GET("/studies/:study/series/:series/instances/:instance/metadata", r, h.metadata)
	g.GET("/studies/:study/series/:series/instances/:instance/frames/:frames", r, h.frames)
	g.GET("/studies/:study/series/:series/instances/:instance/rendered", r, h.rendered)
	g.GET("/studies/:study/series/:series/instances/:instance/bulkdata/:tag", r, h.bulkdata)
	// STOW-RS
	g.POST("/studies", m.Write, h.stow)
}

type handlers struct {
	s *Service
	m Mount
}

func (h *handlers) log() *slog.Logger {
	if h.s.Logger != nil {
		return h.s.Logger
	}
	return slog.Default()
}

// fail answers an error in the server's JSON error shape.
func fail(c *gin.Context, status int, code, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": gin.H{"code": code, "message": msg}})
}

func (h *handlers) internal(c *gin.Context, err error) {
	if errors.Is(err, context.Canceled) {
		c.Abort()
		return
	}
	h.log().Error("dicomweb: request failed", "route", c.FullPath(), "err", err)
	fail(c, http.StatusInternalServerError, "internal", "internal error")
}

// baseURL is this service's absolute URL as the client reached it.
func baseURL(c *gin.Context) string {
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host + "/dicomweb"
}

func studyURL(base, study string) string { return base + "/studies/" + study }
func seriesURL(base, study, series string) string {
	return studyURL(base, study) + "/series/" + series
}
func instanceURL(base string, i *drafts.ArchiveInstance) string {
	return seriesURL(base, i.StudyUID, i.SeriesUID) + "/instances/" + i.SOPInstanceUID
}

// path is an instance's file, refusing anything that would leave the tree.
func (s *Service) path(i *drafts.ArchiveInstance) (string, error) {
	rel := filepath.Clean(i.Path)
	if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", errors.New("dicomweb: instance path outside the storage")
	}
	return filepath.Join(s.StorageDir, rel), nil
}

// pathQuery is the selection a WADO/QIDO path names.
func pathQuery(c *gin.Context) (drafts.ArchiveQuery, bool) {
	var q drafts.ArchiveQuery
	for _, p := range []struct {
		name string
		dst  *[]string
	}{{"study", &q.StudyUIDs}, {"series", &q.SeriesUIDs}, {"instance", &q.SOPInstanceUIDs}} {
		if v := c.Param(p.name); v != "" {
			if !match.UIDLike(v) {
				fail(c, http.StatusBadRequest, "bad_request", "invalid UID in the path")
				return q, false
			}
			*p.dst = []string{v}
		}
	}
	return q, true
}
