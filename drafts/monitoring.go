package drafts

import (
	"context"
	"fmt"
	"strings"
)

// Monitoring is what operators see of the store, read at scrape time so
// every node reports the same figures and they survive restarts.
type Monitoring struct {
	InstancesReceived float64 // first copies plus identical re-sends
	Orders            float64
	HL7Messages       float64
	Studies           map[string]float64 // by state
	Reports           map[string]float64 // by status
	Outbox            map[string]float64 // by state
	Queue             []QueueCount       // unfinished jobs
	DraftLatency      Histogram          // seconds from settling to the first AI draft
	// Failed names the figures that could not be read (left zero).
	Failed []string
}

// QueueCount is the number of unfinished jobs of one queue, kind and state.
type QueueCount struct {
	Queue, Kind, State string
	Jobs               float64
}

// Histogram is a cumulative histogram: Buckets[i] counts values <= Bounds[i].
type Histogram struct {
	Count   uint64
	Sum     float64
	Bounds  []float64
	Buckets []uint64
}

// Monitoring reads the figures; latencyBounds are the draft latency
// histogram's upper bounds in seconds.
func (s *Store) Monitoring(ctx context.Context, latencyBounds []float64) Monitoring {
	m := Monitoring{Studies: map[string]float64{}, Reports: map[string]float64{}, Outbox: map[string]float64{}}
	fail := func(name string, err error) {
		if err != nil {
			m.Failed = append(m.Failed, name)
		}
	}
	fail("instances", s.db.QueryRow(ctx, `SELECT count(*) + COALESCE(sum(duplicate_count), 0) FROM instances`).Scan(&m.InstancesReceived))
	fail("orders", s.db.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&m.Orders))
	fail("hl7_messages", s.db.QueryRow(ctx, `SELECT count(*) FROM hl7_messages`).Scan(&m.HL7Messages))
	fail("studies", s.countBy(ctx, m.Studies, `SELECT state, count(*)::float8 FROM studies GROUP BY state`))
	fail("reports", s.countBy(ctx, m.Reports, `SELECT status, count(*)::float8 FROM reports GROUP BY status`))
	fail("outbox", s.countBy(ctx, m.Outbox, `SELECT state, count(*)::float8 FROM outbox GROUP BY state`))
	var err error
	m.Queue, err = s.queueCounts(ctx)
	fail("queue", err)
	m.DraftLatency, err = s.draftLatency(ctx, latencyBounds)
	fail("draft_latency", err)
	return m
}

func (s *Store) countBy(ctx context.Context, into map[string]float64, sql string) error {
	rows, err := s.db.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v float64
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		into[k] = v
	}
	return rows.Err()
}

func (s *Store) queueCounts(ctx context.Context) ([]QueueCount, error) {
	rows, err := s.db.Query(ctx, `SELECT queue, kind, state::text, count(*)::float8 FROM river_job
		WHERE state IN ('available','scheduled','retryable','running','pending') GROUP BY 1,2,3 ORDER BY 1,2,3`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []QueueCount
	for rows.Next() {
		var q QueueCount
		if err := rows.Scan(&q.Queue, &q.Kind, &q.State, &q.Jobs); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

func (s *Store) draftLatency(ctx context.Context, bounds []float64) (Histogram, error) {
	h := Histogram{Bounds: bounds, Buckets: make([]uint64, len(bounds))}
	sel := make([]string, 0, len(bounds))
	dest := []any{&h.Count, &h.Sum}
	for i, b := range bounds {
		sel = append(sel, fmt.Sprintf(", count(*) FILTER (WHERE l <= %g)", b))
		dest = append(dest, &h.Buckets[i])
	}
	err := s.db.QueryRow(ctx, `SELECT count(*), COALESCE(sum(l), 0)`+strings.Join(sel, "")+` FROM (
		SELECT extract(epoch FROM min(v.created_at) - st.settled_at)::float8 AS l
		FROM report_versions v JOIN reports r ON r.id = v.report_id JOIN studies st ON st.study_uid = r.study_uid
		WHERE v.kind = 'ai_draft' AND st.settled_at IS NOT NULL GROUP BY r.id, st.settled_at) x`).Scan(dest...)
	return h, err
}
