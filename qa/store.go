// Package qa owns the quality-assurance side of signed reports: CheXprompt
// evaluations of the AI draft against the signed text, the QA flags raised
// by clinically significant errors and their dispositions, weekly metrics
// and the CSV export. It reads the reports drafts keeps and writes its own
// tables (evaluations, qa_flags), auditing in the same transaction.
package qa

import "github.com/radraft/radraft/internal/pgexec"

// Store keeps evaluations and QA flags. It is safe for concurrent use.
type Store struct{ db pgexec.Executor }

// New returns the store kept on db.
func New(db pgexec.Executor) *Store { return &Store{db: db} }
