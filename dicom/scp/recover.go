package scp

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/radraft/radraft/dicom/ul"
)

// recoverAssociation, deferred by every association's goroutine, turns a
// panic into the end of that association only: it is counted, logged
// without PHI (the panic's text only when it is a runtime error, which
// holds no received data; else only its type; and the stack, which holds
// code locations), and the peer gets an A-ABORT.
func (s *Server) recoverAssociation(a *ul.Association) {
	p := recover()
	if p == nil {
		return
	}
	s.panics.Add(1)
	what := fmt.Sprintf("panic of type %T", p)
	if re, ok := p.(runtime.Error); ok {
		what = re.Error()
	}
	s.log.Error("dicom: association handler panicked; association aborted", "remote", a.RemoteAddr(),
		"panic", what, "stack", string(debug.Stack()))
	a.Close()
}

// Panics is how many association handlers panicked (and were recovered).
func (s *Server) Panics() int64 { return s.panics.Load() }

var (
	descPanics = prometheus.NewDesc("radraft_dicom_association_panics_total",
		"DICOM association handlers that panicked; each was recovered and only its association aborted.", nil, nil)
	descAssociations = prometheus.NewDesc("radraft_dicom_associations",
		"Established DICOM associations.", nil, nil)
	descConnections = prometheus.NewDesc("radraft_dicom_connections",
		"Open DICOM connections (with or without an association).", nil, nil)
)

// Collector exposes the listener's counters to Prometheus.
func (s *Server) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPanics
	ch <- descAssociations
	ch <- descConnections
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descPanics, prometheus.CounterValue, float64(c.s.panics.Load()))
	ch <- prometheus.MustNewConstMetric(descAssociations, prometheus.GaugeValue, float64(c.s.active.Load()))
	ch <- prometheus.MustNewConstMetric(descConnections, prometheus.GaugeValue, float64(c.s.conns.Load()))
}
