package drafts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
)

func TestWorklistFiltersAndKeysetPaging(t *testing.T) {
	s := draftstest.New(t)
	ctx := context.Background()
	// 57 studies over 10 days (some dates equal: the UID breaks ties), one
	// without a date, names and MRNs to search.
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, accession_number, patient_id, patient_name, study_date, state, last_received_at)
		SELECT '1.2.' || g, 'ACC' || lpad(g::text, 5, '0'), 'MRN' || (g % 7), CASE WHEN g % 5 = 0 THEN 'SMITH^ANNA' ELSE 'DOE^J' || g END,
		       CASE WHEN g = 57 THEN NULL ELSE DATE '2026-11-01' + (g % 10) END, 'ready', now() - g * interval '1 minute'
		FROM generate_series(1, 57) g`)
	// An order with an indication for study 1.2.3 (by accession).
	draftstest.MustExec(t, s, `INSERT INTO hl7_messages (message_control_id, message_type, raw_message, sha256) VALUES ('c1','ORM^O01','x','y')`)
	draftstest.MustExec(t, s, `INSERT INTO orders (accession_number, order_control, indication, indication_source, message_control_id, last_message_id, raw_message)
		VALUES ('ACC00003', 'NW', 'fever', 'hl7:OBR-31', 'c1', 1, 'x')`)
	// Reports: 1.2.1 drafted, 1.2.2 edited, 1.2.3 signed.
	for _, uid := range []string{"1.2.1", "1.2.2", "1.2.3"} {
		if _, _, err := s.SaveAIDraft(ctx, drafts.AIDraft{StudyUID: uid, Findings: "Normal."}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.EditReport(ctx, drafts.ReportChange{StudyUID: "1.2.2", IfVersion: 1, Findings: "Edited.", Actor: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignReport(ctx, drafts.ReportChange{StudyUID: "1.2.3", IfVersion: 1, Actor: "r"}, false); err != nil {
		t.Fatal(err)
	}

	for _, sortBy := range []string{"study_date", "received"} {
		for _, asc := range []bool{false, true} {
			seen := map[string]bool{}
			var order []string
			cursor := ""
			for pages := 0; ; pages++ {
				p, err := s.Worklist(ctx, drafts.WorklistQuery{Sort: sortBy, Asc: asc, Limit: 10, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					if seen[it.StudyUID] {
						t.Fatalf("%s asc=%v: %s twice", sortBy, asc, it.StudyUID)
					}
					seen[it.StudyUID] = true
					key := it.ReceivedAt.Format(time.RFC3339Nano)
					if sortBy == "study_date" {
						key = "0001-01-01"
						if it.StudyDate != nil {
							key = *it.StudyDate
						}
					}
					order = append(order, key+"|"+it.StudyUID)
				}
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
				if pages > 10 {
					t.Fatal("too many pages")
				}
			}
			if len(seen) != 57 {
				t.Fatalf("%s asc=%v: %d studies", sortBy, asc, len(seen))
			}
			for i := 1; i < len(order); i++ {
				a, b := strings.SplitN(order[i-1], "|", 2)[0], strings.SplitN(order[i], "|", 2)[0]
				if a != b && (a < b) != asc {
					t.Fatalf("%s asc=%v: out of order at %d: %s then %s", sortBy, asc, i, order[i-1], order[i])
				}
			}
		}
	}

	// Status filters.
	check := func(q drafts.WorklistQuery, want ...string) {
		t.Helper()
		p, err := s.Worklist(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range p.Items {
			got = append(got, it.StudyUID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%+v: got %v, want %v", q, got, want)
		}
	}
	check(drafts.WorklistQuery{Statuses: []string{"drafted"}}, "1.2.1")
	check(drafts.WorklistQuery{Statuses: []string{"edited", "signed"}, Sort: "received", Asc: true}, "1.2.3", "1.2.2")
	// Text: accession substring, MRN, name (case-insensitive), short prefix.
	check(drafts.WorklistQuery{Text: "acc00003"}, "1.2.3")
	check(drafts.WorklistQuery{Text: "anna smi"})
	check(drafts.WorklistQuery{Text: "smith ann", Statuses: []string{"ready"}, Limit: 1}, "1.2.55")
	check(drafts.WorklistQuery{Text: "smith", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, "1.2.50", "1.2.40", "1.2.30", "1.2.20", "1.2.10")
	check(drafts.WorklistQuery{Text: "MRN6", Sort: "received", Asc: true, Limit: 2}, "1.2.55", "1.2.48")
	check(drafts.WorklistQuery{Text: "%"})
	// Indication from the order, else from DICOM; report status columns.
	p, _ := s.Worklist(ctx, drafts.WorklistQuery{Text: "ACC00003"})
	if it := p.Items[0]; it.Indication != "fever" || it.IndicationSource != "hl7:OBR-31" || it.Status != "signed" || *it.ReportStatus != "signed" {
		t.Fatalf("item: %+v", it)
	}
	// QA flag filter (a flag row on 1.2.3's report).
	draftstest.MustExec(t, s, `INSERT INTO evaluations (report_id, study_uid, candidate_version, reference_version, engine, reference_at)
		SELECT id, study_uid, 1, 2, 'offline', now() FROM reports WHERE study_uid='1.2.3'`)
	draftstest.MustExec(t, s, `INSERT INTO qa_flags (evaluation_id, report_id, study_uid)
		SELECT e.id, e.report_id, '1.2.3' FROM evaluations e`)
	check(drafts.WorklistQuery{Flag: "open"}, "1.2.3")
	check(drafts.WorklistQuery{Flag: "flagged", Statuses: []string{"signed"}}, "1.2.3")
	check(drafts.WorklistQuery{Flag: "none", Statuses: []string{"signed", "edited"}, Sort: "received", Asc: true}, "1.2.2")
	p, _ = s.Worklist(ctx, drafts.WorklistQuery{Flag: "open"})
	if f := p.Items[0].QAFlag; f == nil || *f != "open" {
		t.Fatalf("qa_flag %v", f)
	}
	// A study without any flag has none (not "dispositioned").
	p, _ = s.Worklist(ctx, drafts.WorklistQuery{Flag: "none", Statuses: []string{"signed", "edited"}})
	if f := p.Items[0].QAFlag; f != nil {
		t.Fatalf("unflagged study shows qa_flag %q", *f)
	}

	// A cursor of another sort order is refused.
	p, _ = s.Worklist(ctx, drafts.WorklistQuery{Limit: 1})
	if _, err := s.Worklist(ctx, drafts.WorklistQuery{Limit: 1, Sort: "received", Cursor: p.NextCursor}); err != drafts.ErrBadCursor {
		t.Fatalf("foreign cursor: %v", err)
	}
}
