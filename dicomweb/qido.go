package dicomweb

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/radraft/radraft/dicom/match"
	"github.com/radraft/radraft/drafts"
)

// QIDO-RS (PS3.18 10.6): the matching keys radraft indexes, by keyword and
// by tag. Anything else as a key is refused with 400 (never ignored, which
// would return more than asked for).
var matchKeys = map[string]string{
	"PatientID": "PatientID", "00100020": "PatientID",
	"PatientName": "PatientName", "00100010": "PatientName",
	"StudyDate": "StudyDate", "00080020": "StudyDate",
	"AccessionNumber": "AccessionNumber", "00080050": "AccessionNumber",
	"ModalitiesInStudy": "Modality", "00080061": "Modality",
	"Modality": "Modality", "00080060": "Modality",
	"StudyInstanceUID": "StudyInstanceUID", "0020000D": "StudyInstanceUID",
	"SeriesInstanceUID": "SeriesInstanceUID", "0020000E": "SeriesInstanceUID",
	"SOPInstanceUID": "SOPInstanceUID", "00080018": "SOPInstanceUID",
	"SOPClassUID": "SOPClassUID", "00080016": "SOPClassUID",
}

// optional attributes returned only when includefield names them (or is
// "all"); everything else indexed is returned always.
var optionalFields = map[string]string{
	"PatientBirthDate": "00100030", "PatientSex": "00100040", "ReferringPhysicianName": "00080090",
	"StudyDescription": "00081030", "SeriesDescription": "0008103E", "BodyPartExamined": "00180015",
	"Rows": "00280010", "Columns": "00280011",
}

const maxLimit = 1000

// search is a parsed QIDO request.
type search struct {
	q       drafts.ArchiveQuery
	include map[string]bool // tags ("GGGGEEEE") of optional attributes asked for
	all     bool
}

// parseSearch reads the query string; on error it answers 400.
func parseSearch(c *gin.Context) (*search, bool) {
	q, ok := pathQuery(c)
	if !ok {
		return nil, false
	}
	sr := &search{q: q, include: map[string]bool{}}
	bad := func(msg string) (*search, bool) {
		fail(c, http.StatusBadRequest, "bad_request", msg)
		return nil, false
	}
	for k, vs := range c.Request.URL.Query() {
		if len(vs) == 0 {
			continue
		}
		switch k {
		case "limit", "offset":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 0 || k == "limit" && n > maxLimit {
				return bad(fmt.Sprintf("%s must be a number (limit at most %d)", k, maxLimit))
			}
			if k == "limit" {
				sr.q.Limit = n
			} else {
				sr.q.Offset = n
			}
			continue
		case "includefield":
			if !sr.includes(vs) {
				return bad("includefield must name attributes by keyword or tag, or be 'all'")
			}
			continue
		case "fuzzymatching":
			if vs[0] != "false" {
				return bad("fuzzymatching is not supported")
			}
			continue
		}
		name, ok := matchKeys[k]
		if !ok {
			return bad("unsupported matching key " + strconv.Quote(k))
		}
		if msg := sr.match(name, strings.Join(vs, ",")); msg != "" {
			return bad(msg)
		}
	}
	if sr.q.Limit == 0 {
		sr.q.Limit = maxLimit
	}
	return sr, true
}

func (sr *search) includes(vs []string) bool {
	for _, v := range vs {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			switch {
			case f == "all":
				sr.all = true
			case optionalFields[f] != "":
				sr.include[optionalFields[f]] = true
			case len(f) == 8 && strings.Trim(strings.ToUpper(f), "0123456789ABCDEF") == "":
				sr.include[strings.ToUpper(f)] = true
			case f != "" && strings.Trim(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == "":
				// A keyword radraft does not index: nothing to add (PS3.18 allows it).
			default:
				return false
			}
		}
	}
	return true
}

func (sr *search) want(tag string) bool { return sr.all || sr.include[tag] }

