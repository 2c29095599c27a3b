package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/radraft/radraft/hl7"
)

// The HL7 MLLP listener: orders from the RIS (ORM^O01, OMI^O23), each
// acknowledged only after it is committed.
func init() {
	addComponent(component{
		name:    "hl7",
		enabled: func(c *config) bool { return c.runsListeners() && c.MLLPAddr != "" },
		start: func(ctx context.Context, d *deps) (func(context.Context) error, error) {
			fields, err := hl7.ParseAccessionFields(d.cfg.AccessionFields)
			if err != nil {
				return nil, fmt.Errorf("--accession-fields: %w", err)
			}
			ln, err := net.Listen("tcp", d.cfg.MLLPAddr)
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
			go func() {
				if err := srv.Serve(ln); err != nil {
					slog.Error("hl7: listener stopped", "err", err)
				}
			}()
			slog.Info("hl7: MLLP listening", "addr", ln.Addr().String(), "accession_fields", fields)
			return srv.Shutdown, nil
		},
	})
}
