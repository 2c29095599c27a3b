package server

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/drafts"
)

// reportFHIR answers the report as a FHIR R4 DiagnosticReport (JSON). An
// unsigned report is "preliminary", a signed one "final", an amended one
// "amended"; the text is the signed (or current) version.
func (s *Server) reportFHIR(c *gin.Context) {
	ctx := c.Request.Context()
	uid := c.Param("studyUID")
	r, err := s.cfg.Store.ReportForStudy(ctx, uid)
	if err != nil {
		s.reportError(c, err)
		return
	}
	st, err := s.cfg.Store.StudyDetail(ctx, uid)
	if err != nil {
		s.reportError(c, err)
		return
	}
	if !s.auditOr500(c, "report.view_fhir", uid, "report:"+r.ID, map[string]any{"version": r.CurrentVersion}) {
		return
	}
	v := r.Current()
	status := "preliminary"
	switch r.Status {
	case drafts.ReportSigned:
		status = "final"
	case drafts.ReportAmended:
		status = "amended"
	}
	if r.SignedVersion != nil {
		v = r.Version(*r.SignedVersion)
	}
	text := ""
	if v != nil {
		text = v.Findings
	}
	dr := gin.H{
		"resourceType": "DiagnosticReport",
		"id":           r.ID,
		"meta":         gin.H{"versionId": itoa(r.CurrentVersion), "lastUpdated": r.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z")},
		"identifier":   []gin.H{{"system": "urn:radraft:report", "value": r.ID}},
		"status":       status,
		"category": []gin.H{{"coding": []gin.H{{
			"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD", "display": "Radiology"}}}},
		"code": gin.H{"coding": []gin.H{{"system": "http://loinc.org", "code": "59776-5", "display": "Procedure findings"}},
			"text": firstNonEmpty(procedureText(st), st.StudyDescription, "Chest X-ray findings")},
		"subject": gin.H{
			"identifier": gin.H{"value": st.PatientID},
			"display":    strings.TrimSpace(strings.ReplaceAll(st.PatientName, "^", " ")),
		},
		"imagingStudy": []gin.H{{"identifier": gin.H{"system": "urn:dicom:uid", "value": "urn:oid:" + uid}}},
		"conclusion":   text,
		"presentedForm": []gin.H{{
			"contentType": "text/plain; charset=utf-8",
			"data":        base64.StdEncoding.EncodeToString([]byte(text)),
			"title":       "Findings",
		}},
	}
	if st.AccessionNumber != "" {
		dr["identifier"] = append(dr["identifier"].([]gin.H), gin.H{
			"type":  gin.H{"coding": []gin.H{{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}}},
			"value": st.AccessionNumber,
		})
	}
	if st.StudyDate != nil {
		dr["effectiveDateTime"] = *st.StudyDate
	}
	if r.SignedAt != nil {
		dr["issued"] = r.SignedAt.UTC().Format("2006-01-02T15:04:05.000Z")
		dr["resultsInterpreter"] = []gin.H{{"display": r.SignedBy}}
	}
	c.Header("Content-Type", "application/fhir+json; charset=utf-8")
	c.Render(http.StatusOK, fhirJSON{dr})
}

type fhirJSON struct{ v any }

func (f fhirJSON) Render(w http.ResponseWriter) error {
	return jsonEncoder(w).Encode(f.v)
}
func (f fhirJSON) WriteContentType(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
}

func procedureText(st *drafts.StudyDetail) string {
	if st.Order != nil {
		return st.Order.ProcedureText
	}
	return ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
