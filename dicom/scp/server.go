// Package scp is radraft's DICOM listener: a Verification and Storage SCP.
// It owns association admission (called/calling AE checks, a limit on
// concurrent associations, ARTIM, idle and per-read timeouts, a cap on the
// PDU length accepted) and durable, streaming storage of what is received.
//
// A C-STORE is handled as follows, and answered only at the end:
//
//  1. the dataset's PDV fragments stream into a temporary file under
//     <storage>/.tmp behind a Part 10 preamble and group 0002 meta (negotiated
//     transfer syntax, SOP class and instance from the command, our
//     implementation class UID, the calling AE); the dataset bytes are kept
//     exactly as received and hashed (sha256) on the way;
//  2. the headers are parsed (github.com/suyashkumar/dicom, stopping at the
//     pixel data): unparseable → C000; SOP class/instance differing from the
//     command → A900;
//  3. the file is fsynced, renamed to <study>/<series>/<sop>.dcm and its
//     directory fsynced; a disk error → A700;
//  4. the study, series and instance are indexed in one transaction; a
//     database error → A700 (never 0000 for an instance not indexed);
//  5. only then 0000.
//
// A second copy of an indexed SOP Instance UID: identical dataset bytes
// (same sha256) → success, duplicate_count + 1, the copy is dropped;
// different bytes → the first stays authoritative, the new file is kept
// under .conflicts/<sop>/<sha256>.dcm with an instance_conflicts row, and
// the answer is success (it is durably stored; an administrator decides).
//
// Failures leave the association usable: the rest of the dataset is read
// and discarded and an error status is sent. Protocol violations abort.
// A file renamed into place whose index transaction failed (database down,
// crash) stays on disk unindexed and unacknowledged; a re-send replaces it.
// Copies of one SOP instance arriving at once are serialised by an
// in-process lock: one storage tree has one writing process (nodes that
// share a volume must use separate storage dirs, or one DICOM node).
package scp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/ul"
	"github.com/radraft/radraft/drafts"
)

// Index is where stored instances are recorded (*drafts.Store).
type Index interface {
	LookupInstance(ctx context.Context, sopInstanceUID string) (*drafts.StoredInstance, error)
	IndexInstance(ctx context.Context, r *drafts.ReceivedInstance) error
	RecordDuplicate(ctx context.Context, sopInstanceUID string) error
	RecordConflict(ctx context.Context, c drafts.InstanceConflict) error
}

// Config is the SCP's behaviour.
type Config struct {
	AETitle string
	// AllowedCallingAETs: calling AE titles accepted; empty = any.
	AllowedCallingAETs []string
	// SOPClasses: storage SOP classes accepted (Verification always is);
	// empty = dicom.DefaultStorageSOPClasses.
	SOPClasses []string
	// TransferSyntaxes accepted; empty = dicom.AcceptedTransferSyntaxes.
	TransferSyntaxes []string
	// MaxAssociations: concurrent associations; more are rejected with a
	// transient A-ASSOCIATE-RJ (source 3, reason 2).
	MaxAssociations int
	// MaxPDU: the P-DATA-TF length we announce and accept; longer aborts.
	MaxPDU uint32
	// IdleTimeout: an association with no new message for this long is aborted.
	IdleTimeout time.Duration
	// ReadTimeout: within a message, each read must progress within it.
	ReadTimeout time.Duration
	// ARTIM: how long we wait for an A-ASSOCIATE-RQ after the connection
	// opens, and for the peer to close after release/reject/abort.
	ARTIM time.Duration
	// IndexTimeout bounds the database work of one instance.
	IndexTimeout time.Duration
	Logger       *slog.Logger
}

