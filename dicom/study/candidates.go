package study

import (
	"fmt"
	"strings"

	"github.com/radraft/radraft/dicom"
)

// SOP classes (PS3.4 B.5) the candidate rule names, beside the radiograph
// classes of package dicom.
const (
	sopCR          = dicom.CRImageStorage
	sopDXPresent   = dicom.DXPresentation
	sopDXProcess   = dicom.DXProcessing
	sopSCPrefix    = dicom.SecondaryCapture // 1.7 and the multi-frame 1.7.1-1.7.4
	sopCT          = "1.2.840.10008.5.1.4.1.1.2"
	sopEnhancedCT  = "1.2.840.10008.5.1.4.1.1.2.1"
	sopLegacyCT    = "1.2.840.10008.5.1.4.1.1.2.2"
	sopSRPrefix    = "1.2.840.10008.5.1.4.1.1.88."
	sopKOS         = "1.2.840.10008.5.1.4.1.1.88.59"
	sopPRPrefix    = "1.2.840.10008.5.1.4.1.1.11."
	sopDocPrefix   = "1.2.840.10008.5.1.4.1.1.104."
	sopWavePrefix  = "1.2.840.10008.5.1.4.1.1.9."
	sopRTPrefix    = "1.2.840.10008.5.1.4.1.1.481."
	radiographModa = "CR DX"
)

// Candidate says whether an image may be drafted from: only projection
// radiographs are, i.e. CR and DX objects, and Secondary Capture whose
// Modality is CR or DX (a digitised or re-captured chest film). Everything
// else a PACS forwards with a study is kept but never a candidate, and
// skip names it for the view reason: Secondary Capture of another
// modality (OT: scanned requisitions and other documents), CT (a topogram
// or scout whose description says "AP" included), structured reports,
// key-object selections, presentation states, encapsulated documents,
// waveforms, RT objects and images of other modalities.
func Candidate(im Image) (ok bool, skip string) {
	modality := strings.ToUpper(strings.TrimSpace(im.Modality))
	radiograph := modality != "" && strings.Contains(radiographModa, modality)
	cls := strings.TrimSpace(im.SOPClassUID)
	switch {
	case cls == sopCR || cls == sopDXPresent || cls == sopDXProcess:
		return true, ""
	case cls == sopSCPrefix || strings.HasPrefix(cls, sopSCPrefix+"."):
		if radiograph {
			return true, ""
		}
		if modality == "" {
			return false, "Secondary Capture without a Modality"
		}
		return false, "Secondary Capture of Modality " + modality
	case cls == sopCT || cls == sopEnhancedCT || cls == sopLegacyCT:
		return false, "CT image"
	case cls == sopKOS:
		return false, "key object selection"
	case strings.HasPrefix(cls, sopSRPrefix):
		return false, "structured report"
	case strings.HasPrefix(cls, sopPRPrefix):
		return false, "presentation state"
	case strings.HasPrefix(cls, sopDocPrefix):
		return false, "encapsulated document"
	case strings.HasPrefix(cls, sopWavePrefix):
		return false, "waveform"
	case strings.HasPrefix(cls, sopRTPrefix):
		return false, "radiotherapy object"
	case cls == "" && radiograph:
		return true, ""
	case modality != "":
		return false, "Modality " + modality + " object"
	}
	return false, "object of SOP class " + cls
}

// maxSkippedNamed bounds how many skipped instances the reason names one by
// one.
const maxSkippedNamed = 8

// skippedReason names the skipped instances: kind, series description and
// size for images ("CT image 'SCOUT AP' 512x512").
func skippedReason(skipped []Image, why []string) string {
	if len(skipped) == 0 {
		return ""
	}
	parts := make([]string, 0, min(len(skipped), maxSkippedNamed)+1)
	for i, im := range skipped {
		if i == maxSkippedNamed {
			parts = append(parts, fmt.Sprintf("and %d more", len(skipped)-i))
			break
		}
		p := why[i]
		if d := strings.TrimSpace(im.SeriesDescription); d != "" {
			p += fmt.Sprintf(" '%s'", d)
		}
		if im.Rows > 0 && im.Columns > 0 {
			p += fmt.Sprintf(" %dx%d", im.Columns, im.Rows)
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("skipped %s (not projection radiographs): %s", plural(len(skipped), "object"), strings.Join(parts, ", "))
}
