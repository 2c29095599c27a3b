// Package sr builds the DICOM Structured Report of a radraft report: one
// Part 10 object per signed, amended or (optionally) AI-drafted report
// version, ready to be sent by C-STORE. It owns the document's content tree,
// its UIDs and its encoding; it knows nothing of the database or the network.
//
// Basic Text SR (1.2.840.10008.5.1.4.1.1.88.11), not Comprehensive SR: the
// report is narrative text (Findings, the indication) with an observer and
// references to the source images, which TID 2000 "Basic Diagnostic Imaging
// Report" expresses entirely within Basic Text SR's value types (CONTAINER,
// TEXT, CODE, PNAME, UIDREF) and by-value relationships. Comprehensive SR
// adds spatial coordinates and by-reference relationships, which the report
// does not use, and is displayed by fewer PACS viewers; the most widely
// supported class that holds the content is the better citizen.
//
// The tree (TID 2000):
//
//	CONTAINER (18748-4, LN, "Diagnostic Imaging Report")
//	  HAS OBS CONTEXT  observer: Person (121008 name) or Device (121012 UID, 121013 name, ...)
//	  CONTAINS CONTAINER (121060, DCM, "History")
//	    CONTAINS TEXT (121109, DCM, "Indications for Procedure")
//	    CONTAINS TEXT (121106, DCM, "Comment")   where the indication came from
//	  CONTAINS CONTAINER (121070, DCM, "Findings")
//	    CONTAINS TEXT (121071, DCM, "Finding")
//
// The images the draft was made from are in the Current Requested Procedure
// Evidence Sequence; an amendment names the document it replaces in the
// Predecessor Documents Sequence. A signed or amended report is COMPLETE and
// VERIFIED (the radiologist in the Verifying Observer Sequence); an AI draft
// is PRELIMINARY and UNVERIFIED with the model as device observer (IHE AI
// Results).
//
// Encoding uses github.com/suyashkumar/dicom's writer (Explicit VR Little
// Endian, UTF-8 text: Specific Character Set ISO_IR 192). UIDs are derived
// from the report's identity (2.25 UUID form), so a document rebuilt for a
// retry or another destination is the same SOP instance.
package sr

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	sdicom "github.com/suyashkumar/dicom"

	"github.com/radraft/radraft/dicom"
)

// BasicTextSR is the SOP class of every document built here.
const BasicTextSR = "1.2.840.10008.5.1.4.1.1.88.11"

// Kind is what a document records.
type Kind int

const (
	Signed    Kind = iota // first signature: final, verified
	Amendment             // replaces a signed document: final, verified, with a predecessor
	AIDraft               // the unsigned AI draft: preliminary, unverified, device observer
)

// Ref names one SOP instance of the study.
type Ref struct {
	SeriesUID, SOPClassUID, SOPInstanceUID string
}

// Device is the algorithm that wrote an AI draft.
type Device struct {
	UID, Name, Manufacturer, ModelName, Version string
}

// Document is what a report's SR holds.
type Document struct {
	Kind Kind
	// ReportID and Version identify the report version; the SR's UIDs derive from them.
	ReportID string
	Version  int

	StudyUID, StudyDate, StudyTime, StudyID, AccessionNumber, ReferringPhysician string
	PatientID, PatientName, PatientBirthDate, PatientSex                         string
	// Order (optional): the request this report answers. A procedure code
	// is the RIS's own (coding scheme 99RIS).
	PlacerOrderNumber, FillerOrderNumber, ProcedureCode, ProcedureText string

	Findings         string
	Indication       string // empty = none known
	IndicationSource string // e.g. "HL7 order (OBR-31)", "DICOM ReasonForTheRequestedProcedure"

	Observer     string    // the signing radiologist (Signed, Amendment), as a DICOM PN
	Organization string    // the verifying organization; empty = "radraft"
	Device       Device    // the model (AIDraft)
	Time         time.Time // signature or draft time

	Evidence []Ref // the image(s) the draft was made from
	// PredecessorVersion is the report version this amendment replaces (Amendment only).
	PredecessorVersion int
}

// SeriesUID is the SR series of a report: one for its signed and amended
// documents, another for its AI drafts.
func SeriesUID(reportID string, draft bool) string {
	if draft {
		return uuidUID("radraft/sr-series/ai/" + reportID)
	}
	return uuidUID("radraft/sr-series/" + reportID)
}

// InstanceUID is the SOP Instance UID of a report version's SR.
func InstanceUID(reportID string, version int) string {
	return uuidUID("radraft/sr/" + reportID + "/" + strconv.Itoa(version))
}

// DeviceUID is the Device Observer UID of a model (name and version).
func DeviceUID(model, version string) string {
	return uuidUID("radraft/model/" + model + "/" + version)
}

// uuidUID is a name-based (SHA-1, version 5 layout) UUID written as a
// 2.25 UID (PS3.5 B.2): at most 44 characters.
func uuidUID(name string) string {
	h := sha1.Sum([]byte(name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return "2.25." + new(big.Int).SetBytes(h[:16]).String()
}

// Build encodes d as a Part 10 file (Explicit VR Little Endian).
func Build(d *Document) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	b := &builder{}
	ds := d.elements(b)
	if b.err != nil {
		return nil, fmt.Errorf("sr: %w", b.err)
	}
	var out bytes.Buffer
	if err := sdicom.Write(&out, sdicom.Dataset{Elements: ds}); err != nil {
		return nil, fmt.Errorf("sr: encode: %w", err)
	}
	return out.Bytes(), nil
}

func (d *Document) check() error {
	switch {
	case d.ReportID == "" || d.Version <= 0:
		return fmt.Errorf("sr: report identity missing")
	case !dicom.ValidUID(d.StudyUID) && !pathSafeUID(d.StudyUID):
		return fmt.Errorf("sr: invalid study UID")
	case strings.TrimSpace(d.Findings) == "":
		return fmt.Errorf("sr: no findings")
	case d.Kind == Amendment && (d.PredecessorVersion <= 0 || d.PredecessorVersion >= d.Version):
		return fmt.Errorf("sr: an amendment needs the version it replaces")
	case d.Kind == AIDraft && d.Device.UID == "":
		return fmt.Errorf("sr: an AI draft needs its device observer UID")
	case d.Kind != AIDraft && strings.TrimSpace(d.Observer) == "":
		return fmt.Errorf("sr: a signed document needs its observer")
	}
	return nil
}

// pathSafeUID accepts UIDs received from real devices that break PS3.5's
// leading-zero rule (radraft stores them as received).
func pathSafeUID(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "0123456789.") == ""
}

// DatasetOffset returns where the dataset starts in a Part 10 file built
// here (after the preamble, "DICM" and group 0002), for a C-STORE.
func DatasetOffset(file []byte) (int, error) {
	if len(file) < 144 || string(file[128:132]) != "DICM" || string(file[132:138]) != "\x02\x00\x00\x00UL" {
		return 0, fmt.Errorf("sr: not a Part 10 file with a group length")
	}
	n := int(binary.LittleEndian.Uint32(file[140:144]))
	if 144+n > len(file) {
		return 0, fmt.Errorf("sr: group 0002 overruns the file")
	}
	return 144 + n, nil
}

// Dates and times in DICOM form, in the server's local zone (as DICOM
// devices write them, with the offset in Timezone Offset From UTC).
func da(t time.Time) string { return t.Format("20060102") }
func tm(t time.Time) string { return t.Format("150405") }
func dt(t time.Time) string { return t.Format("20060102150405-0700") }
