package main

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/internal/lifecycle"
)

// dicomPart is the DICOM listener: C-ECHO and C-STORE, each instance
// answered only after it is fsynced, renamed into the storage tree and
// indexed. Stop: no new associations, the C-STOREs in flight finish.
func dicomPart() part {
	return part{
		name:    "dicom",
		enabled: func(c *config) bool { return c.runsListeners() && c.DICOMAddr != "" },
		service: func(_ context.Context, d *deps) (lifecycle.Service, error) {
			storage, err := scp.OpenStorage(d.cfg.StorageDir)
			if err != nil {
				return nil, err
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
			l := lifecycle.Listen("dicom", d.cfg.DICOMAddr, func(ln net.Listener) error {
				slog.Info("dicom: SCP listening", "addr", ln.Addr().String(), "ae_title", d.cfg.AETitle,
					"max_associations", d.cfg.MaxAssociations)
				if err := srv.Serve(ln); !errors.Is(err, scp.ErrServerClosed) {
					return err
				}
				return nil
			}, srv.Shutdown)
			return l, nil
		},
	}
}
