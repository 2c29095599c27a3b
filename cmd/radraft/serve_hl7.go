package main

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/radraft/radraft/hl7"
	"github.com/radraft/radraft/internal/lifecycle"
)

// hl7Part is the HL7 MLLP listener: orders from the RIS (ORM^O01,
// OMI^O23), each acknowledged only after it is committed.
func hl7Part() part {
	return part{
		name:    "hl7",
		enabled: func(c *config) bool { return c.runsListeners() && c.MLLPAddr != "" },
		service: func(_ context.Context, d *deps) (lifecycle.Service, error) {
			fields, err := hl7.ParseAccessionFields(d.cfg.AccessionFields) // validated at start
			if err != nil {
				return nil, err
			}
			srv := &hl7.Server{
				Handler: &hl7.OrderHandler{
					Store:             d.store,
					Extractor:         hl7.Extractor{AccessionFields: fields},
					RejectUnsolicited: d.cfg.HL7Unsolicited == "reject",
				},
				MaxMessage:     d.cfg.MLLPMaxMessage,
				IdleTimeout:    d.cfg.MLLPIdleTimeout,
				MessageTimeout: d.cfg.MLLPMessageTimeout,
				MaxConns:       d.cfg.MLLPMaxConns,
			}
			return lifecycle.Listen("hl7", d.cfg.MLLPAddr, func(ln net.Listener) error {
				slog.Info("hl7: MLLP listening", "addr", ln.Addr().String(), "accession_fields", fields)
				if err := srv.Serve(ln); !errors.Is(err, hl7.ErrServerClosed) {
					return err
				}
				return nil
			}, srv.Shutdown), nil
		},
	}
}
