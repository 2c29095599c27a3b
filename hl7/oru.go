package hl7

import (
	"strconv"
	"strings"
	"time"
)

// ReportResult is a signed report to send back to the RIS as ORU^R01. Its
// fields are plain text; BuildORU escapes them.
type ReportResult struct {
	SendingApp, SendingFacility     string // MSH-3/4 (default RADRAFT)
	ReceivingApp, ReceivingFacility string // MSH-5/6
	ControlID                       string // MSH-10 (generated when empty); the outbox should keep it for retries
	Version                         string // MSH-12 (default 2.5.1)

	PatientID          string
	PatientIDAuthority string
	PatientName        string // DICOM PN: Family^Given^Middle^Prefix^Suffix
	PatientBirthDate   string // YYYYMMDD
	PatientSex         string

	AccessionNumber   string // OBR-18 (and IPC-like ZDS is not used for it)
	StudyUID          string // ZDS-1
	PlacerOrderNumber string // ORC-2 / OBR-2
	FillerOrderNumber string // ORC-3 / OBR-3
	ProcedureCode     string // OBR-4.1
	ProcedureText     string // OBR-4.2

	// ResultStatus is OBR-25 and OBX-11: F final (default), C corrected
	// (an amendment).
	ResultStatus string
	ObservedAt   time.Time // OBR-7 (study time); zero = empty
	SignedAt     time.Time // OBR-22 results report/status change time
	Interpreter  string    // OBR-32 principal result interpreter (user name)

	Findings   string // the report text: one OBX (TX) per line
	Impression string // optional: more OBX lines under the impression code
	Now        time.Time
}

// LOINC codes of the OBX segments.
const (
	LOINCFindings   = "59776-5^Procedure findings^LN"
	LOINCImpression = "19005-8^Radiology Imaging study [Impression] (narrative)^LN"
)

// BuildORU builds an ORU^R01 (segments end in CR) for r: MSH, PID, ORC (RE),
// OBR with OBR-25 = F, one OBX of type TX per line of text, and ZDS with the
// Study Instance UID when known.
func BuildORU(r ReportResult) []byte {
	d := DefaultDelimiters
	e := func(s string) string { return Escape(s, d) }
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("20060102150405-0700")
	}
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	status := or(r.ResultStatus, "F")
	ctrl := or(r.ControlID, newControlID())
	var b strings.Builder
	seg := func(fields ...string) {
		b.WriteString(strings.Join(fields, "|"))
		b.WriteByte('\r')
	}
	seg("MSH", d.Encoding(), e(or(r.SendingApp, "RADRAFT")), e(r.SendingFacility), e(r.ReceivingApp), e(r.ReceivingFacility),
		ts(now), "", "ORU^R01^ORU_R01", e(ctrl), "P", e(or(r.Version, "2.5.1")), "", "", "", "", "", "UNICODE UTF-8")
	pid := ""
	if r.PatientID != "" {
		pid = e(r.PatientID) + "^^^" + e(r.PatientIDAuthority) + "^MR"
		pid = strings.TrimRight(pid, "^")
		if r.PatientIDAuthority == "" {
			pid = e(r.PatientID)
		}
	}
	seg("PID", "1", "", pid, "", pnToXPN(r.PatientName, d), "", e(r.PatientBirthDate), e(r.PatientSex))
	seg("ORC", "RE", e(r.PlacerOrderNumber), e(r.FillerOrderNumber), "", "CM")
	proc := e(r.ProcedureCode)
	if r.ProcedureText != "" {
		proc += "^" + e(r.ProcedureText)
	}
	obr := make([]string, 33)
	obr[0] = "OBR"
	obr[1] = "1"
	obr[2] = e(r.PlacerOrderNumber)
	obr[3] = e(r.FillerOrderNumber)
	obr[4] = proc
	obr[7] = ts(r.ObservedAt)
	obr[18] = e(r.AccessionNumber)
	obr[22] = ts(or2(r.SignedAt, now))
	obr[24] = "RAD"
	obr[25] = e(status)
	if r.Interpreter != "" {
		obr[32] = e(r.Interpreter)
	}
	seg(trimEmpty(obr)...)
	n := 0
	obx := func(code, line string) {
		n++
		seg("OBX", strconv.Itoa(n), "TX", code, "", e(line), "", "", "", "", "", e(status))
	}
	for _, line := range splitLines(r.Findings) {
		obx(LOINCFindings, line)
	}
	for _, line := range splitLines(r.Impression) {
		obx(LOINCImpression, line)
	}
	if r.StudyUID != "" {
		seg("ZDS", e(r.StudyUID)+"^RADRAFT^Application^DICOM")
	}
	return []byte(b.String())
}

func or2(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func trimEmpty(f []string) []string {
	for len(f) > 1 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	return f
}

// splitLines splits text on CRLF, CR or LF; a trailing newline adds no
// empty line, but blank lines inside the text are kept (as empty OBX-5).
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// pnToXPN turns a DICOM PN (Family^Given^Middle^Prefix^Suffix) into an XPN
// (Family^Given^Middle^Suffix^Prefix).
func pnToXPN(pn string, d Delimiters) string {
	p := strings.Split(pn, "^")
	for len(p) < 5 {
		p = append(p, "")
	}
	x := []string{Escape(p[0], d), Escape(p[1], d), Escape(p[2], d), Escape(p[4], d), Escape(p[3], d)}
	return strings.TrimRight(strings.Join(x, "^"), "^")
}
