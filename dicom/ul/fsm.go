package ul

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The upper layer protocol machine of PS3.8 9.2: its states, events and
// actions, the state transition table (Table 9-10) as the standard prints
// it, and the acceptor that runs it on one connection. Everything an
// acceptor does on the wire is an action of this table; callers above
// (the DIMSE services) only issue primitives (accept or reject, send data,
// release, abort) and receive indications (PDVs, release, abort).

// State is a state of the protocol machine (PS3.8 Table 9-1).
type State uint8

// The states.
const (
	Sta1  State = iota + 1 // idle
	Sta2                   // transport open, awaiting A-ASSOCIATE-RQ PDU
	Sta3                   // awaiting local A-ASSOCIATE response primitive
	Sta4                   // awaiting transport connection opening to complete
	Sta5                   // awaiting A-ASSOCIATE-AC or -RJ PDU
	Sta6                   // association established, ready for data transfer
	Sta7                   // awaiting A-RELEASE-RP PDU
	Sta8                   // awaiting local A-RELEASE response primitive
	Sta9                   // release collision requestor: awaiting A-RELEASE response primitive
	Sta10                  // release collision acceptor: awaiting A-RELEASE-RP PDU
	Sta11                  // release collision requestor: awaiting A-RELEASE-RP PDU
	Sta12                  // release collision acceptor: awaiting A-RELEASE response primitive
	Sta13                  // awaiting transport connection close indication
)

func (s State) String() string { return fmt.Sprintf("Sta%d", s) }

// Event is an event of the protocol machine (PS3.8 Table 9-2).
type Event uint8

// The events.
const (
	Evt1  Event = iota + 1 // A-ASSOCIATE request primitive
	Evt2                   // transport connect confirmation
	Evt3                   // A-ASSOCIATE-AC PDU received
	Evt4                   // A-ASSOCIATE-RJ PDU received
	Evt5                   // transport connection indication
	Evt6                   // A-ASSOCIATE-RQ PDU received
	Evt7                   // A-ASSOCIATE response primitive (accept)
	Evt8                   // A-ASSOCIATE response primitive (reject)
	Evt9                   // P-DATA request primitive
	Evt10                  // P-DATA-TF PDU received
	Evt11                  // A-RELEASE request primitive
	Evt12                  // A-RELEASE-RQ PDU received
	Evt13                  // A-RELEASE-RP PDU received
	Evt14                  // A-RELEASE response primitive
	Evt15                  // A-ABORT request primitive
	Evt16                  // A-ABORT PDU received
	Evt17                  // transport connection closed indication
	Evt18                  // ARTIM timer expired
	Evt19                  // unrecognized or invalid PDU received
)

func (e Event) String() string { return fmt.Sprintf("Evt%d", e) }

// Action is an action of the protocol machine (PS3.8 Tables 9-6 to 9-9).
type Action uint8

// The actions; NoAction marks a (state, event) pair the table leaves empty.
const (
	NoAction Action = iota
	AE1             // issue transport connect request → Sta4
	AE2             // send A-ASSOCIATE-RQ PDU → Sta5
	AE3             // issue A-ASSOCIATE confirmation (accept) → Sta6
	AE4             // issue A-ASSOCIATE confirmation (reject), close transport → Sta1
	AE5             // issue transport connection response, start ARTIM → Sta2
	AE6             // stop ARTIM; acceptable: A-ASSOCIATE indication → Sta3; else send RJ, start ARTIM → Sta13
	AE7             // send A-ASSOCIATE-AC PDU → Sta6
	AE8             // send A-ASSOCIATE-RJ PDU, start ARTIM → Sta13
	DT1             // send P-DATA-TF PDU → Sta6
	DT2             // issue P-DATA indication → Sta6
	AR1             // send A-RELEASE-RQ PDU → Sta7
	AR2             // issue A-RELEASE indication → Sta8
	AR3             // issue A-RELEASE confirmation, close transport → Sta1
	AR4             // send A-RELEASE-RP PDU, start ARTIM → Sta13
	AR5             // stop ARTIM → Sta1
	AR6             // issue P-DATA indication → Sta7
	AR7             // send P-DATA-TF PDU → Sta8
	AR8             // issue A-RELEASE indication (collision) → Sta9 (requestor) or Sta10 (acceptor)
	AR9             // send A-RELEASE-RP PDU → Sta11
	AR10            // issue A-RELEASE confirmation → Sta12
	AA1             // send A-ABORT PDU, start ARTIM → Sta13
	AA2             // stop ARTIM, close transport → Sta1
	AA3             // issue A-ABORT (or A-P-ABORT) indication, close transport → Sta1
	AA4             // issue A-P-ABORT indication → Sta1
	AA5             // stop ARTIM → Sta1
	AA6             // ignore the PDU → Sta13
	AA7             // send A-ABORT PDU → Sta13
	AA8             // send A-ABORT PDU (provider), issue A-P-ABORT indication, start ARTIM → Sta13
)

