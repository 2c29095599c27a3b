// Package scp is radraft's DICOM listener: a Verification and Storage SCP.
// It owns association admission (called/calling AE checks, a limit on
// concurrent associations and a separate one on sockets not yet
// associated, the SOP class policy), the DIMSE services (each a Service:
// echo.go, store.go) and durable, streaming storage of what is received.
// Every PDU goes through dicom/ul's acceptor (PS3.8 Table 9-10, ARTIM and
// per-PDU deadlines); a panic in an association's handler ends only that
// association.
//
// A C-STORE is handled as follows, and answered only at the end:
//
//  1. the dataset's PDV fragments stream into a temporary file under
//     <storage>/.tmp behind a Part 10 preamble and group 0002 meta (negotiated
//     transfer syntax, SOP class and instance from the command, our
//     implementation class UID, the calling AE); the dataset bytes are kept
//     exactly as received and hashed (sha256) on the way;
//  2. the whole dataset is walked by dicom/dataset (every declared length
//     checked against what is left, values not indexed skipped unread):
//     unparseable → C000; ending inside an element → C003; SOP class or
//     instance differing from the command → A900; an invalid SOP instance,
//     study or series UID → C001;
//  3. the file is fsynced, renamed to <study>/<series>/<sop>.dcm and its
//     directory fsynced; a disk error → A700;
//  4. the study, series and instance are indexed in one transaction; a
//     database error → A700 (never 0000 for an instance not indexed); a
//     series already indexed under another study → C002 (the file removed);
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
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/cfind"
	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/ul"
	"github.com/radraft/radraft/ingest"
	"github.com/radraft/radraft/internal/netserve"
)

// Index is where stored instances are recorded: the store implements it
// (drafts.Store), this package sees only the ingest types.
type Index interface {
	LookupInstance(ctx context.Context, sopInstanceUID string) (*ingest.StoredInstance, error)
	IndexInstance(ctx context.Context, r *ingest.ReceivedInstance) error
	RecordDuplicate(ctx context.Context, sopInstanceUID string) error
	RecordConflict(ctx context.Context, c ingest.InstanceConflict) error
}

