package scp

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/radraft/radraft/dicom/ul"
	"github.com/radraft/radraft/internal/panics"
)

// recoverAssociation, deferred by every association's goroutine, turns a
// panic into the end of that association only: it is logged without PHI
// and counted by package panics (as every listener's panics are), counted
// for this listener too, and the peer gets an A-ABORT.
func (s *Server) recoverAssociation(a *ul.Association) {
	p := recover()
	if p == nil {
		return
	}
	s.panics.Add(1)
	panics.Record(s.log, "dicom", p, "remote", a.RemoteAddr())
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
