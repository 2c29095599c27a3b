package drafts

import (
	"context"
	"encoding/json"
	"fmt"
)

// AuditEntry is one row of the audit trail. It must never carry PHI itself:
// StudyUID and ObjectRef point at the data, Detail holds non-identifying facts.
type AuditEntry struct {
	Actor      string
	Action     string
	StudyUID   string
	ObjectRef  string
	RemoteAddr string
	Detail     map[string]any
}

// Audit appends an entry to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return fmt.Errorf("drafts: audit detail: %w", err)
	}
	if e.Detail == nil {
		detail = []byte("{}")
	}
	_, err = s.Pool.Exec(ctx, `INSERT INTO audit_log (actor, action, study_uid, object_ref, remote_addr, detail)
		VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6)`, e.Actor, e.Action, e.StudyUID, e.ObjectRef, e.RemoteAddr, detail)
	if err != nil {
		return fmt.Errorf("drafts: audit: %w", err)
	}
	return nil
}
