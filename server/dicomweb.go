package server

import (
	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/auth"
)

// DICOMwebMount lends the DICOMweb service (package dicomweb, wired by
// cmd) the server's authentication, roles and audit log: Group is
// /dicomweb behind the same authentication as /api/v1 (API tokens, or a
// session with CSRF on writes). Read is the role check of searches and
// retrieval (radiologist, qa_lead: as the study routes); Write that of
// STOW-RS (radiologist, and admin for integration accounts that push).
type DICOMwebMount struct {
	Group       *gin.RouterGroup
	Read, Write gin.HandlerFunc
	// Audit records an access; false means it failed and 500 was answered.
	Audit func(c *gin.Context, action, studyUID, objectRef string) bool
	Actor func(c *gin.Context) string
}

func (s *Server) mountDICOMweb(e *gin.Engine) {
	if s.cfg.DICOMweb == nil {
		return
	}
	s.cfg.DICOMweb(DICOMwebMount{
		Group: e.Group("/dicomweb", s.authenticate),
		Read:  s.RequireRole(auth.RoleRadiologist, auth.RoleQALead),
		Write: s.RequireRole(auth.RoleRadiologist, auth.RoleAdmin),
		Audit: func(c *gin.Context, action, studyUID, objectRef string) bool {
			return s.auditOr500(c, action, studyUID, objectRef, nil)
		},
		Actor: func(c *gin.Context) string { return CurrentUser(c).Username },
	})
}
