package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/auth"
)

func (s *Server) orderRoutes(api *gin.RouterGroup) {
	api.GET("/orders/attention", s.RequireRole(auth.RoleAdmin, auth.RoleRadiologist, auth.RoleQALead), s.ordersAttention)
	api.GET("/studies/:studyUID/priors", s.RequireRole(auth.RoleRadiologist, auth.RoleQALead), s.studyPriors)
}

// ordersAttention: GET /api/v1/orders/attention?min_age=10m&limit=100
// lists orders that matched no study for min_age, and studies drafted
// without an indication although an order for their patient exists.
func (s *Server) ordersAttention(c *gin.Context) {
	minAge := 10 * time.Minute
	if v := c.Query("min_age"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			WriteError(c, http.StatusBadRequest, "bad_request", "min_age must be a duration such as 10m")
			return
		}
		minAge = d
	}
	limit := 100
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			WriteError(c, http.StatusBadRequest, "bad_request", "limit must be 1..500")
			return
		}
		limit = n
	}
	res, err := s.cfg.Store.OrdersNeedingAttention(c.Request.Context(), minAge, limit)
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "orders.attention.view", "", "", map[string]any{
		"unmatched": len(res.UnmatchedOrders), "no_indication": len(res.NoIndication)}) {
		return
	}
	c.JSON(http.StatusOK, res)
}

// studyPriors: GET /api/v1/studies/{studyUID}/priors: the patient's other
// studies (same Patient ID or order MRN) with their signed reports.
func (s *Server) studyPriors(c *gin.Context) {
	uid := c.Param("studyUID")
	priors, err := s.cfg.Store.Priors(c.Request.Context(), uid)
	if err != nil {
		s.internalError(c, err)
		return
	}
	if !s.auditOr500(c, "study.priors.view", uid, "study:"+uid, map[string]any{"rows": len(priors)}) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": priors})
}