var actionNames = [...]string{"-", "AE-1", "AE-2", "AE-3", "AE-4", "AE-5", "AE-6", "AE-7", "AE-8", "DT-1", "DT-2",
	"AR-1", "AR-2", "AR-3", "AR-4", "AR-5", "AR-6", "AR-7", "AR-8", "AR-9", "AR-10",
	"AA-1", "AA-2", "AA-3", "AA-4", "AA-5", "AA-6", "AA-7", "AA-8"}

func (a Action) String() string { return actionNames[a] }

// table is PS3.8 Table 9-10: for each event, the action in each state.
var table = [Evt19 + 1][Sta13 + 1]Action{
	Evt1:  {Sta1: AE1},
	Evt2:  {Sta4: AE2},
	Evt3:  {Sta2: AA1, Sta3: AA8, Sta5: AE3, Sta6: AA8, Sta7: AA8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA6},
	Evt4:  {Sta2: AA1, Sta3: AA8, Sta5: AE4, Sta6: AA8, Sta7: AA8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA6},
	Evt5:  {Sta1: AE5},
	Evt6:  {Sta2: AE6, Sta3: AA8, Sta5: AA8, Sta6: AA8, Sta7: AA8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA7},
	Evt7:  {Sta3: AE7},
	Evt8:  {Sta3: AE8},
	Evt9:  {Sta6: DT1, Sta8: AR7},
	Evt10: {Sta2: AA1, Sta3: AA8, Sta5: AA8, Sta6: DT2, Sta7: AR6, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA6},
	Evt11: {Sta6: AR1},
	Evt12: {Sta2: AA1, Sta3: AA8, Sta5: AA8, Sta6: AR2, Sta7: AR8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA6},
	Evt13: {Sta2: AA1, Sta3: AA8, Sta5: AA8, Sta6: AA8, Sta7: AR3, Sta8: AA8, Sta9: AA8, Sta10: AR10, Sta11: AR3, Sta12: AA8, Sta13: AA6},
	Evt14: {Sta8: AR4, Sta9: AR9, Sta12: AR4},
	Evt15: {Sta3: AA1, Sta4: AA2, Sta5: AA1, Sta6: AA1, Sta7: AA1, Sta8: AA1, Sta9: AA1, Sta10: AA1, Sta11: AA1, Sta12: AA1},
	Evt16: {Sta2: AA2, Sta3: AA3, Sta5: AA3, Sta6: AA3, Sta7: AA3, Sta8: AA3, Sta9: AA3, Sta10: AA3, Sta11: AA3, Sta12: AA3, Sta13: AA2},
	Evt17: {Sta2: AA5, Sta3: AA4, Sta4: AA4, Sta5: AA4, Sta6: AA4, Sta7: AA4, Sta8: AA4, Sta9: AA4, Sta10: AA4, Sta11: AA4, Sta12: AA4, Sta13: AR5},
	Evt18: {Sta2: AA2, Sta13: AA2},
	Evt19: {Sta2: AA1, Sta3: AA8, Sta5: AA8, Sta6: AA8, Sta7: AA8, Sta8: AA8, Sta9: AA8, Sta10: AA8, Sta11: AA8, Sta12: AA8, Sta13: AA7},
}

// Transition is the action PS3.8 Table 9-10 defines for event e in state s
// (NoAction where the table is empty: an event that cannot occur there).
func Transition(s State, e Event) Action {
	if s < Sta1 || s > Sta13 || e < Evt1 || e > Evt19 {
		return NoAction
	}
	return table[e][s]
}

