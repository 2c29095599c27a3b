package hl7

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/radraft/radraft/internal/netserve"
	"github.com/radraft/radraft/internal/panics"
)

// Handler answers one framed message. It returns the acknowledgement to send
// (nil: send none). It is called for one message of a connection at a time,
// in order; calls for different connections run concurrently.
type Handler interface {
	Handle(ctx context.Context, msg []byte, remote string) (ack []byte)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, msg []byte, remote string) []byte

func (f HandlerFunc) Handle(ctx context.Context, msg []byte, remote string) []byte {
	return f(ctx, msg, remote)
}

// Server is an MLLP listener: many connections at once, many messages per
// connection (answered in order), frames split across reads, a size cap and
// deadlines that a slow or silent peer cannot stretch.
type Server struct {
	Handler Handler
	// MaxMessage is the largest message accepted (default 1 MiB); a larger
	// one is read to its end without being kept and answered with AR.
	MaxMessage int
	// IdleTimeout closes a connection silent this long between messages
	// (default 5 minutes).
	IdleTimeout time.Duration
	// MessageTimeout bounds one whole frame, from its first byte to its
	// end block (default 30 seconds): a peer trickling bytes cannot hold a
	// connection longer. An oversized frame still unfinished then gets its
	// AR and the connection is closed.
	MessageTimeout time.Duration
	// WriteTimeout bounds writing one ACK (default 30 seconds).
	WriteTimeout time.Duration
	// MaxConns bounds concurrent connections (default 256). At the cap a
	// new connection closes the one idle longest (waiting between
	// messages); when none is idle the new one is closed at once.
	MaxConns int
	Log      *slog.Logger

	track netserve.Tracker // listener and live connections
	mu    sync.Mutex
	conns map[net.Conn]*connState // for idle eviction and deadlines
}

// connState says whether a connection waits for a message (and since when),
// so that the longest idle one can make room at the connection cap.
type connState struct {
	idle      bool
	idleSince time.Time
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// ListenAndServe listens on addr and serves until Shutdown.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Shutdown; it returns ErrServerClosed
// then (netserve's accept loop).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.track.Name, s.track.Log = "hl7", s.log()
	s.mu.Unlock()
	return s.track.Serve(ln, s.accept)
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = netserve.ErrServerClosed

// accept admits a new connection within MaxConns (evicting the one idle
// longest when needed) and starts serving it.
func (s *Server) accept(c net.Conn) {
	maxConns := cmp.Or(s.MaxConns, 256)
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[net.Conn]*connState{}
	}
	if len(s.conns) >= maxConns && !s.evictIdleLocked() {
		s.mu.Unlock()
		s.log().Warn("hl7: too many busy connections; closing a new one", "remote", c.RemoteAddr().String(), "max", maxConns)
		c.Close()
		return
	}
	s.conns[c] = &connState{idle: true, idleSince: time.Now()}
	s.mu.Unlock()
	// s.mu is not held here: the tracker calls Interrupt (which takes it)
	// under its own lock.
	if !s.track.Go(mllpConn{c, s}, func() { s.serveConn(c) }) {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}
}

// mllpConn is a connection as netserve's tracker sees it.
type mllpConn struct {
	net.Conn
	s *Server
}

// Interrupt wakes a reader waiting for a message; a handler in progress
// still writes its ACK (writes get their own deadline). The deadline is set
// under s.mu, as waitForMessage sets its own, so it is never overwritten.
func (c mllpConn) Interrupt() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.SetReadDeadline(time.Now()) //nolint:errcheck
}

// Drop closes the connection: the drain deadline passed.
func (c mllpConn) Drop() { c.Close() }

// evictIdleLocked closes the connection idle longest to make room for a new
// one; false when every connection is busy with a message. s.mu is held.
func (s *Server) evictIdleLocked() bool {
	var victim net.Conn
	var since time.Time
	for c, st := range s.conns {
		if st.idle && (victim == nil || st.idleSince.Before(since)) {
			victim, since = c, st.idleSince
		}
	}
	if victim == nil {
		return false
	}
	delete(s.conns, victim) // its goroutine sees it gone and ends
	victim.Close()
	s.log().Info("hl7: connection cap reached; closed the connection idle longest", "remote", victim.RemoteAddr().String(),
		"idle", time.Since(since).Round(time.Second))
	return true
}

// Addr is the listening address (nil before Serve).
func (s *Server) Addr() net.Addr { return s.track.Addr() }

// Shutdown stops accepting, interrupts connections waiting for a message
// (a message being read is dropped unacknowledged: the sender will resend),
// lets messages being stored finish and their ACKs go out, then returns.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.track.Shutdown(ctx); err != nil {
		return fmt.Errorf("hl7: %w", err)
	}
	return nil
}

