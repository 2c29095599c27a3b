package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/radraft/radraft/drafts"
)

// metrics: HTTP latency observed in-process; the domain figures (instances,
// orders, queue depth, draft latency, outbox) read from Postgres at scrape
// time, so they are the same on every node and survive restarts.
type metrics struct {
	reg  *prometheus.Registry
	http *prometheus.HistogramVec
}

var draftLatencyBuckets = []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800}

func newMetrics(store *drafts.Store, extra []prometheus.Collector) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.http = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "radraft_http_request_duration_seconds",
		Help:    "HTTP request latency by method, route template and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "status"})
	m.reg.MustRegister(m.http, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &dbCollector{store: store})
	m.reg.MustRegister(extra...)
	return m
}

func (m *metrics) observeHTTP(method, route string, status int, d time.Duration) {
	m.http.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

func (s *Server) metricsHandler(c *gin.Context) {
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Timeout: 10 * time.Second}).ServeHTTP(c.Writer, c.Request)
}

var (
	descInstances = prometheus.NewDesc("radraft_instances_received_total",
		"DICOM instances stored (first copies) plus identical re-sends.", nil, nil)
	descStudies = prometheus.NewDesc("radraft_studies", "Studies by drafting state.", []string{"state"}, nil)
	descOrders  = prometheus.NewDesc("radraft_orders_total", "HL7 orders known (cancelled included).", nil, nil)
	descHL7     = prometheus.NewDesc("radraft_hl7_messages_total", "HL7 order messages received (distinct).", nil, nil)
	descQueue   = prometheus.NewDesc("radraft_queue_jobs", "River jobs not finished, by queue, kind and state.",
		[]string{"queue", "kind", "state"}, nil)
	descDraft = prometheus.NewDesc("radraft_draft_latency_seconds",
		"Time from a study settling to its first AI draft.", nil, nil)
	descReports = prometheus.NewDesc("radraft_reports", "Reports by status.", []string{"status"}, nil)
	descOutbox  = prometheus.NewDesc("radraft_outbox_messages", "Outbox rows by state.", []string{"state"}, nil)
	descScrape  = prometheus.NewDesc("radraft_metrics_db_errors", "1 when reading a database metric failed.", []string{"metric"}, nil)
)

type dbCollector struct{ store *drafts.Store }

func (d *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{descInstances, descStudies, descOrders, descHL7, descQueue, descDraft, descReports, descOutbox, descScrape} {
		ch <- x
	}
}

func (d *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool := d.store.Pool
	fail := func(name string, err error) {
		if err != nil {
			ch <- prometheus.MustNewConstMetric(descScrape, prometheus.GaugeValue, 1, name)
		}
	}
	var n float64
	err := pool.QueryRow(ctx, `SELECT count(*) + COALESCE(sum(duplicate_count), 0) FROM instances`).Scan(&n)
	if fail("instances", err); err == nil {
		ch <- prometheus.MustNewConstMetric(descInstances, prometheus.CounterValue, n)
	}
	err = pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&n)
	if fail("orders", err); err == nil {
		ch <- prometheus.MustNewConstMetric(descOrders, prometheus.CounterValue, n)
	}
	err = pool.QueryRow(ctx, `SELECT count(*) FROM hl7_messages`).Scan(&n)
	if fail("hl7_messages", err); err == nil {
		ch <- prometheus.MustNewConstMetric(descHL7, prometheus.CounterValue, n)
	}
	grouped := func(name string, desc *prometheus.Desc, sql string) {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			fail(name, err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var labels [3]string
			var v float64
			dest := []any{}
			cols := len(rows.FieldDescriptions()) - 1
			for i := 0; i < cols; i++ {
				dest = append(dest, &labels[i])
			}
			dest = append(dest, &v)
			if err := rows.Scan(dest...); err != nil {
				fail(name, err)
				return
			}
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels[:cols]...)
		}
		fail(name, rows.Err())
	}
	grouped("studies", descStudies, `SELECT state, count(*)::float8 FROM studies GROUP BY state`)
	grouped("reports", descReports, `SELECT status, count(*)::float8 FROM reports GROUP BY status`)
	grouped("outbox", descOutbox, `SELECT state, count(*)::float8 FROM outbox GROUP BY state`)
	grouped("queue", descQueue, `SELECT queue, kind, state::text, count(*)::float8 FROM river_job
		WHERE state IN ('available','scheduled','retryable','running','pending') GROUP BY 1,2,3`)

	var sel []string
	for _, b := range draftLatencyBuckets {
		sel = append(sel, fmt.Sprintf("count(*) FILTER (WHERE l <= %g)", b))
	}
	var count uint64
	var sum float64
	vals := make([]uint64, len(draftLatencyBuckets))
	dest := []any{&count, &sum}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	err = pool.QueryRow(ctx, `SELECT count(*), COALESCE(sum(l), 0), `+strings.Join(sel, ", ")+` FROM (
		SELECT extract(epoch FROM min(v.created_at) - st.settled_at)::float8 AS l
		FROM report_versions v JOIN reports r ON r.id = v.report_id JOIN studies st ON st.study_uid = r.study_uid
		WHERE v.kind = 'ai_draft' AND st.settled_at IS NOT NULL GROUP BY r.id, st.settled_at) x`).Scan(dest...)
	if fail("draft_latency", err); err == nil {
		buckets := map[float64]uint64{}
		for i, b := range draftLatencyBuckets {
			buckets[b] = vals[i]
		}
		ch <- prometheus.MustNewConstHistogram(descDraft, count, sum, buckets)
	}
}
