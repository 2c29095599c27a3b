// Package dicom is radraft's DICOM side: the constants every DICOM package
// shares (SOP classes, transfer syntaxes, our implementation identity). The
// work lives in sub-packages:
//
//   - ul: the upper layer (PS3.8): PDUs, association negotiation (our
//     transfer-syntax preference), the state machine of Table 9-10 and the
//     acceptor that runs it (ARTIM, deadlines), PDV fragmentation both ways.
//   - dimse: command sets (Implicit VR Little Endian), C-ECHO, C-STORE, C-FIND.
//   - scp: the listener: admission (association and pending-socket caps,
//     AE allowlist), the DIMSE services (C-ECHO, C-STORE, and C-FIND when
//     a Finder is configured) on a small Service interface, and durable
//     streaming storage of instances (also for STOW-RS: Server.Ingest).
//   - scu: the requestor: C-STORE of one object to a remote SCP (SR results).
//   - sr: the Basic Text SR of a report version.
//   - cfind: Study Root C-FIND identifiers (STUDY, SERIES) to queries and back.
//   - match: DICOM matching rules (wildcards, date ranges, UID lists),
//     shared by C-FIND and QIDO-RS.
//   - study, pixels: study settling/view selection and pixel decoding.
//
// Received datasets' headers are read by dicom/dataset, which checks every
// declared length against what is left before reading anything.
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

// StorageSOPClassRoot is the root under which PS3.4 Annex B (and every
// later supplement) assigns the Storage Service Class's SOP classes: CR,
// DX, CT, MR, SC, SR, presentation states, key object selection, …
const StorageSOPClassRoot = "1.2.840.10008.5.1.4.1.1."

// IsStorageSOPClass reports whether uid is a standard storage SOP class.
// By default the listener accepts all of them, as a PACS forwarding a
// whole study expects; only radiographs are drafted.
func IsStorageSOPClass(uid string) bool {
	return len(uid) > len(StorageSOPClassRoot) && uid[:len(StorageSOPClassRoot)] == StorageSOPClassRoot && ValidUID(uid)
}

// Transfer syntaxes.
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLE   = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian    = "1.2.840.10008.1.2.2" // retired, still proposed by DCMTK
	JPEGBaseline           = "1.2.840.10008.1.2.4.50"
	JPEGExtended           = "1.2.840.10008.1.2.4.51" // 12-bit
	JPEGLosslessP14        = "1.2.840.10008.1.2.4.57" // process 14, any predictor
	JPEGLossless           = "1.2.840.10008.1.2.4.70" // process 14, first-order predictor (SV1)
	JPEGLSLossless         = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless     = "1.2.840.10008.1.2.4.81"
	JPEG2000Lossless       = "1.2.840.10008.1.2.4.90"
	JPEG2000               = "1.2.840.10008.1.2.4.91"
	HTJ2KLossless          = "1.2.840.10008.1.2.4.201"
	HTJ2KLosslessRPCL      = "1.2.840.10008.1.2.4.202"
	HTJ2K                  = "1.2.840.10008.1.2.4.203"
	RLELossless            = "1.2.840.10008.1.2.5"
)

// AcceptedTransferSyntaxes are the transfer syntaxes accepted for storage,
// in our default order of preference: of those a peer proposes in a
// presentation context, negotiation picks the first of this list (the
// peer's own order does not matter). Uncompressed first (our pixel decoder
// reads them exactly and at once), then lossless compressed, then lossy.
// RADRAFT_DICOM_TRANSFER_SYNTAXES replaces the list (and so the order).
// Datasets are stored exactly as received in the negotiated one.
var AcceptedTransferSyntaxes = []string{
	ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian,
	JPEGLossless, JPEGLosslessP14, JPEGLSLossless, JPEG2000Lossless, HTJ2KLossless, HTJ2KLosslessRPCL,
	RLELossless, DeflatedExplicitVRLE,
	JPEGLSNearLossless, JPEG2000, HTJ2K, JPEGBaseline, JPEGExtended,
}

// KnownTransferSyntax reports whether uid is one of the transfer syntaxes
// radraft can store (those of AcceptedTransferSyntaxes).
func KnownTransferSyntax(uid string) bool {
	for _, ts := range AcceptedTransferSyntaxes {
		if ts == uid {
			return true
		}
	}
	return false
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