// pduEvent is the event a received PDU header is, given the limits: an
// unknown type or a length its type cannot have is Evt19.
func pduEvent(h Header, maxPDU uint32) (Event, *ProtocolError) {
	fixed4 := func(e Event) (Event, *ProtocolError) {
		if h.Length != 4 {
			return Evt19, &ProtocolError{AbortInvalidParam, fmt.Sprintf("PDU type %#x of length %d", h.Type, h.Length)}
		}
		return e, nil
	}
	switch h.Type {
	case TypeAssociateRQ, TypeAssociateAC:
		if h.Length > MaxNegotiationPDU {
			return Evt19, &ProtocolError{AbortInvalidParam, fmt.Sprintf("A-ASSOCIATE PDU of %d bytes: %v", h.Length, ErrPDUTooLarge)}
		}
		if h.Type == TypeAssociateRQ {
			return Evt6, nil
		}
		return Evt3, nil
	case TypeAssociateRJ:
		return fixed4(Evt4)
	case TypePDataTF:
		if h.Length > maxPDU {
			return Evt19, &ProtocolError{AbortInvalidParam, fmt.Sprintf("P-DATA-TF of %d bytes, over %d: %v", h.Length, maxPDU, ErrPDUTooLarge)}
		}
		if h.Length < 6 {
			return Evt19, &ProtocolError{AbortInvalidParam, fmt.Sprintf("P-DATA-TF of %d bytes holds no PDV", h.Length)}
		}
		return Evt10, nil
	case TypeReleaseRQ:
		return fixed4(Evt12)
	case TypeReleaseRP:
		return fixed4(Evt13)
	case TypeAbort:
		return fixed4(Evt16)
	default:
		return Evt19, &ProtocolError{AbortUnrecognizedPDU, fmt.Sprintf("unknown PDU type %#x", h.Type)}
	}
}

// Options are an acceptor's timers and limits.
type Options struct {
	// ARTIM: the A-ASSOCIATE-RQ must have arrived whole this long after the
	// connection opened (an absolute deadline: a trickle cannot stretch
	// it), and after a reject, release or abort the peer has this long to
	// close.
	ARTIM time.Duration
	// IdleTimeout: in Sta6, the next message must start within it.
	IdleTimeout time.Duration
	// PDUTimeout: once a PDU (or the next PDU of a message) is awaited,
	// it must arrive whole within it.
	PDUTimeout time.Duration
	// MaxPDU is the longest P-DATA-TF accepted (and announced).
	MaxPDU uint32
	// WriteTimeout bounds each write.
	WriteTimeout time.Duration
}

// Negotiator is the local user's answer to an A-ASSOCIATE indication:
// an AC (Evt7) or a reject (Evt8).
type Negotiator func(rq *AssociateRQ) (*AssociateAC, *Reject)

// AcceptedContext is a presentation context accepted in Sta6.
type AcceptedContext struct {
	AbstractSyntax, TransferSyntax string
}

// Association is the acceptor side of one association, driven by Table 9-10.
type Association struct {
	c     *Conn
	opt   Options
	state State
	// RQ and AC are the negotiation, once established.
	RQ       *AssociateRQ
	AC       *AssociateAC
	Contexts map[byte]AcceptedContext
	// Trace, when set, sees every transition taken.
	Trace func(State, Event, Action)
	// unframed: a PDU header could not be trusted (unknown type, impossible
	// length), so what follows cannot be split into PDUs any more.
	unframed bool
}

// Errors reporting how an association ended (indications to the user).
var (
	// ErrRejected: we rejected the association (AE-8).
	ErrRejected = errors.New("ul: association rejected")
	// ErrTransportClosed: the peer closed the connection (AA-4, AA-5).
	ErrTransportClosed = errors.New("ul: transport connection closed")
	// ErrARTIM: the A-ASSOCIATE-RQ did not arrive in time (AA-2).
	ErrARTIM = errors.New("ul: ARTIM expired")
	// ErrTimeout: an idle or PDU deadline passed; the association was aborted.
	ErrTimeout = errors.New("ul: deadline passed")
)

// NewAcceptor takes a new transport connection (Evt5, AE-5: ARTIM starts; Sta2).
func NewAcceptor(nc net.Conn, opt Options) *Association {
	c := NewConn(nc, 64<<10)
	c.MaxPDU = opt.MaxPDU
	c.WriteTimeout = opt.WriteTimeout
	a := &Association{c: c, opt: opt, state: Sta1}
	a.take(Evt5)
	a.c.setDeadline(time.Now().Add(opt.ARTIM), true)
	return a
}

