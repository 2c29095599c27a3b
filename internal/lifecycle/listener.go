package lifecycle

import (
	"context"
	"log/slog"
	"net"
)

// Listener is the Service of a network server that serves a net.Listener
// until its own Shutdown (scp.Server, hl7.Server, http.Server): Start binds
// the address, so an address in use fails Start; Stop is the server's
// graceful shutdown under the deadline.
type Listener struct {
	Hooks
	ln net.Listener
}

// Listen returns the Service that binds addr (TCP) and runs serve on it.
// serve must return nil once shutdown closed it; another error is logged
// (the process keeps its other parts).
func Listen(name, addr string, serve func(net.Listener) error, shutdown func(context.Context) error) *Listener {
	l := &Listener{}
	l.OnStart = func(context.Context) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		l.ln = ln
		go func() {
			if err := serve(ln); err != nil {
				slog.Error(name+": listener stopped", "addr", ln.Addr().String(), "err", err)
			}
		}()
		return nil
	}
	l.OnStop = shutdown
	return l
}

// Addr is the bound address (nil before Start): with port 0, the one chosen.
func (l *Listener) Addr() net.Addr {
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}
