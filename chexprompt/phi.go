package chexprompt

import (
	"regexp"
	"strings"
)

// Redacted replaces every stripped identifier (MIMIC-CXR's own convention,
// which judges read as "something de-identified").
const Redacted = "___"

// Identifiers are the patient identifiers known for a report; each non-empty
// one is removed from the text wherever it appears (case-insensitively; a
// DICOM person name "LAST^FIRST^MIDDLE" is removed part by part).
type Identifiers struct {
	PatientName      string
	PatientID        string
	AccessionNumber  string
	PatientBirthDate string // YYYYMMDD as DICOM has it, or any text
	Other            []string
}

var (
	// Dates: 2024-03-01, 03/01/2024, 3/1/24, 1.3.2024, 20240301.
	reDate = regexp.MustCompile(`\b(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|(19|20)\d{6})\b`)
	// Month-name dates: March 1, 2024 / 1 March 2024.
	reMonthDate = regexp.MustCompile(`(?i)\b(\d{1,2}\s+)?(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|jun(e)?|jul(y)?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)\.?\s+\d{1,2}(st|nd|rd|th)?,?\s+\d{4}\b`)
	// Long digit runs (MRNs, accession numbers, phone numbers): five or more
	// digits, possibly grouped by dashes or spaces.
	reLongNumber = regexp.MustCompile(`\b\d[\d -]{3,}\d\b`)
	// Labelled identifiers: "MRN: AB12345", "Accession #X123".
	reLabelled = regexp.MustCompile(`(?i)\b(mrn|medical record( number)?|acc(ession)?( number| no\.?)?|patient id|dob|date of birth|ssn)\s*[:#]?\s*[A-Za-z0-9-]+`)
	// Titles with names: "Dr. Smith", "Mrs. Jane Doe".
	reTitledName = regexp.MustCompile(`\b(Dr|Mr|Mrs|Ms|Miss|Prof)\.?\s+[A-Z][A-Za-z'-]+(\s+[A-Z][A-Za-z'-]+)?`)
	reTelephone  = regexp.MustCompile(`(?i)\b(tel|phone|pager|ext)\.?\s*[:#]?\s*[\d() -]{3,}`)
)

// StripIdentifiers removes patient identifiers from report text before it
// leaves radraft (to an LLM judge): the known identifiers of the study, then
// anything shaped like a date, an MRN, a phone number or a titled name. It
// keeps the clinical content (sizes like "2.5 cm", "3 cm above the carina").
func StripIdentifiers(text string, ids Identifiers) string {
	known := []string{ids.PatientID, ids.AccessionNumber}
	known = append(known, ids.Other...)
	for _, part := range strings.FieldsFunc(ids.PatientName, func(r rune) bool { return r == '^' || r == ' ' || r == ',' }) {
		if len([]rune(part)) >= 2 {
			known = append(known, part)
		}
	}
	if bd := strings.TrimSpace(ids.PatientBirthDate); bd != "" {
		known = append(known, bd)
		if len(bd) == 8 { // YYYYMMDD → the usual renderings
			y, m, d := bd[:4], bd[4:6], bd[6:]
			known = append(known, y+"-"+m+"-"+d, m+"/"+d+"/"+y, d+"."+m+"."+y, d+"/"+m+"/"+y)
		}
	}
	for _, k := range known {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		re, err := regexp.Compile(`(?i)(^|[^\pL\pN])` + regexp.QuoteMeta(k) + `($|[^\pL\pN])`)
		if err != nil {
			continue
		}
		// Loop because adjacent matches share their boundary characters.
		for i := 0; i < 4 && re.MatchString(text); i++ {
			text = re.ReplaceAllString(text, "${1}"+Redacted+"${2}")
		}
	}
	for _, re := range []*regexp.Regexp{reLabelled, reTelephone, reMonthDate, reDate, reTitledName} {
		text = re.ReplaceAllString(text, Redacted)
	}
	return reLongNumber.ReplaceAllStringFunc(text, func(m string) string {
		digits := 0
		for _, r := range m {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if digits >= 5 {
			return Redacted
		}
		return m
	})
}