// take moves the machine for event e and returns the action to perform.
func (a *Association) take(e Event) Action {
	act := Transition(a.state, e)
	if a.Trace != nil {
		a.Trace(a.state, e, act)
	}
	switch act {
	case AE5:
		a.state = Sta2
	case AE6:
		a.state = Sta3 // or Sta13, set by the caller when the RQ is not acceptable
	case AE7, DT1, DT2:
		a.state = Sta6
	case AR2:
		a.state = Sta8
	case AE8, AR4, AA1, AA6, AA7, AA8:
		a.state = Sta13
	case AA2, AA3, AA4, AA5, AR5:
		a.state = Sta1
	}
	return act
}

// State is the machine's current state.
func (a *Association) State() State { return a.state }

// RemoteAddr is the peer's address.
func (a *Association) RemoteAddr() string {
	if ra := a.c.nc.RemoteAddr(); ra != nil {
		return ra.String()
	}
	return ""
}

// Interrupt asks the association to stop (server shutdown): a wait for the
// next message, for the RQ or in Sta13 ends at once; a message being
// received is finished first (Interrupted reports it).
func (a *Association) Interrupt() { a.c.Interrupt() }

// Interrupted reports whether Interrupt was called.
func (a *Association) Interrupted() bool { return a.c.Interrupted() }

// StreamDataset sends size bytes from r as a dataset on ctxID (DT-1).
func (a *Association) StreamDataset(ctxID byte, r io.Reader, size int64) error {
	if a.take(Evt9) != DT1 {
		return fmt.Errorf("ul: P-DATA request in %v", a.state)
	}
	return a.c.StreamFragments(ctxID, r, size)
}

// nextEvent reads the next PDU header and classifies it, or the transport
// event (close, deadline) that came instead.
func (a *Association) nextEvent() (Event, Header, *ProtocolError, error) {
	h, err := ReadHeader(a.c.br)
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, ErrInterrupted):
			return 0, h, nil, err
		case errors.As(err, &ne) && ne.Timeout():
			if a.state == Sta2 || a.state == Sta13 {
				return Evt18, h, nil, err
			}
			return 0, h, nil, ErrTimeout
		default:
			return Evt17, h, nil, err
		}
	}
	ev, pe := pduEvent(h, a.c.MaxPDU)
	if pe != nil {
		a.unframed = true
	}
	return ev, h, pe, nil
}

// Establish runs Sta2 to Sta6: it waits (ARTIM) for the A-ASSOCIATE-RQ,
// lets decide accept or reject it, and sends the answer. A nil error means
// Sta6; otherwise the connection is closed and the error says why.
func (a *Association) Establish(decide Negotiator) error {
	ev, h, pe, err := a.nextEvent()
	var rq *AssociateRQ
	if ev == Evt6 {
		// The RQ must be in whole before ARTIM expires (AE-6 stops it).
		rq, ev, pe, err = a.readRQ(h)
	}
	if ev == 0 { // interrupted: no association to answer
		a.c.Close()
		a.state = Sta1
		return err
	}
	switch a.take(ev) {
	case AE6:
		return a.associate(rq, decide)
	case AA1:
		if pe == nil {
			pe = &ProtocolError{AbortUnexpectedPDU, fmt.Sprintf("PDU type %#x before association", h.Type)}
			a.c.pduLeft = h.Length // skipped in Sta13
		}
		a.sendAbort(AbortSourceProvider, pe.Reason)
		return pe
	case AA2:
		a.c.Close()
		if ev == Evt18 {
			return ErrARTIM
		}
		return ErrPeerAborted
	default: // AA5
		a.c.Close()
		return ErrTransportClosed
	}
}

// readRQ reads and decodes the body of an A-ASSOCIATE-RQ: Evt6 when it is
// valid, Evt19 when not, Evt17/Evt18 when the transport closes or ARTIM
// expires first.
func (a *Association) readRQ(h Header) (*AssociateRQ, Event, *ProtocolError, error) {
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(a.c.br, body); err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, ErrInterrupted):
			return nil, 0, nil, err
		case errors.As(err, &ne) && ne.Timeout():
			return nil, Evt18, nil, err
		default:
			return nil, Evt17, nil, err
		}
	}
	rq, err := DecodeAssociateRQ(body)
	if err != nil {
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			pe = &ProtocolError{AbortInvalidParam, err.Error()}
		}
		return nil, Evt19, pe, err
	}
	return rq, Evt6, nil, nil
}

