// Package audit owns the audit log: who did what to which study or object,
// when and from where. Entries carry references, never PHI. Writes take an
// executor, so an audit row commits in the same transaction as the change
// it records.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/radraft/radraft/internal/pgexec"
)

// Entry is one row of the audit trail. It must never carry PHI itself:
// StudyUID and ObjectRef point at the data, Detail holds non-identifying facts.
type Entry struct {
	Actor      string
	Action     string
	StudyUID   string
	ObjectRef  string
	RemoteAddr string
	Detail     map[string]any
}

// insertSQL appends one entry; its arguments are Entry.args.
const insertSQL = `INSERT INTO audit_log (actor, action, study_uid, object_ref, remote_addr, detail)
	VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6)`

// args are insertSQL's arguments for e.
func (e Entry) args() ([]any, error) {
	detail := []byte("{}")
	if e.Detail != nil {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return nil, fmt.Errorf("audit: detail: %w", err)
		}
	}
	return []any{e.Actor, e.Action, e.StudyUID, e.ObjectRef, e.RemoteAddr, detail}, nil
}

// Write appends e on ex (a pool, or the transaction of the change it records).
func Write(ctx context.Context, ex pgexec.Executor, e Entry) error {
	args, err := e.args()
	if err != nil {
		return err
	}
	if _, err := ex.Exec(ctx, insertSQL, args...); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// Log is the audit log on a database.
type Log struct{ db pgexec.Executor }

// New returns the audit log kept on db.
func New(db pgexec.Executor) *Log { return &Log{db: db} }

// Append appends an entry in its own statement.
func (l *Log) Append(ctx context.Context, e Entry) error { return Write(ctx, l.db, e) }

// Row is a stored audit entry.
type Row struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	StudyUID   *string         `json:"study_uid"`
	ObjectRef  string          `json:"object_ref"`
	RemoteAddr string          `json:"remote_addr"`
	Detail     json.RawMessage `json:"detail"`
}

// Query filters the audit log; rows come newest first.
type Query struct {
	Actor, Action, StudyUID string
	Since, Until            time.Time
	BeforeID                int64 // keyset: rows with id < BeforeID
	Limit                   int   // default 100, at most 1000
}

// Read returns the rows q selects.
func (l *Log) Read(ctx context.Context, q Query) ([]Row, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	var since, until *time.Time
	if !q.Since.IsZero() {
		since = &q.Since
	}
	if !q.Until.IsZero() {
		until = &q.Until
	}
	rows, err := l.db.Query(ctx, `SELECT id, at, actor, action, study_uid, object_ref, remote_addr, detail FROM audit_log
		WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR study_uid = $3)
		  AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
		  AND ($6 = 0 OR id < $6)
		ORDER BY id DESC LIMIT $7`, q.Actor, q.Action, q.StudyUID, since, until, q.BeforeID, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("audit: read: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Row, error) {
		var a Row
		var detail []byte
		err := r.Scan(&a.ID, &a.At, &a.Actor, &a.Action, &a.StudyUID, &a.ObjectRef, &a.RemoteAddr, &detail)
		a.Detail = detail
		return a, err
	})
	if out == nil {
		out = []Row{}
	}
	return out, err
}
