package server

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/internal/panics"
)

// metrics: HTTP latency observed in-process; the domain figures (instances,
// orders, queue depth, draft latency, outbox) come from the store at scrape
// time (drafts.Monitoring), so they are the same on every node.
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
	m.reg.MustRegister(m.http, panics.Recovered, collectors.NewGoCollector(),
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
	m := d.store.Monitoring(ctx, draftLatencyBuckets)
	failed := map[string]bool{}
	for _, name := range m.Failed {
		failed[name] = true
		ch <- prometheus.MustNewConstMetric(descScrape, prometheus.GaugeValue, 1, name)
	}
	counter := func(name string, desc *prometheus.Desc, v float64) {
		if !failed[name] {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v)
		}
	}
	counter("instances", descInstances, m.InstancesReceived)
	counter("orders", descOrders, m.Orders)
	counter("hl7_messages", descHL7, m.HL7Messages)
	for _, g := range []struct {
		desc *prometheus.Desc
		by   map[string]float64
	}{{descStudies, m.Studies}, {descReports, m.Reports}, {descOutbox, m.Outbox}} {
		for k, v := range g.by {
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v, k)
		}
	}
	for _, q := range m.Queue {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, q.Jobs, q.Queue, q.Kind, q.State)
	}
	if !failed["draft_latency"] {
		buckets := map[float64]uint64{}
		for i, b := range m.DraftLatency.Bounds {
			buckets[b] = m.DraftLatency.Buckets[i]
		}
		ch <- prometheus.MustNewConstHistogram(descDraft, m.DraftLatency.Count, m.DraftLatency.Sum, buckets)
	}
}