// associate is the rest of AE-6 (the service provider's check of the
// protocol version), then the user's answer: AE-7 or AE-8.
func (a *Association) associate(rq *AssociateRQ, decide Negotiator) error {
	a.RQ = rq
	if rq.ProtocolVersion&1 == 0 { // not acceptable to the service provider
		a.state = Sta13
		a.sendReject(&Reject{RejectPermanent, SourceProviderACSE, ReasonProtocolVersion})
		return ErrRejected
	}
	ac, rj := decide(rq)
	if rj != nil {
		a.take(Evt8)
		a.sendReject(rj)
		return fmt.Errorf("%w (result %d, source %d, reason %d)", ErrRejected, rj.Result, rj.Source, rj.Reason)
	}
	a.take(Evt7)
	a.AC = ac
	a.c.PeerMaxPDU = rq.MaxLength
	a.Contexts = map[byte]AcceptedContext{}
	for _, r := range ac.Contexts {
		if r.Result != ResultAcceptance {
			continue
		}
		for _, pc := range rq.Contexts {
			if pc.ID == r.ID {
				a.Contexts[r.ID] = AcceptedContext{pc.AbstractSyntax, r.TransferSyntax}
			}
		}
	}
	if err := a.c.WritePDU(ac.Encode()); err != nil {
		a.c.Close()
		a.state = Sta1
		return err
	}
	return nil
}

// sendReject sends an A-ASSOCIATE-RJ and waits in Sta13 (AE-8).
func (a *Association) sendReject(rj *Reject) {
	a.c.WritePDU(EncodeReject(rj.Result, rj.Source, rj.Reason)) //nolint:errcheck
	a.awaitClose()
}

// sendAbort sends an A-ABORT and waits in Sta13 (AA-1, AA-8).
func (a *Association) sendAbort(source, reason byte) {
	a.c.WritePDU(EncodeAbort(source, reason)) //nolint:errcheck
	a.awaitClose()
}

// awaitClose is Sta13: ARTIM runs while the peer closes; PDUs are ignored
// (AA-6) or answered with A-ABORT (AA-7, once: an invalid PDU leaves the
// stream unframed); a close (AR-5), an A-ABORT or ARTIM's expiry (AA-2)
// ends it. At most 1 MB is read.
func (a *Association) awaitClose() {
	a.c.setDeadline(time.Now().Add(a.opt.ARTIM), true)
	budget := int64(1 << 20)
	skip := func(n int64) bool {
		if n > budget {
			return false
		}
		budget -= n
		_, err := a.c.br.Discard(int(n))
		return err == nil
	}
	// the rest of the PDU being read, if any, so the next header is one
	if !a.unframed && !skip(a.c.pdvLeft+int64(a.c.pduLeft)) {
		a.state = Sta1
	}
	a.c.pdvLeft, a.c.pduLeft = 0, 0
	for a.state == Sta13 {
		if a.unframed {
			io.CopyN(io.Discard, a.c.br, budget) //nolint:errcheck // until close, ARTIM or the budget
			break
		}
		ev, h, pe, _ := a.nextEvent()
		if ev == 0 {
			break // interrupted
		}
		switch a.take(ev) {
		case AA6:
			if !skip(int64(h.Length)) {
				a.state = Sta1
			}
		case AA7:
			a.c.WritePDU(EncodeAbort(AbortSourceProvider, AbortUnexpectedPDU)) //nolint:errcheck
			a.unframed = a.unframed || pe != nil || !skip(int64(h.Length))
		}
	}
	a.state = Sta1
	a.c.Close()
}

// NextPDV is the next P-DATA indication (DT-2) in Sta6. idle says a new
// message is awaited (IdleTimeout, and a shutdown may interrupt the wait);
// otherwise the rest of a message is (PDUTimeout). Any other PDU takes its
// action from the table: A-RELEASE-RQ → AR-2, Sta8 and ErrReleaseRQ (answer
// with Release); A-ABORT → AA-3, ErrPeerAborted; a PDU that has no place
// here or breaks PS3.8 → AA-8 and a *ProtocolError; a close → AA-4. After
// an error other than ErrReleaseRQ the association is over.
func (a *Association) NextPDV(idle bool) (PDV, error) {
	if a.c.pdvLeft > 0 {
		if _, err := a.c.br.Discard(int(a.c.pdvLeft)); err != nil {
			return PDV{}, a.lost(err)
		}
		a.c.pdvLeft = 0
	}
	if a.c.pduLeft > 0 {
		return a.pdv()
	}
	if idle {
		a.c.setDeadline(time.Now().Add(a.opt.IdleTimeout), true)
	} else {
		a.c.setDeadline(time.Now().Add(a.opt.PDUTimeout), false)
	}
	ev, h, pe, err := a.nextEvent()
	if ev == 0 {
		return PDV{}, a.lost(err)
	}
	switch a.take(ev) {
	case DT2:
		a.c.setDeadline(time.Now().Add(a.opt.PDUTimeout), false) // the whole PDU within it
		a.c.pduLeft = h.Length
		return a.pdv()
	case AR2:
		a.c.br.Discard(4) //nolint:errcheck
		return PDV{}, ErrReleaseRQ
	case AA3:
		a.c.Close()
		return PDV{}, ErrPeerAborted
	case AA4:
		a.c.Close()
		return PDV{}, ErrTransportClosed
	default: // AA8
		if pe == nil {
			pe = &ProtocolError{AbortUnexpectedPDU, fmt.Sprintf("PDU type %#x during association", h.Type)}
			a.c.pduLeft = h.Length // skipped in Sta13
		}
		a.sendAbort(AbortSourceProvider, pe.Reason)
		return PDV{}, pe
	}
}