// match applies one matching key; it returns an error message or "".
func (sr *search) match(name, v string) string {
	q := &sr.q
	switch name {
	case "PatientID":
		q.PatientID = match.Like(v)
	case "PatientName":
		q.PatientName = match.Like(v)
	case "AccessionNumber":
		q.AccessionNumber = match.Like(v)
	case "Modality":
		q.Modality = v
	case "SOPClassUID":
		q.SOPClassUID = v
	case "StudyDate":
		from, to, err := match.DateRange(v)
		if err != nil {
			return "StudyDate: " + err.Error()
		}
		q.DateFrom, q.DateTo = from, to
	case "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID":
		uids := match.UIDList(v)
		if uids == nil {
			return name + " must be a list of UIDs"
		}
		dst := map[string]*[]string{"StudyInstanceUID": &q.StudyUIDs, "SeriesInstanceUID": &q.SeriesUIDs, "SOPInstanceUID": &q.SOPInstanceUIDs}[name]
		if len(*dst) > 0 { // the path already names one: both must hold
			if !contains(uids, (*dst)[0]) {
				uids = []string{"-"} // matches nothing
			} else {
				uids = *dst
			}
		}
		*dst = uids
	}
	return ""
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (h *handlers) answerJSON(c *gin.Context, list []attrs) {
	if len(list) == 0 {
		c.Status(http.StatusNoContent)
		return
	}
	c.Header("Content-Type", "application/dicom+json")
	c.JSON(http.StatusOK, list)
}

// runSearch answers one QIDO-RS search: parse, query, audit (the count
// only), then one dataset per row.
func runSearch[T any](h *handlers, c *gin.Context, level string,
	query func(context.Context, drafts.ArchiveQuery) ([]T, error), build func(base string, sr *search, row *T) attrs) {
	sr, ok := parseSearch(c)
	if !ok {
		return
	}
	rows, err := query(c.Request.Context(), sr.q)
	if err != nil {
		h.internal(c, err)
		return
	}
	if !h.m.Audit(c, "dicomweb.search", c.Param("study"), level+":"+strconv.Itoa(len(rows))) {
		return
	}
	base := baseURL(c)
	out := make([]attrs, 0, len(rows))
	for i := range rows {
		out = append(out, build(base, sr, &rows[i]))
	}
	h.answerJSON(c, out)
}

func (h *handlers) searchStudies(c *gin.Context) {
	runSearch(h, c, "studies", h.s.Store.SearchStudies, func(base string, sr *search, r *drafts.ArchiveStudy) attrs {
		a := attrs{}
		a.str(0x0008, 0x0005, "CS", "ISO_IR 192")
		a.str(0x0008, 0x0020, "DA", r.StudyDate)
		a.str(0x0008, 0x0030, "TM", r.StudyTime)
		a.str(0x0008, 0x0050, "SH", r.AccessionNumber)
		a.str(0x0008, 0x0061, "CS", r.Modalities...)
		a.str(0x0008, 0x1190, "UR", studyURL(base, r.StudyUID))
		a.pn(0x0010, 0x0010, r.PatientName)
		a.str(0x0010, 0x0020, "LO", r.PatientID)
		a.str(0x0020, 0x000D, "UI", r.StudyUID)
		a.str(0x0020, 0x0010, "SH")
		a.num(0x0020, 0x1206, "IS", r.Series)
		a.num(0x0020, 0x1208, "IS", r.Instances)
		if sr.want("00100030") {
			a.str(0x0010, 0x0030, "DA", r.PatientBirthDate)
		}
		if sr.want("00100040") {
			a.str(0x0010, 0x0040, "CS", r.PatientSex)
		}
		if sr.want("00080090") {
			a.pn(0x0008, 0x0090, r.ReferringPhysician)
		}
		if sr.want("00081030") {
			a.str(0x0008, 0x1030, "LO", r.StudyDescription)
		}
		return a
	})
}

func (h *handlers) searchSeries(c *gin.Context) {
	runSearch(h, c, "series", h.s.Store.SearchSeries, func(base string, sr *search, r *drafts.ArchiveSeries) attrs {
		a := attrs{}
		a.str(0x0008, 0x0005, "CS", "ISO_IR 192")
		a.str(0x0008, 0x0060, "CS", r.Modality)
		a.str(0x0008, 0x1190, "UR", seriesURL(base, r.StudyUID, r.SeriesUID))
		a.str(0x0020, 0x000D, "UI", r.StudyUID)
		a.str(0x0020, 0x000E, "UI", r.SeriesUID)
		a.str(0x0020, 0x0011, "IS", r.SeriesNumber)
		a.num(0x0020, 0x1209, "IS", r.Instances)
		if sr.want("0008103E") {
			a.str(0x0008, 0x103E, "LO", r.SeriesDescription)
		}
		if sr.want("00180015") {
			a.str(0x0018, 0x0015, "CS", r.BodyPart)
		}
		return a
	})
}

func (h *handlers) searchInstances(c *gin.Context) {
	runSearch(h, c, "instances", h.s.Store.SearchInstances, func(base string, sr *search, r *drafts.ArchiveInstance) attrs {
		a := attrs{}
		a.str(0x0008, 0x0016, "UI", r.SOPClassUID)
		a.str(0x0008, 0x0018, "UI", r.SOPInstanceUID)
		a.str(0x0008, 0x1190, "UR", instanceURL(base, r))
		a.str(0x0020, 0x000D, "UI", r.StudyUID)
		a.str(0x0020, 0x000E, "UI", r.SeriesUID)
		a.str(0x0020, 0x0013, "IS", r.InstanceNumber)
		if sr.want("00280010") {
			a.num(0x0028, 0x0010, "US", r.Rows)
		}
		if sr.want("00280011") {
			a.num(0x0028, 0x0011, "US", r.Columns)
		}
		return a
	})
}