func (c *Config) defaults() {
	if len(c.SOPClasses) == 0 {
		c.SOPClasses = dicom.DefaultStorageSOPClasses
	}
	if len(c.TransferSyntaxes) == 0 {
		c.TransferSyntaxes = dicom.AcceptedTransferSyntaxes
	}
	if c.MaxAssociations <= 0 {
		c.MaxAssociations = 32
	}
	if c.MaxPDU == 0 {
		c.MaxPDU = 1 << 20
	}
	if c.MaxPDU < 4096 {
		c.MaxPDU = 4096
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = min(30*time.Second, c.IdleTimeout)
	}
	if c.ARTIM <= 0 {
		c.ARTIM = 30 * time.Second
	}
	if c.IndexTimeout <= 0 {
		c.IndexTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server is a running SCP.
type Server struct {
	cfg     Config
	policy  ul.Policy
	storage *Storage
	index   Index
	log     *slog.Logger

	active atomic.Int64 // established associations
	conns  atomic.Int64 // open connections
	panics atomic.Int64 // association handlers that panicked (recovered)

	mu       sync.Mutex
	lns      []net.Listener
	open     map[*ul.Conn]struct{}
	draining bool
	wg       sync.WaitGroup
}

// New returns a server storing into storage and indexing into index.
func New(cfg Config, storage *Storage, index Index) *Server {
	cfg.defaults()
	abstract := append([]string{dicom.VerificationSOPClass}, cfg.SOPClasses...)
	return &Server{
		cfg: cfg,
		policy: ul.Policy{
			AETitle:          cfg.AETitle,
			AllowedCalling:   cfg.AllowedCallingAETs,
			AbstractSyntaxes: abstract,
			TransferSyntaxes: cfg.TransferSyntaxes,
			MaxPDU:           cfg.MaxPDU,
			ImplClassUID:     dicom.ImplementationClassUID,
			ImplVersionName:  dicom.ImplementationVersionName,
		},
		storage: storage,
		index:   index,
		log:     cfg.Logger,
		open:    map[*ul.Conn]struct{}{},
	}
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("scp: server closed")

// Serve accepts associations on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	hardCap := int64(2*s.cfg.MaxAssociations + 16)
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			d := s.draining
			s.mu.Unlock()
			if d {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if s.conns.Load() >= hardCap {
			// Far beyond the limit: not even worth an A-ASSOCIATE-RJ.
			nc.Close()
			continue
		}
		c := ul.NewConn(nc, 64<<10)
		c.MaxPDU = s.cfg.MaxPDU
		c.WriteTimeout = s.cfg.ReadTimeout
		s.mu.Lock()
		if s.draining {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.open[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.conns.Add(1)
		go func() {
			defer func() {
				s.mu.Lock()
				delete(s.open, c)
				s.mu.Unlock()
				s.conns.Add(-1)
				s.wg.Done()
			}()
			defer s.recoverAssociation(c)
			s.handle(c)
		}()
	}
}

// Shutdown stops accepting, lets every C-STORE in flight finish and be
// answered, aborts associations waiting between messages, and returns when
// all are closed or ctx ends (then it closes what remains).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.open {
		c.Interrupt()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return fmt.Errorf("scp: shutdown: %w", ctx.Err())
	}
}

// Active returns the number of established associations.
func (s *Server) Active() int { return int(s.active.Load()) }

func remoteHost(c *ul.Conn) string {
	if a := c.NetConn().RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// handle runs one association: the acceptor side of the PS3.8 state
// machine. Sta2 (connection open, ARTIM running) → an A-ASSOCIATE-RQ →
// AC (Sta6) or RJ (Sta13); in Sta6, P-DATA-TF carries messages, an
// A-RELEASE-RQ is answered (Sta13), A-ABORT closes, anything else is a
// protocol violation answered with A-ABORT. In Sta13 we wait for the peer
// to close, at most ARTIM.
func (s *Server) handle(c *ul.Conn) {
	remote := remoteHost(c)
	// Sta2: ARTIM runs until the A-ASSOCIATE-RQ; a shutdown cuts it short.
	c.SetReadTimeout(s.cfg.ARTIM, true)
	typ, rq, err := c.ReadAssociate()
	c.SetReadTimeout(s.cfg.ReadTimeout, false)
	if typ == ul.TypeAssociateAC || typ == ul.TypeAssociateRJ {
		err = &ul.ProtocolError{Reason: ul.AbortUnexpectedPDU, Msg: fmt.Sprintf("PDU type %#x before association", typ)}
	}
	if err != nil {
		s.failEarly(c, remote, err)
		return
	}
	if c.Interrupted() {
		c.WritePDU(ul.EncodeReject(ul.RejectTransient, ul.SourceProviderPresentation, ul.ReasonNoReason)) //nolint:errcheck
		c.AwaitClose(s.cfg.ARTIM)
		return
	}
	if n := s.active.Add(1); n > int64(s.cfg.MaxAssociations) {
		s.active.Add(-1)
		s.log.Warn("dicom: association rejected: limit reached", "calling_ae", rq.CallingAE, "remote", remote, "limit", s.cfg.MaxAssociations)
		c.WritePDU(ul.EncodeReject(ul.RejectTransient, ul.SourceProviderPresentation, ul.ReasonLocalLimitExceeded)) //nolint:errcheck
		c.AwaitClose(s.cfg.ARTIM)
		return
	}
	defer s.active.Add(-1)
	ac, rj := ul.Negotiate(rq, &s.policy, dicom.ApplicationContextName)
	if rj != nil {
		s.log.Warn("dicom: association rejected", "calling_ae", rq.CallingAE, "called_ae", rq.CalledAE, "remote", remote,
			"result", rj.Result, "source", rj.Source, "reason", rj.Reason)
		c.WritePDU(ul.EncodeReject(rj.Result, rj.Source, rj.Reason)) //nolint:errcheck
		c.AwaitClose(s.cfg.ARTIM)
		return
	}
	if rq.MaxLength != 0 && rq.MaxLength < 64 {
		s.abort(c, remote, ul.AbortInvalidParam, "peer maximum PDU length too small")
		return
	}
	c.PeerMaxPDU = rq.MaxLength
	if err := c.WritePDU(ac.Encode(ul.TypeAssociateAC)); err != nil {
		c.Close()
		return
	}
	a := &assoc{s: s, c: c, callingAE: rq.CallingAE, remote: remote, contexts: map[byte]ctxInfo{}, buf: make([]byte, 256<<10)}
	accepted := 0
	for _, pc := range ac.Contexts {
		if pc.Result == ul.ResultAcceptance {
			accepted++
			a.contexts[pc.ID] = ctxInfo{}
		}
	}
	for _, pc := range rq.Contexts {
		if _, ok := a.contexts[pc.ID]; ok {
			for _, apc := range ac.Contexts {
				if apc.ID == pc.ID {
					a.contexts[pc.ID] = ctxInfo{abstract: pc.AbstractSyntax, ts: apc.TransferSyntaxes[0]}
				}
			}
		}
	}
	s.log.Info("dicom: association accepted", "calling_ae", rq.CallingAE, "remote", remote,
		"contexts", len(rq.Contexts), "accepted", accepted, "peer_max_pdu", rq.MaxLength)
	a.run()
}

// failEarly ends a connection whose first PDU was not a usable A-ASSOCIATE-RQ.
func (s *Server) failEarly(c *ul.Conn, remote string, err error) {
	var pe *ul.ProtocolError
	switch {
	case errors.As(err, &pe):
		s.abort(c, remote, pe.Reason, pe.Msg)
	case errors.Is(err, ul.ErrPeerAborted):
		c.Close()
	default:
		// Timeout (ARTIM) or the peer closed: nothing to say.
		s.log.Info("dicom: connection closed before association", "remote", remote, "err", err)
		c.Close()
	}
}

func (s *Server) abort(c *ul.Conn, remote string, reason byte, why string) {
	s.log.Warn("dicom: aborting association", "remote", remote, "reason", reason, "why", why)
	c.WritePDU(ul.EncodeAbort(ul.AbortSourceProvider, reason)) //nolint:errcheck
	wait := min(s.cfg.ARTIM, 5*time.Second)
	s.mu.Lock()
	if s.draining {
		wait = min(wait, 500*time.Millisecond)
	}
	s.mu.Unlock()
	c.AwaitClose(wait)
}

func trimList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SplitList splits a comma-separated configuration list.
func SplitList(s string) []string { return trimList(s) }