// pdv reads the next PDV header of the current P-DATA-TF; a malformed one
// or one on a context not accepted is Evt19 (AA-8).
func (a *Association) pdv() (PDV, error) {
	p, err := a.c.nextPDVInPDU()
	if err == nil {
		if _, ok := a.Contexts[p.ContextID]; !ok {
			err = &ProtocolError{AbortInvalidParam, fmt.Sprintf("PDV on presentation context %d, not accepted", p.ContextID)}
		}
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		a.take(Evt19)
		a.sendAbort(AbortSourceProvider, pe.Reason)
		return PDV{}, pe
	}
	if err != nil {
		return PDV{}, a.lost(err)
	}
	return p, nil
}

// lost handles a transport failure in Sta6: a close is Evt17 (AA-4); a
// deadline or shutdown is the local service's abort (Evt15, AA-1).
func (a *Association) lost(err error) error {
	var ne net.Error
	if errors.Is(err, ErrInterrupted) || errors.Is(err, ErrTimeout) || errors.As(err, &ne) && ne.Timeout() {
		a.take(Evt15)
		a.sendAbort(AbortSourceUser, AbortNotSpecified)
		if errors.Is(err, ErrInterrupted) {
			return err
		}
		return ErrTimeout
	}
	a.take(Evt17)
	a.c.Close()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTransportClosed
	}
	return err
}

// Read reads data of the current PDV; io.EOF at its end. A transport
// failure ends the association (see lost).
func (a *Association) Read(p []byte) (int, error) {
	n, err := a.c.Read(p)
	if err != nil && err != io.EOF {
		err = a.lost(err)
	}
	return n, err
}

// Send sends a command or dataset on context ctxID (P-DATA request, DT-1).
func (a *Association) Send(ctxID byte, command bool, data []byte) error {
	if a.take(Evt9) != DT1 {
		return fmt.Errorf("ul: P-DATA request in %v", a.state)
	}
	return a.c.WriteFragments(ctxID, command, data)
}

// Release answers an A-RELEASE indication (Evt14, AR-4: A-RELEASE-RP, then
// Sta13 until the peer closes).
func (a *Association) Release() error {
	if a.take(Evt14) != AR4 {
		return fmt.Errorf("ul: A-RELEASE response in %v", a.state)
	}
	if err := a.c.WritePDU(EncodeRelease(TypeReleaseRP)); err != nil {
		a.c.Close()
		a.state = Sta1
		return err
	}
	a.awaitClose()
	return nil
}

// Abort is the local user's A-ABORT request (Evt15, AA-1): an A-ABORT of
// service-user source, then Sta13 until the peer closes.
func (a *Association) Abort() {
	if a.take(Evt15) != AA1 {
		a.c.Close()
		a.state = Sta1
		return
	}
	a.sendAbort(AbortSourceUser, AbortNotSpecified)
}

// Close drops the transport whatever the state (a last resort, e.g. after
// a panic: it sends an A-ABORT first when the machine is not idle).
func (a *Association) Close() {
	if a.state != Sta1 {
		a.c.WritePDU(EncodeAbort(AbortSourceProvider, AbortNotSpecified)) //nolint:errcheck
	}
	a.state = Sta1
	a.c.Close()
}

// Drop closes the transport at once; safe from any goroutine (eviction of
// a pending connection, forced shutdown). The machine then sees Evt17.
func (a *Association) Drop() { a.c.nc.Close() }
