package hl7

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
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
// an idle timeout.
type Server struct {
	Handler Handler
	// MaxMessage is the largest message accepted (default 1 MiB); a larger
	// one is skipped and answered with AR.
	MaxMessage int
	// IdleTimeout closes a connection silent this long (default 5 minutes).
	IdleTimeout time.Duration
	// WriteTimeout bounds writing one ACK (default 30 seconds).
	WriteTimeout time.Duration
	// MaxConns bounds concurrent connections (default 256); more are
	// closed at once.
	MaxConns int
	Log      *slog.Logger

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
	shutdown bool
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

// Serve accepts connections on ln until Shutdown; it returns nil then.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	s.mu.Unlock()
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = 256
	}
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			done := s.shutdown
			s.mu.Unlock()
			if done || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			// Temporary errors such as EMFILE: back off, keep serving.
			backoff = min(max(backoff*2, 5*time.Millisecond), time.Second)
			s.log().Warn("hl7: accept", "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.shutdown {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		if len(s.conns) >= maxConns {
			s.mu.Unlock()
			s.log().Warn("hl7: too many connections; closing a new one", "remote", c.RemoteAddr().String(), "max", maxConns)
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// Addr is the listening address (nil before Serve).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops accepting, interrupts connections waiting for a message
// (a message being read is dropped unacknowledged: the sender will resend),
// lets messages being stored finish and their ACKs go out, then returns.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		// Wakes readers; a handler in progress still writes its ACK
		// (writes get their own deadline).
		c.SetReadDeadline(time.Now()) //nolint:errcheck
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
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
			s.log().Error("hl7: connection handler panicked; closing it", "remote", remote, "panic", r)
		}
	}()
	maxMsg := s.MaxMessage
	if maxMsg <= 0 {
		maxMsg = 1 << 20
	}
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	wt := s.WriteTimeout
	if wt <= 0 {
		wt = 30 * time.Second
	}
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		// Checked and set under the lock, so that Shutdown's deadline is
		// never overwritten.
		s.mu.Lock()
		stopping := s.shutdown
		if !stopping {
			c.SetReadDeadline(time.Now().Add(idle)) //nolint:errcheck
		}
		s.mu.Unlock()
		if stopping {
			return
		}
		msg, err := ReadFrame(r, maxMsg)
		var ack []byte
		switch {
		case err == nil:
			// Storing must not be cut short by a shutdown signal: the
			// message is either committed and acknowledged, or neither.
			ack = s.Handler.Handle(context.Background(), msg, remote)
		case errors.As(err, new(*TooLargeError)):
			var tl *TooLargeError
			errors.As(err, &tl)
			s.log().Warn("hl7: message too large; rejected", "remote", remote, "limit", tl.Limit)
			parsed, _ := Parse(tl.Prefix)
			code := AR
			if parsed != nil {
				mode := ModeOf(parsed)
				code = mode.Code(AR)
				if !mode.ShouldSend(code) {
					continue
				}
			}
			ack = BuildAck(parsed, tl.Prefix, AckOptions{Code: code, ErrCode: ErrApplicationError,
				Text: "message larger than the receiver's limit"})
		case errors.Is(err, io.EOF):
			return
		case errors.Is(err, ErrFraming):
			s.log().Warn("hl7: not MLLP; closing the connection", "remote", remote, "err", err)
			return
		case errors.Is(err, io.ErrUnexpectedEOF):
			s.log().Warn("hl7: connection closed inside a frame; message dropped unacknowledged", "remote", remote)
			return
		default:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.mu.Lock()
				stopping = s.shutdown
				s.mu.Unlock()
				if !stopping {
					s.log().Info("hl7: idle connection closed", "remote", remote)
				}
				return
			}
			s.log().Warn("hl7: read", "remote", remote, "err", err)
			return
		}
		if ack == nil {
			continue
		}
		c.SetWriteDeadline(time.Now().Add(wt)) //nolint:errcheck
		if err := WriteFrame(c, ack); err != nil {
			s.log().Warn("hl7: writing ACK failed", "remote", remote, "err", err)
			return
		}
	}
}
