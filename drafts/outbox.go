package drafts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Outbox kinds.
const (
	OutboxORU     = "oru"      // ORU^R01 of a signed or amended report to the RIS
	OutboxSR      = "sr"       // DICOM SR of a signed or amended report, to one destination
	OutboxSRDraft = "sr_draft" // DICOM SR of the unsigned AI draft (preliminary), to one destination
)

// OutboxItem is one result to deliver, with what the message needs. It
// carries PHI: never log it (log ID, Kind and Attempts only).
type OutboxItem struct {
	ID          int64
	Kind        string
	Destination string // SR rows: the Storage SCP (AET@host:port)
	ReportID    string
	Version     int
	StudyUID    string
	Attempts    int // attempts before this one
	CreatedAt   time.Time

	// Report version being sent.
	Findings string
	Amended  bool // an amendment (OBR-25 C) rather than the first signature (F)
	SignedBy string
	SignedAt time.Time
	// Study and order.
	AccessionNumber   string
	PatientID         string
	PatientName       string
	PatientBirthDate  string
	PatientSex        string
	StudyDate         string // YYYYMMDD or ""
	StudyDescription  string
	PlacerOrderNumber string
	FillerOrderNumber string
	ProcedureCode     string
	ProcedureText     string

	SR *SRContent // SR rows only
}

