package server

import (
	"context"
	"image"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
)

// expectation is the status each principal gets from one route, called
// without a body or If-Match (so that allowed writes stop at validation and
// change nothing, except where noted).
type expectation map[string]int

const anonymous = "anonymous"

var principals = []string{anonymous, auth.RoleRadiologist, auth.RoleQALead, auth.RoleAdmin}

// allow: status for the roles given, 403 for the other roles, 401 anonymous.
func allow(status int, roles ...string) expectation {
	e := expectation{anonymous: http.StatusUnauthorized}
	for _, r := range auth.Roles {
		e[r] = http.StatusForbidden
	}
	for _, r := range roles {
		e[r] = status
	}
	return e
}

// public: the same status for everyone.
func public(status int) expectation {
	e := expectation{}
	for _, p := range principals {
		e[p] = status
	}
	return e
}

const (
	rad    = auth.RoleRadiologist
	qaLead = auth.RoleQALead
	admin  = auth.RoleAdmin
)

// permissionMatrix: "METHOD /route/template" -> expectation. Every route
// of the router must be here (TestPermissionMatrix fails otherwise); other
// test files of the package may add theirs with addExpectations in init.
var permissionMatrix = map[string]expectation{
	"GET /healthz":                  public(200),
	"GET /readyz":                   public(200),
	"GET /metrics":                  allow(200, admin),
	"POST /api/v1/auth/login":       public(400), // no body
	"POST /api/v1/auth/logout":      allow(204, rad, qaLead, admin),
	"GET /api/v1/auth/me":           allow(200, rad, qaLead, admin),
	"GET /api/v1/openapi.json":      public(200), // no data in it
	"GET /api/v1/auth/session":      public(200), // authenticated true or false
	"GET /api/v1/worklist":          allow(200, rad, qaLead),
	"GET /api/v1/studies/:studyUID": allow(200, rad, qaLead),
	"GET /api/v1/studies/:studyUID/instances/:sopUID/file":    allow(200, rad, qaLead),
	"GET /api/v1/studies/:studyUID/instances/:sopUID/preview": allow(200, rad, qaLead),
	"POST /api/v1/studies/:studyUID/frontal":                  allow(400, rad), // no body
	"GET /api/v1/studies/:studyUID/report":                    allow(200, rad, qaLead),
	"PUT /api/v1/studies/:studyUID/report":                    allow(428, rad), // no If-Match
	"POST /api/v1/studies/:studyUID/report/sign":              allow(428, rad),
	"POST /api/v1/studies/:studyUID/report/amend":             allow(428, rad),
	"POST /api/v1/studies/:studyUID/report/redraft":           allow(202, rad), // queues a job; the text is untouched
	"GET /api/v1/studies/:studyUID/report/fhir":               allow(200, rad, qaLead),
	"GET /api/v1/admin/audit":                                 allow(200, admin),
	"GET /api/v1/admin/users":                                 allow(200, admin),
	"POST /api/v1/admin/users":                                allow(400, admin),
	"GET /api/v1/admin/tokens":                                allow(200, admin),
	"POST /api/v1/admin/tokens":                               allow(400, admin),
	"DELETE /api/v1/admin/tokens/:id":                         allow(404, admin),
	"GET /api/v1/admin/outbox":                                allow(200, admin),
	"GET /api/v1/orders/attention":                            allow(200, rad, qaLead, admin),
	"GET /api/v1/studies/:studyUID/priors":                    allow(200, rad, qaLead),

	// QA routes of server/qa.go (CheXprompt engineer).
	"GET /api/v1/qa/flags":                             allow(200, qaLead, admin),
	"GET /api/v1/qa/flags/:flagID":                     allow(404, qaLead, admin),
	"POST /api/v1/qa/flags/:flagID/disposition":        allow(400, qaLead, admin),
	"GET /api/v1/qa/metrics":                           allow(200, qaLead, admin),
	"GET /api/v1/qa/export.csv":                        allow(200, qaLead, admin),
	"POST /api/v1/studies/:studyUID/report/check":      allow(200, rad), // the offline evaluator answers at once
	"GET /api/v1/studies/:studyUID/report/evaluations": allow(200, rad, qaLead, admin),
}

// addExpectations adds rows for routes of other files (call from init).
func addExpectations(m map[string]expectation) {
	for k, v := range m {
		permissionMatrix[k] = v
	}
}

func TestPermissionMatrix(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Render = func(context.Context, string, RenderOptions) (image.Image, error) {
			return image.NewGray(image.Rect(0, 0, 4, 4)), nil
		}
	})
	const uid = "1.2.999.1"
	e.seedStudy(uid, "ACCP", "MRNP", "PERM^TEST", "2026-11-01", "No acute findings.")
	params := strings.NewReplacer(":studyUID", uid, ":sopUID", uid+".1.1", ":id", "999999", ":flagID", "999999")

	routes := e.srv.Engine().Routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].Path+routes[i].Method < routes[j].Path+routes[j].Method })
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		want, ok := permissionMatrix[key]
		if !ok {
			t.Errorf("route %s has no row in the permission matrix", key)
			continue
		}
		path := params.Replace(rt.Path)
		for _, p := range principals {
			exp, ok := want[p]
			if !ok {
				t.Errorf("%s: no expectation for %s", key, p)
				continue
			}
			c := e.anon()
			if p != anonymous {
				c = e.login(p + "1")
			}
			r := c.do(rt.Method, path, nil, nil, nil)
			if r.StatusCode != exp {
				t.Errorf("%s as %s: got %d, want %d (%s)", key, p, r.StatusCode, exp, strings.TrimSpace(bodyOf(r)))
			}
		}
	}
	// Cookie-authenticated writes without the CSRF header are refused even
	// for allowed roles; bearer tokens need none.
	c := e.login("radiologist1")
	c.csrf = ""
	if r := c.do("POST", "/api/v1/studies/"+uid+"/report/redraft", nil, nil, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("write without CSRF: %d", r.StatusCode)
	}
	// The report text was not changed by any of the calls above.
	rep, err := e.store.ReportForStudy(context.Background(), uid)
	if err != nil || rep.CurrentVersion != 1 || rep.Status != drafts.ReportDraft {
		t.Fatalf("report changed by the matrix: %+v %v", rep, err)
	}
}
