// Package dicom is radraft's DICOM side: the constants every DICOM package
// shares (SOP classes, transfer syntaxes, our implementation identity). The
// work lives in sub-packages:
//
//   - ul: the upper layer (PS3.8): PDUs, association negotiation, the
//     acceptor state machine, ARTIM, PDV fragmentation both ways.
//   - dimse: command sets (Implicit VR Little Endian), C-ECHO and C-STORE.
//   - scp: the listener: association limits, AE allowlist, deadlines, and
//     durable streaming storage of received instances.
//   - study, pixels: study settling/view selection and pixel decoding.
//
// Parsing of received datasets (headers) uses github.com/suyashkumar/dicom.
// The upper layer is written by hand: no maintained Go library streams PDV
// fragments to disk while negotiating the way PS3.8 requires.
package dicom

// Our implementation identity, sent in A-ASSOCIATE-AC and written in the
// Part 10 meta of every stored file.
const (
	ImplementationClassUID    = "1.2.826.0.1.3680043.10.1423.1"
	ImplementationVersionName = "RADRAFT_1"
	ApplicationContextName    = "1.2.840.10008.3.1.1.1"
)

// SOP classes.
const (
	VerificationSOPClass = "1.2.840.10008.1.1"
	CRImageStorage       = "1.2.840.10008.5.1.4.1.1.1"
	DXPresentation       = "1.2.840.10008.5.1.4.1.1.1.1"
	DXProcessing         = "1.2.840.10008.5.1.4.1.1.1.1.1"
	SecondaryCapture     = "1.2.840.10008.5.1.4.1.1.7"
)

// DefaultStorageSOPClasses are the storage SOP classes accepted when none
// are configured: chest X-ray producers.
var DefaultStorageSOPClasses = []string{CRImageStorage, DXPresentation, DXProcessing, SecondaryCapture}

// Transfer syntaxes.
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLE   = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian    = "1.2.840.10008.1.2.2" // retired, still proposed by DCMTK
	JPEGBaseline           = "1.2.840.10008.1.2.4.50"
	JPEGLossless           = "1.2.840.10008.1.2.4.70"
	JPEGLSLossless         = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless     = "1.2.840.10008.1.2.4.81"
	JPEG2000Lossless       = "1.2.840.10008.1.2.4.90"
	JPEG2000               = "1.2.840.10008.1.2.4.91"
	RLELossless            = "1.2.840.10008.1.2.5"
)

// AcceptedTransferSyntaxes are the transfer syntaxes accepted for storage,
// in our order of preference when a peer proposes several. Datasets are
// stored exactly as received in the negotiated one.
var AcceptedTransferSyntaxes = []string{
	ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLE, ExplicitVRBigEndian,
	JPEGBaseline, JPEGLossless, JPEGLSLossless, JPEGLSNearLossless,
	JPEG2000Lossless, JPEG2000, RLELossless,
}

// ValidUID reports whether s is a syntactically valid UID (PS3.5 9.1):
// 1-64 characters of digits and dots, no empty or leading-zero components.
// Stored files are named after UIDs, so this also keeps paths safe.
func ValidUID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			comp := s[start:i]
			if len(comp) == 0 || (len(comp) > 1 && comp[0] == '0') {
				return false
			}
			start = i + 1
			continue
		}
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
