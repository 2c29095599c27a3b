// Package srout delivers radraft's results as DICOM: it takes SR rows from
// the durable outbox (queued in the transaction that signs, amends or
// drafts a report, one per destination), builds the report version's
// Structured Report (dicom/sr) and sends it by C-STORE (dicom/scu). A row
// is marked sent only on a success or warning status; a transient failure
// is retried with exponential backoff, a refusal (failure status, rejected
// association, SOP class not accepted) fails the row at once. Rows live in
// Postgres, so nothing is lost across restarts; delivery is at least once,
// and a resend is the same SOP instance (the SR's UIDs derive from the
// report version).
package srout

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/radraft/radraft/dicom/scu"
	"github.com/radraft/radraft/dicom/sr"
	"github.com/radraft/radraft/drafts"
)

// Loop sends the SR outbox until its context ends. Several nodes may run
// it: rows are claimed with FOR UPDATE SKIP LOCKED.
type Loop struct {
	Store  *drafts.Store
	Client *scu.Client
	// Organization goes to Verifying Organization; empty = "radraft".
	Organization string
	// Poll is how often an idle loop looks for work (default 2 s).
	Poll time.Duration
	// MaxAttempts before a row is marked failed (default 0: never give up
	// on a transient failure).
	MaxAttempts int
	// BaseBackoff doubles per failed attempt up to MaxBackoff (defaults 2 s, 5 min).
	BaseBackoff, MaxBackoff time.Duration
	Logger                  *slog.Logger
}

// Run delivers until ctx is done.
func (l *Loop) Run(ctx context.Context) {
	policy := drafts.OutboxPolicy{
		Kinds:       []string{drafts.OutboxSR, drafts.OutboxSRDraft},
		MaxAttempts: l.MaxAttempts, Backoff: drafts.ExponentialBackoff(l.BaseBackoff, l.MaxBackoff),
		Permanent: scu.Permanent,
	}
	l.Store.RunOutbox(ctx, policy, l.Poll, l.Logger, l.send)
}

// send builds and sends the SR of one outbox row.
func (l *Loop) send(ctx context.Context, it *drafts.OutboxItem) error {
	dests, err := scu.ParseDestinations(it.Destination)
	if err != nil || len(dests) != 1 {
		return &scu.StatusError{Status: 0xC000, Comment: "outbox destination unusable: " + it.Destination}
	}
	file, err := sr.Build(Document(it, l.Organization))
	if err != nil {
		return fmt.Errorf("srout: build: %w", err)
	}
	off, err := sr.DatasetOffset(file)
	if err != nil {
		return err
	}
	_, err = l.Client.Store(ctx, dests[0], sr.BasicTextSR, sr.InstanceUID(it.ReportID, it.Version), file[off:])
	return err
}

// Document is the SR document of an outbox row.
func Document(it *drafts.OutboxItem, organization string) *sr.Document {
	d := &sr.Document{
		Kind: sr.Signed, ReportID: it.ReportID, Version: it.Version,
		StudyUID: it.StudyUID, StudyDate: it.StudyDate, AccessionNumber: it.AccessionNumber,
		PatientID: it.PatientID, PatientName: it.PatientName, PatientBirthDate: it.PatientBirthDate, PatientSex: it.PatientSex,
		PlacerOrderNumber: it.PlacerOrderNumber, FillerOrderNumber: it.FillerOrderNumber,
		ProcedureCode: it.ProcedureCode, ProcedureText: it.ProcedureText,
		Findings: it.Findings, Observer: it.SignedBy, Organization: organization, Time: it.SignedAt,
	}
	if c := it.SR; c != nil {
		d.StudyTime, d.ReferringPhysician = c.StudyTime, c.ReferringPhysician
		d.Indication, d.IndicationSource = c.Indication, c.IndicationSource
		for _, e := range c.Evidence {
			d.Evidence = append(d.Evidence, sr.Ref{SeriesUID: e.SeriesUID, SOPClassUID: e.SOPClassUID, SOPInstanceUID: e.SOPInstanceUID})
		}
		if it.Amended && c.PredecessorVersion > 0 {
			d.Kind, d.PredecessorVersion = sr.Amendment, c.PredecessorVersion
		}
		if it.Kind == drafts.OutboxSRDraft {
			d.Kind, d.Observer = sr.AIDraft, ""
			d.Device = sr.Device{UID: sr.DeviceUID(c.ModelName, c.ModelVersion), Name: c.ModelName,
				Manufacturer: "radraft", ModelName: c.ModelName + " " + c.ModelVersion}
		}
	}
	return d
}
