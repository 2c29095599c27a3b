// Package ingest holds what DICOM ingest hands the store, as plain types:
// the instance received (from its headers), what the index already knows of
// a SOP Instance, a differing copy kept aside, a quiet study handed to the
// view classifier and the classifier's decision. The DICOM packages fill
// and read them through their own narrow interfaces (scp.Index,
// study.SettleStore), which the store implements; so dicom imports nothing
// of the domain, and the domain nothing of DICOM's transport, as Orthanc's
// core fires OnStoredInstance without knowing its plugins.
package ingest

import (
	"errors"
	"fmt"
	"time"
)

// ErrSeriesInOtherStudy: the instance's Series Instance UID is already
// indexed under another study; a series belongs to one study (PS3.3), so
// the instance is refused rather than indexed inconsistently.
var ErrSeriesInOtherStudy = errors.New("series already stored under another study")

// ReceivedInstance is everything DICOM ingest records for one stored file.
// The transport fills it from the file's headers; the store only files it.
type ReceivedInstance struct {
	// study
	StudyUID           string
	AccessionNumber    string
	PatientID          string
	PatientName        string
	PatientBirthDate   string
	PatientSex         string
	StudyDate          string // YYYYMMDD; empty or invalid = unknown
	StudyTime          string
	StudyDescription   string
	ReferringPhysician string
	Indication         string // first non-empty indication found in the headers
	IndicationSource   string // which attribute it came from
	// series
	SeriesUID         string
	Modality          string
	SeriesNumber      string
	SeriesDescription string
	BodyPart          string
	// instance
	SOPInstanceUID    string
	SOPClassUID       string
	InstanceNumber    string
	TransferSyntaxUID string
	Path              string // relative to the storage dir
	FileSize          int64
	DatasetSize       int64
	SHA256            string
	CallingAE         string
	RemoteAddr        string
	ViewPosition      string
	ViewCode          string
	ImageLaterality   string
	Photometric       string
	Rows, Columns     int
}

// StoredInstance is what the index knows of an instance already stored.
type StoredInstance struct {
	SOPInstanceUID string
	StudyUID       string
	Path           string
	SHA256         string
	FileSize       int64
	DuplicateCount int
}

// InstanceConflict is a differing second copy of a stored SOP Instance UID,
// kept (not indexed as the instance) for an administrator, or to replace the
// indexed copy when that one's pixels cannot be decoded (PromoteConflict).
type InstanceConflict struct {
	ID                int64 // set when read back
	SOPInstanceUID    string
	Path              string // relative to the storage dir
	SHA256            string
	FileSize          int64
	CallingAE         string
	TransferSyntaxUID string
}

// SettlingStudy is a quiet study handed to the view classifier.
type SettlingStudy struct {
	StudyUID         string
	StudyDescription string
	FirstReceivedAt  time.Time
	LastReceivedAt   time.Time
	Instances        []SettlingInstance
}

// SettlingInstance is one indexed image of a settling study.
type SettlingInstance struct {
	SOPInstanceUID    string
	SOPClassUID       string
	SeriesUID         string
	SeriesDescription string
	Modality          string // the series' Modality (0008,0060)
	InstanceNumber    string
	TransferSyntaxUID string
	Path              string // relative to the storage dir
	ViewPosition      string
	ViewCode          string
	ImageLaterality   string
	Photometric       string
	Rows, Columns     int
	ReceivedAt        time.Time
}

// ViewDecision is the classifier's answer for a settling study.
type ViewDecision struct {
	// FrontalSOP is the chosen frontal image; empty means a person must
	// decide (state needs_view).
	FrontalSOP string
	// Reason says why, in words shown to users ("View Position PA",
	// "Study Description 'XR CHEST AP'", "no frontal image: ...").
	// It must not carry PHI.
	Reason string
}

// SettleError is a failure to settle one claimed study (the transaction was
// rolled back; the study stays receiving and is due again).
type SettleError struct {
	StudyUID string
	Err      error
}

// Settled reports what SettleNext did to one study.
type Settled struct {
	StudyUID string
	State    string // ready or needs_view
	ViewDecision
	// JobInserted is false when an equal draft_study job was already
	// pending (River's uniqueness), true when one was queued now.
	JobInserted bool
}

func (e *SettleError) Error() string { return fmt.Sprintf("settle %s: %v", e.StudyUID, e.Err) }

func (e *SettleError) Unwrap() error { return e.Err }