// Config is the SCP's behaviour.
type Config struct {
	AETitle string
	// AllowedCallingAETs: calling AE titles accepted; empty = any.
	AllowedCallingAETs []string
	// SOPClasses: an allowlist of storage SOP classes (Verification is
	// always accepted); empty = every standard storage SOP class
	// (dicom.IsStorageSOPClass).
	SOPClasses []string
	// TransferSyntaxes accepted, in our order of preference; empty =
	// dicom.AcceptedTransferSyntaxes.
	TransferSyntaxes []string
	// MaxAssociations: concurrent associations; more are rejected with a
	// transient A-ASSOCIATE-RJ (source 3, reason 2).
	MaxAssociations int
	// MaxPending: connections without an association yet (awaiting their
	// A-ASSOCIATE-RQ, or closing after a reject), counted apart from
	// associations; when full, the oldest is dropped for a new one, so
	// slow or silent sockets cannot lock real senders out.
	MaxPending int
	// MaxPDU: the P-DATA-TF length we announce and accept; longer aborts.
	MaxPDU uint32
	// IdleTimeout: an association with no new message for this long is aborted.
	IdleTimeout time.Duration
	// ReadTimeout: each PDU must arrive whole within it once awaited (an
	// absolute deadline per PDU, not per read).
	ReadTimeout time.Duration
	// ARTIM: the A-ASSOCIATE-RQ must have arrived whole this long after the
	// connection opened (absolute), and after release/reject/abort the peer
	// has this long to close.
	ARTIM time.Duration
	// IndexTimeout bounds the database work of one instance (or query).
	IndexTimeout time.Duration
	// Finder (optional) answers Study Root C-FIND (STUDY and SERIES
	// levels); nil = the FIND SOP class is not accepted.
	Finder cfind.Finder
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if len(c.TransferSyntaxes) == 0 {
		c.TransferSyntaxes = dicom.AcceptedTransferSyntaxes
	}
	if c.MaxAssociations <= 0 {
		c.MaxAssociations = 32
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 32
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
	cfg      Config
	policy   ul.Policy
	storage  *Storage
	index    Index
	log      *slog.Logger
	services map[uint16]Service

	active atomic.Int64 // established associations
	conns  atomic.Int64 // open connections
	panics atomic.Int64 // association handlers that panicked (recovered)

	track   netserve.Tracker // listeners and live associations
	mu      sync.Mutex
	pending []*ul.Association // not yet established, oldest first
}

// New returns a server storing into storage and indexing into index.
func New(cfg Config, storage *Storage, index Index) *Server {
	cfg.defaults()
	s := &Server{
		cfg:     cfg,
		storage: storage,
		index:   index,
		log:     cfg.Logger,
		track:   netserve.Tracker{Name: "dicom", Log: cfg.Logger},
	}
	s.policy = ul.Policy{
		AETitle:        cfg.AETitle,
		AllowedCalling: cfg.AllowedCallingAETs,
		Accepts: func(uid string) bool {
			return uid == dicom.VerificationSOPClass || s.acceptsSOPClass(uid) || uid == cfind.StudyRootFind && cfg.Finder != nil
		},
		TransferSyntaxes: cfg.TransferSyntaxes,
		MaxPDU:           cfg.MaxPDU,
		ImplClassUID:     dicom.ImplementationClassUID,
		ImplVersionName:  dicom.ImplementationVersionName,
	}
	s.services = map[uint16]Service{
		dimse.CEchoRQ:  echoService{},
		dimse.CStoreRQ: storeService{s},
	}
	if cfg.Finder != nil {
		s.services[dimse.CFindRQ] = findService{s}
	}
	return s
}

// acceptsSOPClass says whether instances of a storage SOP class are accepted.
func (s *Server) acceptsSOPClass(uid string) bool {
	if len(s.cfg.SOPClasses) > 0 {
		return slices.Contains(s.cfg.SOPClasses, uid)
	}
	return dicom.IsStorageSOPClass(uid)
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = netserve.ErrServerClosed

// Serve accepts associations on ln until Shutdown (netserve's accept loop).
func (s *Server) Serve(ln net.Listener) error {
	return s.track.Serve(ln, s.accept)
}

// accept starts the upper layer on a new connection, first making room
// among the sockets without an association.
func (s *Server) accept(nc net.Conn) {
	a := ul.NewAcceptor(nc, ul.Options{ARTIM: s.cfg.ARTIM, IdleTimeout: s.cfg.IdleTimeout,
		PDUTimeout: s.cfg.ReadTimeout, MaxPDU: s.cfg.MaxPDU, WriteTimeout: s.cfg.ReadTimeout})
	s.mu.Lock()
	if len(s.pending) >= s.cfg.MaxPending {
		// The oldest unassociated socket makes room: a real sender
		// sends its A-ASSOCIATE-RQ at once, a trickle never does.
		oldest := s.pending[0]
		s.pending = s.pending[1:]
		oldest.Drop()
	}
	s.pending = append(s.pending, a)
	s.mu.Unlock()
	s.conns.Add(1)
	started := s.track.Go(a, func() {
		defer func() {
			s.mu.Lock()
			s.unpend(a)
			s.mu.Unlock()
			s.conns.Add(-1)
		}()
		defer s.recoverAssociation(a)
		s.handle(a)
	})
	if !started { // shutting down: a was dropped
		s.mu.Lock()
		s.unpend(a)
		s.mu.Unlock()
		s.conns.Add(-1)
	}
}

// unpend removes a from the pending list (s.mu held).
func (s *Server) unpend(a *ul.Association) {
	if i := slices.Index(s.pending, a); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
}

// Shutdown stops accepting, lets every C-STORE in flight finish and be
// answered, aborts associations waiting between messages, and returns when
// all are closed or ctx ends (then it drops what remains).
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.track.Shutdown(ctx); err != nil {
		return fmt.Errorf("scp: %w", err)
	}
	return nil
}

// Active returns the number of established associations.
func (s *Server) Active() int { return int(s.active.Load()) }

// handle runs one connection through the upper layer's state machine
// (ul.Association): establishment, answered by decide, then the DIMSE
// message loop.
func (s *Server) handle(a *ul.Association) {
	remote := a.RemoteAddr()
	established := false
	err := a.Establish(func(rq *ul.AssociateRQ) (*ul.AssociateAC, *ul.Reject) {
		ac, rj := s.decide(a, rq, remote)
		if rj == nil {
			// an association now: no longer evictable as a pending socket
			established = true
			s.mu.Lock()
			s.unpend(a)
			s.mu.Unlock()
		}
		return ac, rj
	})
	if !established {
		if err != nil {
			s.log.Info("dicom: connection closed without association", "remote", remote, "err", err)
		}
		return
	}
	defer s.active.Add(-1)
	if err != nil { // the AC could not be sent
		s.log.Info("dicom: association lost while accepting", "remote", remote, "err", err)
		return
	}
	s.log.Info("dicom: association accepted", "calling_ae", a.RQ.CallingAE, "remote", remote,
		"contexts", len(a.RQ.Contexts), "accepted", len(a.Contexts), "peer_max_pdu", a.RQ.MaxLength)
	(&assoc{s: s, a: a, callingAE: a.RQ.CallingAE, remote: remote}).run()
}

// decide is the local user's answer to an A-ASSOCIATE indication: limits,
// then the policy (AE titles, SOP classes, transfer syntaxes).
func (s *Server) decide(a *ul.Association, rq *ul.AssociateRQ, remote string) (*ul.AssociateAC, *ul.Reject) {
	if a.Interrupted() {
		return nil, &ul.Reject{Result: ul.RejectTransient, Source: ul.SourceProviderPresentation, Reason: ul.ReasonNoReason}
	}
	if rq.MaxLength != 0 && rq.MaxLength < 64 {
		s.log.Warn("dicom: association rejected: peer maximum PDU length too small", "calling_ae", rq.CallingAE, "remote", remote)
		return nil, &ul.Reject{Result: ul.RejectPermanent, Source: ul.SourceServiceUser, Reason: ul.ReasonNoReason}
	}
	if n := s.active.Add(1); n > int64(s.cfg.MaxAssociations) {
		s.active.Add(-1)
		s.log.Warn("dicom: association rejected: limit reached", "calling_ae", rq.CallingAE, "remote", remote, "limit", s.cfg.MaxAssociations)
		return nil, &ul.Reject{Result: ul.RejectTransient, Source: ul.SourceProviderPresentation, Reason: ul.ReasonLocalLimitExceeded}
	}
	ac, rj := ul.Negotiate(rq, &s.policy, dicom.ApplicationContextName)
	if rj != nil {
		s.active.Add(-1)
		s.log.Warn("dicom: association rejected", "calling_ae", rq.CallingAE, "called_ae", rq.CalledAE, "remote", remote,
			"result", rj.Result, "source", rj.Source, "reason", rj.Reason)
	}
	return ac, rj
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
