package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/radraft/radraft/dicom/scp"
)

// The DICOM listener: C-ECHO and C-STORE, each instance answered only after
// it is fsynced, renamed into the storage tree and indexed.
func init() {
	addComponent(component{
		name:    "dicom",
		enabled: func(c *config) bool { return c.runsListeners() && c.DICOMAddr != "" },
		start: func(ctx context.Context, d *deps) (func(context.Context) error, error) {
			storage, err := scp.OpenStorage(d.cfg.StorageDir)
			if err != nil {
				return nil, err
			}
			if d.cfg.MaxPDULength <= 0 {
				return nil, fmt.Errorf("--max-pdu-length must be positive")
			}
			srv := scp.New(scp.Config{
				AETitle:            d.cfg.AETitle,
				AllowedCallingAETs: scp.SplitList(d.cfg.AllowedCallingAETs),
				SOPClasses:         scp.SplitList(d.cfg.SOPClasses),
				TransferSyntaxes:   scp.SplitList(d.cfg.TransferSyntaxes),
				MaxAssociations:    d.cfg.MaxAssociations,
				MaxPending:         d.cfg.MaxPending,
				MaxPDU:             uint32(d.cfg.MaxPDULength),
				IdleTimeout:        d.cfg.DICOMIdleTimeout,
				ReadTimeout:        d.cfg.DICOMReadTimeout,
				ARTIM:              d.cfg.DICOMARTIM,
				Finder:             archiveFinder{d.store},
			}, storage, d.store)
			d.metrics = append(d.metrics, srv.Collector())
			d.ingest = srv
			ln, err := net.Listen("tcp", d.cfg.DICOMAddr)
			if err != nil {
				return nil, err
			}
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, scp.ErrServerClosed) {
					slog.Error("dicom: listener stopped", "err", err)
				}
			}()
			slog.Info("dicom: SCP listening", "addr", ln.Addr().String(), "ae_title", d.cfg.AETitle,
				"max_associations", d.cfg.MaxAssociations)
			// Shutdown: stop accepting, finish the C-STOREs in flight, close.
			return srv.Shutdown, nil
		},
	})
}