func (s *Server) serveConn(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	remote := c.RemoteAddr().String()
	defer func() {
		if r := recover(); r != nil {
			// A bug must cost one connection, never the server, and
			// never an ACK for a message that was not stored.
			panics.Record(s.log(), "hl7", r, "remote", remote, "closed", "connection")
		}
	}()
	maxMsg := cmp.Or(s.MaxMessage, 1<<20)
	wt := cmp.Or(s.WriteTimeout, 30*time.Second)
	r := bufio.NewReaderSize(c, 64<<10)
	for s.waitForMessage(c, r, remote) {
		msg, err := ReadFrame(r, maxMsg)
		ack, keep := s.answer(msg, err, remote)
		if ack != nil {
			c.SetWriteDeadline(time.Now().Add(wt)) //nolint:errcheck
			if err := WriteFrame(c, ack); err != nil {
				s.log().Warn("hl7: writing ACK failed", "remote", remote, "err", err)
				return
			}
		}
		if !keep {
			return
		}
	}
}

// waitForMessage waits, idle, for the first byte of the next message (at
// most IdleTimeout), then gives the whole message MessageTimeout from now.
// It returns false when the connection is to be closed: the peer closed or
// stayed silent, the server is stopping, or the connection was evicted to
// make room for a new one. Deadlines are set under the lock, so that
// Shutdown's is never overwritten.
func (s *Server) waitForMessage(c net.Conn, r *bufio.Reader, remote string) bool {
	s.mu.Lock()
	st := s.conns[c]
	if s.track.Closing() || st == nil {
		s.mu.Unlock()
		return false
	}
	st.idle, st.idleSince = true, time.Now()
	c.SetReadDeadline(time.Now().Add(cmp.Or(s.IdleTimeout, 5*time.Minute))) //nolint:errcheck
	s.mu.Unlock()

	_, err := r.Peek(1)

	s.mu.Lock()
	st = s.conns[c] // nil once evicted
	stopping := s.track.Closing()
	if st != nil {
		st.idle = false
	}
	if err == nil && st != nil && !stopping {
		c.SetReadDeadline(time.Now().Add(cmp.Or(s.MessageTimeout, 30*time.Second))) //nolint:errcheck
	}
	s.mu.Unlock()
	var ne net.Error
	switch {
	case stopping || st == nil:
		return false
	case errors.As(err, &ne) && ne.Timeout():
		s.log().Info("hl7: idle connection closed", "remote", remote)
		return false
	case errors.Is(err, io.EOF):
		return false
	case err != nil:
		s.log().Warn("hl7: read", "remote", remote, "err", err)
		return false
	}
	return true
}

// answer turns what ReadFrame returned into the acknowledgement to send (nil:
// none) and whether the connection goes on.
func (s *Server) answer(msg []byte, err error, remote string) (ack []byte, keep bool) {
	var tl *TooLargeError
	var ne net.Error
	switch {
	case err == nil:
		return s.handle(msg, remote), true
	case errors.As(err, &tl):
		s.log().Warn("hl7: message too large; rejected", "remote", remote, "limit", tl.Limit, "frame_complete", tl.Err == nil)
		// The stream is in sync only when the frame's end was read.
		return tooLargeAck(tl), tl.Err == nil
	case errors.Is(err, ErrFraming):
		s.log().Warn("hl7: not MLLP; closing the connection", "remote", remote, "err", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.log().Warn("hl7: connection closed inside a frame; message dropped unacknowledged", "remote", remote)
	case errors.As(err, &ne) && ne.Timeout():
		if !s.track.Closing() {
			s.log().Warn("hl7: message not complete within the message timeout; dropped unacknowledged", "remote", remote)
		}
	default:
		s.log().Warn("hl7: read", "remote", remote, "err", err)
	}
	return nil, false
}

// tooLargeAck is the AR (CR in enhanced mode, unless MSH-15 asks for none)
// of an oversized frame, addressed from its first bytes.
func tooLargeAck(tl *TooLargeError) []byte {
	parsed, _ := Parse(tl.Prefix)
	code := AR
	if parsed != nil {
		mode := ModeOf(parsed)
		code = mode.Code(AR)
		if !mode.ShouldSend(code) {
			return nil
		}
	}
	return BuildAck(parsed, tl.Prefix, AckOptions{Code: code, ErrCode: ErrApplicationError,
		Text: fmt.Sprintf("message larger than the receiver's limit of %d bytes", tl.Limit)})
}

// handle runs the Handler on one message. A panic costs that message only:
// it is answered AR (nothing was stored; the same bytes would fail again)
// and the connection goes on with the next frame, which is still in sync.
func (s *Server) handle(msg []byte, remote string) (ack []byte) {
	defer func() {
		if r := recover(); r != nil {
			panics.Record(s.log(), "hl7", r, "remote", remote, "bytes", len(msg))
			ack = BuildAck(nil, msg, AckOptions{Code: AR, ErrCode: ErrApplicationError,
				Text: "internal error while processing the message; it was not stored"})
		}
	}()
	// Storing must not be cut short by a shutdown signal: the message is
	// either committed and acknowledged, or neither.
	return s.Handler.Handle(context.Background(), msg, remote)
}