func enqueueOutbox(ctx context.Context, tx pgx.Tx, kind, reportID string, version int, studyUID string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (kind, report_id, version, study_uid) VALUES ($1,$2,$3,$4)`,
		kind, reportID, version, studyUID); err != nil {
		return fmt.Errorf("drafts: outbox: %w", err)
	}
	return nil
}

// OutboxPolicy is how the outbox retries.
type OutboxPolicy struct {
	MaxAttempts int                     // give up (state failed) after this many; 0 = never
	Backoff     func(int) time.Duration // wait after the n-th failed attempt
	// Permanent (optional) says a failure will not go away by retrying
	// (e.g. the receiver rejected the message): the row fails at once.
	Permanent func(error) bool
	// Kinds are the row kinds this sender delivers; empty = OutboxORU.
	Kinds []string
}

// ExponentialBackoff waits base after the first failed attempt, doubling
// per attempt up to max (defaults 2 s and 5 min), with ±10 % jitter so that
// nodes do not retry in lockstep.
func ExponentialBackoff(base, max time.Duration) func(int) time.Duration {
	if base <= 0 {
		base = 2 * time.Second
	}
	if max <= 0 {
		max = 5 * time.Minute
	}
	return func(n int) time.Duration {
		d := base
		for i := 1; i < n && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
	}
}

// RunOutbox delivers the rows p selects with send until ctx ends: one row
// after another while rows are due, waiting poll (default 2 s) when none is
// or after a failure. Each delivery, failed or not, is logged by reference
// only (row id, destination, attempt): never the payload, which is PHI.
func (s *Store) RunOutbox(ctx context.Context, p OutboxPolicy, poll time.Duration, log *slog.Logger,
	send func(context.Context, *OutboxItem) error) {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	for ctx.Err() == nil {
		it, err := s.DeliverNextOutbox(ctx, p, send)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrOutboxEmpty):
		case err != nil && it != nil:
			permanent := p.Permanent != nil && p.Permanent(err)
			log.Warn("outbox: delivery failed", "kind", it.Kind, "outbox_id", it.ID, "destination", it.Destination,
				"attempt", it.Attempts+1, "permanent", permanent, "err", err)
		case err != nil:
			log.Error("outbox", "err", err)
		default:
			log.Info("outbox: delivered", "kind", it.Kind, "outbox_id", it.ID, "destination", it.Destination, "attempt", it.Attempts+1)
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
}

// ErrOutboxEmpty says no outbox row is due.
var ErrOutboxEmpty = errors.New("drafts: nothing due in the outbox")

// DeliverNextOutbox takes the oldest due pending row (skipping rows other
// nodes hold, and rows whose report has an older pending row, so that an
// amendment never overtakes its signature), calls send while holding the
// row locked, and records the outcome: sent, or a retry at now+backoff (or
// failed after MaxAttempts). It returns ErrOutboxEmpty when nothing is due,
// and send's error (after recording it) when the delivery failed.
func (s *Store) DeliverNextOutbox(ctx context.Context, p OutboxPolicy, send func(context.Context, *OutboxItem) error) (*OutboxItem, error) {
	var item *OutboxItem
	var sendErr error
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		it := &OutboxItem{}
		var studyDate *time.Time
		kinds := p.Kinds
		if len(kinds) == 0 {
			kinds = []string{OutboxORU}
		}
		// Per report and destination, rows go in order (kind families do
		// not wait for each other).
		err := tx.QueryRow(ctx, `SELECT o.id, o.kind, o.destination, o.report_id::text, o.version, o.study_uid, o.attempts, o.created_at
			FROM outbox o
			WHERE o.state='pending' AND o.next_attempt_at <= now() AND o.kind = ANY($1)
			  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.report_id=o.report_id AND p.state='pending' AND p.id < o.id
			                  AND p.kind = ANY($1) AND p.destination=o.destination)
			ORDER BY o.next_attempt_at, o.id LIMIT 1 FOR UPDATE SKIP LOCKED`, kinds).
			Scan(&it.ID, &it.Kind, &it.Destination, &it.ReportID, &it.Version, &it.StudyUID, &it.Attempts, &it.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrOutboxEmpty
		}
		if err != nil {
			return fmt.Errorf("drafts: outbox: %w", err)
		}
		var kind string
		err = tx.QueryRow(ctx, `SELECT v.findings, v.kind, v.author, v.created_at,
				st.accession_number, st.patient_id, st.patient_name, st.patient_birth_date, st.patient_sex,
				st.study_date, st.study_description
			FROM report_versions v JOIN reports r ON r.id=v.report_id JOIN studies st ON st.study_uid=r.study_uid
			WHERE v.report_id=$1 AND v.version=$2`, it.ReportID, it.Version).
			Scan(&it.Findings, &kind, &it.SignedBy, &it.SignedAt, &it.AccessionNumber, &it.PatientID, &it.PatientName,
				&it.PatientBirthDate, &it.PatientSex, &studyDate, &it.StudyDescription)
		if err != nil {
			return fmt.Errorf("drafts: outbox item: %w", err)
		}
		it.Amended = kind == VersionAmend
		if studyDate != nil {
			it.StudyDate = studyDate.Format("20060102")
		}
		if o, err := orderForStudyTx(ctx, tx, it.StudyUID); err == nil && o != nil {
			it.PlacerOrderNumber, it.FillerOrderNumber = o.placer, o.filler
			it.ProcedureCode, it.ProcedureText = o.code, o.text
			if it.PatientID == "" {
				it.PatientID, it.PatientName = o.patientID, o.patientName
			}
		}
		if it.Kind == OutboxSR || it.Kind == OutboxSRDraft {
			if it.SR, err = srContentTx(ctx, tx, it); err != nil {
				return fmt.Errorf("drafts: outbox SR content: %w", err)
			}
		}
		item = it
		sendErr = send(ctx, it)
		if sendErr == nil {
			_, err = tx.Exec(ctx, `UPDATE outbox SET state='sent', attempts=attempts+1, sent_at=now(), last_error='' WHERE id=$1`, it.ID)
			return err
		}
		n := it.Attempts + 1
		state := "pending"
		if (p.MaxAttempts > 0 && n >= p.MaxAttempts) || (p.Permanent != nil && p.Permanent(sendErr)) {
			state = "failed"
		}
		wait := time.Second
		if p.Backoff != nil {
			wait = p.Backoff(n)
		}
		msg := sendErr.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		_, err = tx.Exec(ctx, `UPDATE outbox SET state=$2, attempts=$3, last_error=$4,
			next_attempt_at = now() + make_interval(secs => $5::float8) WHERE id=$1`, it.ID, state, n, msg, wait.Seconds())
		return err
	})
	if err != nil {
		return item, err
	}
	return item, sendErr
}

type orderRef struct{ placer, filler, code, text, patientID, patientName string }

func orderForStudyTx(ctx context.Context, tx pgx.Tx, studyUID string) (*orderRef, error) {
	var o orderRef
	// Two index lookups (by accession, then by Study UID) rather than one OR
	// that the partial indexes of orders cannot serve.
	err := tx.QueryRow(ctx, `SELECT placer_order_number, filler_order_number, procedure_code, procedure_text, patient_id, patient_name
		FROM ((SELECT o.*, 0 AS pri FROM orders o JOIN studies st ON st.study_uid = $1
		       WHERE st.accession_number <> '' AND o.accession_number <> '' AND o.accession_number = st.accession_number)
		      UNION ALL
		      (SELECT o.*, 1 FROM orders o WHERE o.study_uid <> '' AND o.study_uid = $1)) x
		ORDER BY cancelled, pri, updated_at DESC LIMIT 1`, studyUID).
		Scan(&o.placer, &o.filler, &o.code, &o.text, &o.patientID, &o.patientName)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// OutboxStats counts outbox rows by state.
func (s *Store) OutboxStats(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT state, count(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}
