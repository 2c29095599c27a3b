package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/hl7"
)

// ResultsLoop delivers the outbox (ORU^R01 of signed and amended reports) to
// the RIS: oldest due row first, one at a time, retrying failures with
// exponential backoff. Several nodes may run it: rows are claimed with
// FOR UPDATE SKIP LOCKED. Delivery is at least once (a lost ACK resends the
// same MSH-10, which the RIS can recognise).
type ResultsLoop struct {
	Store *drafts.Store
	// Send delivers one message and returns nil only on a positive ACK.
	Send func(ctx context.Context, msg []byte) error
	// Poll is how often an idle loop looks for work (default 2s).
	Poll time.Duration
	// MaxAttempts before a row is marked failed (default 0: never give up).
	MaxAttempts int
	// BaseBackoff doubles per failed attempt up to MaxBackoff (defaults 2s, 5min).
	BaseBackoff, MaxBackoff time.Duration
	// SendingApp / SendingFacility / ReceivingApp / ReceivingFacility go to MSH-3..6.
	SendingApp, SendingFacility, ReceivingApp, ReceivingFacility string
	Logger                                                       *slog.Logger
}

// MLLPSender sends over MLLP with the hl7 package's client (one kept-open
// connection, reconnecting after errors).
func MLLPSender(addr string, timeout time.Duration) func(context.Context, []byte) error {
	c := &hl7.Client{Addr: addr, Timeout: timeout}
	return func(ctx context.Context, msg []byte) error {
		_, err := c.Send(ctx, msg)
		return err
	}
}

// Run delivers until ctx is done.
func (l *ResultsLoop) Run(ctx context.Context) error {
	policy := drafts.OutboxPolicy{Kinds: []string{drafts.OutboxORU}, MaxAttempts: l.MaxAttempts,
		Backoff: drafts.ExponentialBackoff(l.BaseBackoff, l.MaxBackoff), Permanent: func(err error) bool {
			var nak *hl7.NakError
			return errors.As(err, &nak) && nak.Permanent()
		}}
	l.Store.RunOutbox(ctx, policy, l.Poll, l.Logger, func(ctx context.Context, it *drafts.OutboxItem) error {
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		return l.Send(sctx, l.BuildORU(it, time.Now()))
	})
	return nil
}

// BuildORU makes the ORU^R01 of an outbox row. MSH-10 is stable per row
// ("RR" + id) so a resend after a lost ACK carries the same control ID.
func (l *ResultsLoop) BuildORU(it *drafts.OutboxItem, now time.Time) []byte {
	status := "F"
	if it.Amended {
		status = "C"
	}
	var observed time.Time
	if it.StudyDate != "" {
		observed, _ = time.Parse("20060102", it.StudyDate)
	}
	return hl7.BuildORU(hl7.ReportResult{
		SendingApp: l.SendingApp, SendingFacility: l.SendingFacility,
		ReceivingApp: l.ReceivingApp, ReceivingFacility: l.ReceivingFacility,
		ControlID: "RR" + strings.TrimLeft(itoa64(it.ID), "-"),
		PatientID: it.PatientID, PatientName: it.PatientName, PatientBirthDate: it.PatientBirthDate, PatientSex: it.PatientSex,
		AccessionNumber: it.AccessionNumber, StudyUID: it.StudyUID,
		PlacerOrderNumber: it.PlacerOrderNumber, FillerOrderNumber: it.FillerOrderNumber,
		ProcedureCode: it.ProcedureCode, ProcedureText: firstNonEmpty(it.ProcedureText, it.StudyDescription),
		ResultStatus: status, ObservedAt: observed, SignedAt: it.SignedAt, Interpreter: it.SignedBy,
		Findings: it.Findings, Now: now,
	})
}
