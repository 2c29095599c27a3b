// Command worklist benchmarks GET /api/v1/worklist on 100 000 generated
// studies: it creates a fresh database, fills it with SQL generate_series,
// serves the real API in-process, runs filtered paginated queries over HTTP
// many times and prints p50/p95/p99 latencies, a comparison of keyset and
// OFFSET pagination at depth, and EXPLAIN ANALYZE plans.
//
//	go run ./bench/worklist [-studies 100000] [-n 200] [-admin-url postgres://...] [-keep]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/audit"
	"github.com/radraft/radraft/auth"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/qa"
	"github.com/radraft/radraft/server"
)

func main() {
	admin := flag.String("admin-url", envOr("RADRAFT_TEST_DATABASE_URL", "postgres://127.0.0.1:5432/postgres?sslmode=disable"), "Postgres server to create the bench database on")
	studies := flag.Int("studies", 100000, "studies to generate")
	n := flag.Int("n", 200, "requests per scenario")
	keep := flag.Bool("keep", false, "keep the database afterwards")
	plans := flag.Bool("plans", true, "print EXPLAIN ANALYZE plans")
	flag.Parse()
	if err := run(*admin, *studies, *n, *keep, *plans); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

type scenario struct {
	name  string
	query url.Values
	pages int // follow the cursor this many pages; the timing is of the last page
}

func run(adminURL string, nStudies, n int, keep, plans bool) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	dbName := fmt.Sprintf("radraft_bench_worklist_%d", time.Now().UnixNano()%1e9)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+dbName); err != nil {
		return err
	}
	defer func() {
		if !keep {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+dbName+" WITH (FORCE)") //nolint:errcheck
		} else {
			fmt.Println("kept database", dbName)
		}
		conn.Close(context.Background())
	}()
	u, _ := url.Parse(adminURL)
	u.Path = "/" + dbName
	store, err := drafts.Open(ctx, u.String(), true)
	if err != nil {
		return err
	}
	defer store.Close()

	t0 := time.Now()
	if err := generate(ctx, store, nStudies); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Printf("generated %d studies in %s\n", nStudies, time.Since(t0).Round(time.Millisecond))

	auth.Argon2Params.Time, auth.Argon2Params.MemoryKiB = 1, 8*1024
	if _, err := auth.New(store.DB()).CreateUser(ctx, "bench", auth.RoleRadiologist, "bench-password-1"); err != nil {
		return err
	}
	tok, _, err := auth.New(store.DB()).CreateAPIToken(ctx, "bench", "bench")
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Store: store, Auth: auth.New(store.DB()), QA: qa.New(store.DB()), Audit: audit.New(store.DB()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

	get := func(q url.Values) (drafts.WorklistPage, time.Duration, error) {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/worklist?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return drafts.WorklistPage{}, 0, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != 200 {
			return drafts.WorklistPage{}, d, fmt.Errorf("%d %s", resp.StatusCode, body)
		}
		var p drafts.WorklistPage
		err = json.Unmarshal(body, &p)
		return p, d, err
	}

	scenarios := []scenario{
		{"first page, no filter (50 rows, newest study date)", url.Values{"limit": {"50"}}, 1},
		{"status=drafted,edited + 3-month date range, page 1", url.Values{"status": {"drafted,edited"}, "from": {"2026-06-01"}, "to": {"2026-08-31"}, "limit": {"50"}}, 1},
		{"status=drafted,edited + 3-month date range, page 20 (keyset cursor)", url.Values{"status": {"drafted,edited"}, "from": {"2026-06-01"}, "to": {"2026-08-31"}, "limit": {"50"}}, 20},
		{"text search q=smit (name, trigram) + status=drafted", url.Values{"q": {"smit"}, "status": {"drafted"}, "limit": {"50"}}, 1},
		{"text search q=A0004217 (accession prefix)", url.Values{"q": {"A0004217"}, "limit": {"50"}}, 1},
		{"sort=received asc, page 1", url.Values{"sort": {"received"}, "order": {"asc"}, "limit": {"50"}}, 1},
	}
	fmt.Printf("\n%d requests per scenario over HTTP (in-process server, bearer token, audit row per request)\n\n", n)
	fmt.Println("| scenario | rows | p50 ms | p95 ms | p99 ms |")
	fmt.Println("|---|---|---|---|---|")
	for _, sc := range scenarios {
		q := cloneValues(sc.query)
		// Follow the cursor to the page measured.
		var rows int
		for p := 1; p < sc.pages; p++ {
			page, _, err := get(q)
			if err != nil {
				return err
			}
			q.Set("cursor", page.NextCursor)
		}
		var ds []time.Duration
		for i := 0; i < n+5; i++ {
			page, d, err := get(q)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			rows = len(page.Items)
			if i >= 5 { // warm-up
				ds = append(ds, d)
			}
		}
		p50, p95, p99 := pct(ds, 50), pct(ds, 95), pct(ds, 99)
		fmt.Printf("| %s | %d | %.2f | %.2f | %.2f |\n", sc.name, rows, ms(p50), ms(p95), ms(p99))
	}

	// Keyset vs OFFSET at depth (page 100 of 50 rows), same filter and
	// order, run directly in SQL so only the paging differs.
	if err := compareOffset(ctx, store, n); err != nil {
		return err
	}

	if plans {
		for _, sc := range []struct {
			name string
			q    drafts.WorklistQuery
		}{
			{"status=drafted,edited + date range, page 1", drafts.WorklistQuery{Statuses: []string{"drafted", "edited"},
				From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 8, 31, 0, 0, 0, 0, time.UTC), Limit: 50}},
			{"text search q=smit + status=drafted", drafts.WorklistQuery{Text: "smit", Statuses: []string{"drafted"}, Limit: 50}},
			{"accession prefix q=A0004217", drafts.WorklistQuery{Text: "A0004217", Limit: 50}},
		} {
			plan, err := store.WorklistExplain(ctx, sc.q)
			if err != nil {
				return err
			}
			fmt.Printf("\n### EXPLAIN ANALYZE: %s\n\n```\n%s\n```\n", sc.name, plan)
		}
	}
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// generate fills studies (with series-less rows: the worklist does not read
// instances), reports in every status, versions and orders, then ANALYZEs.
func generate(ctx context.Context, store *drafts.Store, n int) error {
	stmts := []string{
		`INSERT INTO studies (study_uid, accession_number, patient_id, patient_name, patient_birth_date, patient_sex,
			study_date, study_description, dicom_indication, dicom_indication_source, state, settled_at,
			last_received_at, first_received_at, instance_count)
		SELECT '1.2.826.0.1.3680043.10.543.' || g,
		       'A' || lpad(g::text, 7, '0'),
		       'MRN' || lpad(((g * 7919) % 1000003)::text, 7, '0'),
		       (ARRAY['SMITH','JOHNSON','WILLIAMS','BROWN','JONES','GARCIA','MILLER','DAVIS','RODRIGUEZ','MARTINEZ',
		              'HERNANDEZ','LOPEZ','GONZALEZ','WILSON','ANDERSON','THOMAS','TAYLOR','MOORE','JACKSON','MARTIN'])[1 + (g * 31) % 20]
		         || '^' || (ARRAY['ANNA','JOHN','MARIA','DAVID','LI','FATIMA','OLGA','PEDRO','YUKI','AMIR'])[1 + (g * 17) % 10]
		         || '^' || chr(65 + (g % 26)),
		       to_char(DATE '1940-01-01' + (g * 37) % 25000, 'YYYYMMDD'),
		       (ARRAY['F','M'])[1 + g % 2],
		       DATE '2026-11-27' - (g * 730 / $1),
		       'XR CHEST PA',
		       CASE WHEN g % 3 = 0 THEN 'cough and fever' ELSE '' END,
		       CASE WHEN g % 3 = 0 THEN '(0040,1002)' ELSE '' END,
		       (ARRAY['drafted','drafted','drafted','drafted','ready','draft_failed','needs_view','drafting'])[1 + g % 8],
		       now() - (g || ' minutes')::interval,
		       now() - (g || ' minutes')::interval,
		       now() - (g || ' minutes')::interval,
		       1
		FROM generate_series(1, $1) g`,
		// Reports for drafted studies: 40% untouched AI drafts, 20% edited, 35% signed, 5% amended.
		`INSERT INTO reports (id, study_uid, status, current_version, ai_version, signed_version, signed_by, signed_at)
		SELECT gen_random_uuid(), study_uid,
		       CASE WHEN h < 60 THEN 'draft' WHEN h < 95 THEN 'signed' ELSE 'amended' END,
		       CASE WHEN h < 40 THEN 1 WHEN h < 60 THEN 2 WHEN h < 95 THEN 3 ELSE 4 END,
		       1,
		       CASE WHEN h < 60 THEN NULL WHEN h < 95 THEN 3 ELSE 4 END,
		       CASE WHEN h < 60 THEN NULL ELSE 'dr.house' END,
		       CASE WHEN h < 60 THEN NULL ELSE last_received_at + interval '1 hour' END
		FROM (SELECT study_uid, last_received_at, (hashtext(study_uid) & 65535) % 100 AS h FROM studies WHERE state = 'drafted') s`,
		`INSERT INTO report_versions (report_id, version, kind, author, findings)
		SELECT r.id, v, CASE v WHEN 1 THEN 'ai_draft' WHEN 2 THEN 'edit' WHEN 3 THEN 'sign' ELSE 'amend' END,
		       CASE v WHEN 1 THEN 'ai' ELSE 'dr.house' END,
		       'No focal consolidation. No pleural effusion or pneumothorax. Heart size is normal.'
		FROM reports r, generate_series(1, r.current_version) v`,
		`INSERT INTO hl7_messages (message_control_id, message_type, raw_message, sha256) VALUES ('bench', 'ORM^O01', 'x', 'x')`,
		// Orders for two thirds of the studies, by accession.
		`INSERT INTO orders (accession_number, accession_source, order_control, indication, indication_source,
			patient_id, patient_name, procedure_text, message_control_id, last_message_id, raw_message)
		SELECT accession_number, 'OBR-18', 'NW', 'shortness of breath', 'hl7:OBR-31', patient_id, patient_name,
		       'XR CHEST 2 VIEWS', 'bench', (SELECT id FROM hl7_messages LIMIT 1), 'x'
		FROM studies WHERE (hashtext(study_uid) & 65535) % 3 <> 0`,
		`ANALYZE`,
	}
	for i, sql := range stmts {
		var err error
		if strings.Contains(sql, "$1") {
			_, err = store.DB().Exec(ctx, sql, n)
		} else {
			_, err = store.DB().Exec(ctx, sql)
		}
		if err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}

// compareOffset times page 100 (rows 4951-5000) of the filtered worklist
// with the keyset cursor (through drafts.Store.Worklist) and with OFFSET
// (the same query, paged by OFFSET instead of the cursor predicate).
func compareOffset(ctx context.Context, store *drafts.Store, n int) error {
	q := drafts.WorklistQuery{Statuses: []string{"signed", "amended"}, Limit: 50}
	// Walk to page 100 to get its cursor.
	for p := 1; p < 100; p++ {
		page, err := store.Worklist(ctx, q)
		if err != nil {
			return err
		}
		if page.NextCursor == "" {
			return fmt.Errorf("fewer than 100 pages")
		}
		q.Cursor = page.NextCursor
	}
	offsetSQL := `SELECT st.study_uid, st.accession_number, st.patient_id, st.patient_name, r.status,
		COALESCE(NULLIF(o.indication, ''), st.dicom_indication)
	FROM studies st
	LEFT JOIN reports r ON r.study_uid = st.study_uid
	` + drafts.WorklistOrderJoin + `
	WHERE st.worklist_status = ANY($1::text[])
	ORDER BY COALESCE(st.study_date, DATE '0001-01-01') DESC, st.study_uid DESC
	LIMIT 51 OFFSET 4950`
	var keyset, offset []time.Duration
	for i := 0; i < n+5; i++ {
		t := time.Now()
		if _, err := store.Worklist(ctx, q); err != nil {
			return err
		}
		if i >= 5 {
			keyset = append(keyset, time.Since(t))
		}
		t = time.Now()
		rows, err := store.DB().Query(ctx, offsetSQL, q.Statuses)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		rows.Close()
		if i >= 5 {
			offset = append(offset, time.Since(t))
		}
	}
	fmt.Printf("\nPage 100 (rows 4951-5000) of status=signed,amended, %d runs each, direct store calls:\n\n", n)
	fmt.Println("| paging | p50 ms | p95 ms |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| keyset cursor | %.2f | %.2f |\n", ms(pct(keyset, 50)), ms(pct(keyset, 95)))
	fmt.Printf("| OFFSET 4950 | %.2f | %.2f |\n", ms(pct(offset, 50)), ms(pct(offset, 95)))
	fmt.Printf("| ratio OFFSET / keyset (p50) | %.1fx | |\n", float64(pct(offset, 50))/float64(pct(keyset, 50)))
	return nil
}
