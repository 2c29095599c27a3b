package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/dicom/scu"
	"github.com/radraft/radraft/hl7"
)

// config is every setting of `radraft serve`. Each is an environment
// variable (RADRAFT_*) and a flag of the same name in kebab case; the flag wins.
type config struct {
	DatabaseURL string
	StorageDir  string
	Role        string // all, api, worker

	DICOMAddr          string
	AETitle            string
	AllowedCallingAETs string
	MaxAssociations    int
	MaxPDULength       int
	DICOMIdleTimeout   time.Duration
	DICOMReadTimeout   time.Duration
	DICOMARTIM         time.Duration
	MaxPending         int
	SOPClasses         string // empty = every storage SOP class
	TransferSyntaxes   string // empty = dicom.AcceptedTransferSyntaxes
	SettleQuiet        time.Duration

	MLLPAddr           string
	MLLPMaxMessage     int
	MLLPIdleTimeout    time.Duration
	MLLPMessageTimeout time.Duration
	MLLPMaxConns       int
	HL7Unsolicited     string // accept or reject
	AccessionFields    string
	RISAddr            string // where signed reports go as ORU^R01; empty = off
	SRDestinations     string // AET@host:port list where signed reports go as DICOM SR; empty = off
	SRDrafts           string // "true": also send the unsigned AI draft as a preliminary SR

	HTTPAddr    string
	TLSCert     string
	TLSKey      string
	SessionIdle time.Duration
	SessionMax  time.Duration

	ModelDir  string
	ORTLib    string
	Device    string
	OrderWait time.Duration

	NodeID         string        // River client ID: stable per node, unique among live processes
	DraftTimeout   time.Duration // bounds one draft_study attempt
	JobRescueAfter time.Duration // a job running longer (its worker presumably dead) is retried

	JudgeURL    string
	JudgeModel  string
	JudgeAPIKey string

	// envErrs are environment values that did not parse; validate refuses
	// to start with any (a typo must not become a silent default).
	envErrs []error
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// envInt is the environment's value of name, or def when unset; a value
// that is not a number is recorded in errs and def returned.
func envInt(name string, def int, errs *[]error) int {
	if v, ok := os.LookupEnv(name); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s=%q is not a whole number", name, v))
			return def
		}
		return n
	}
	return def
}

// envDuration is envInt for durations ("90s", "5m").
func envDuration(name string, def time.Duration, errs *[]error) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s=%q is not a duration (write e.g. 90s or 5m)", name, v))
			return def
		}
		return d
	}
	return def
}

// bind registers the flags of c on fs, with defaults taken from the environment.
func (c *config) bind(fs *flag.FlagSet) {
	s := func(p *string, flagName, envName, def, usage string) {
		fs.StringVar(p, flagName, env(envName, def), usage+" ("+envName+")")
	}
	i := func(p *int, flagName, envName string, def int, usage string) {
		fs.IntVar(p, flagName, envInt(envName, def, &c.envErrs), usage+" ("+envName+")")
	}
	d := func(p *time.Duration, flagName, envName string, def time.Duration, usage string) {
		fs.DurationVar(p, flagName, envDuration(envName, def, &c.envErrs), usage+" ("+envName+")")
	}
	s(&c.DatabaseURL, "database-url", "RADRAFT_DATABASE_URL", "postgres://localhost:5432/radraft", "Postgres URL")
	s(&c.StorageDir, "storage-dir", "RADRAFT_STORAGE_DIR", "./data/dicom", "where received Part 10 files live")
	s(&c.Role, "role", "RADRAFT_ROLE", "all", "all, api (listeners, no inference) or worker (inference only)")

	s(&c.DICOMAddr, "dicom-addr", "RADRAFT_DICOM_ADDR", ":11112", "DICOM SCP listen address")
	s(&c.AETitle, "ae-title", "RADRAFT_AE_TITLE", "RADRAFT", "our AE title")
	s(&c.AllowedCallingAETs, "allowed-calling-aets", "RADRAFT_ALLOWED_CALLING_AETS", "", "comma list of calling AE titles accepted; empty = any")
	i(&c.MaxAssociations, "max-associations", "RADRAFT_MAX_ASSOCIATIONS", 32, "concurrent DICOM associations; more are rejected (transient)")
	i(&c.MaxPDULength, "max-pdu-length", "RADRAFT_MAX_PDU_LENGTH", 1<<20, "largest P-DATA PDU we accept, in bytes")
	d(&c.DICOMIdleTimeout, "dicom-idle-timeout", "RADRAFT_DICOM_IDLE_TIMEOUT", 2*time.Minute, "abort an association idle this long")
	d(&c.DICOMReadTimeout, "dicom-read-timeout", "RADRAFT_DICOM_READ_TIMEOUT", 30*time.Second, "within a message, each read must progress within this")
	d(&c.DICOMARTIM, "dicom-artim", "RADRAFT_DICOM_ARTIM", 30*time.Second, "ARTIM: wait this long for an A-ASSOCIATE-RQ, and for the peer to close after release, reject or abort")
	i(&c.MaxPending, "dicom-max-pending", "RADRAFT_DICOM_MAX_PENDING", 32, "DICOM connections without an association yet; when full the oldest is dropped")
	s(&c.SOPClasses, "sop-classes", "RADRAFT_SOP_CLASSES", "", "comma list of storage SOP class UIDs accepted (an allowlist); empty = every storage SOP class")
	s(&c.TransferSyntaxes, "dicom-transfer-syntaxes", "RADRAFT_DICOM_TRANSFER_SYNTAXES", "", "comma list of transfer syntax UIDs accepted, in our order of preference; empty = uncompressed, then lossless, then lossy")
	d(&c.SettleQuiet, "settle-quiet", "RADRAFT_SETTLE_QUIET", 15*time.Second, "a study is complete after this long without a new instance")

	s(&c.MLLPAddr, "mllp-addr", "RADRAFT_MLLP_ADDR", ":2575", "HL7 MLLP listen address")
	i(&c.MLLPMaxMessage, "mllp-max-message", "RADRAFT_MLLP_MAX_MESSAGE", 1<<20, "largest HL7 message accepted, in bytes")
	d(&c.MLLPIdleTimeout, "mllp-idle-timeout", "RADRAFT_MLLP_IDLE_TIMEOUT", 5*time.Minute, "close an MLLP connection silent this long")
	d(&c.MLLPMessageTimeout, "mllp-message-timeout", "RADRAFT_MLLP_MESSAGE_TIMEOUT", 30*time.Second, "a whole HL7 message must arrive within this from its first byte")
	i(&c.MLLPMaxConns, "mllp-max-conns", "RADRAFT_MLLP_MAX_CONNS", 256, "concurrent MLLP connections; at the cap the one idle longest is closed")
	s(&c.HL7Unsolicited, "hl7-unsolicited", "RADRAFT_HL7_UNSOLICITED", "accept", "HL7 types other than orders (ADT, ORU…): accept (AA, not processed) or reject (AR)")
	s(&c.AccessionFields, "accession-fields", "RADRAFT_ACCESSION_FIELDS", "IPC-1,OBR-18,OBR-3", "where to look for the accession number, in order")
	s(&c.SRDestinations, "sr-destinations", "RADRAFT_SR_DESTINATIONS", "", "comma list of AET@host:port Storage SCPs that receive signed and amended reports as DICOM Basic Text SR; empty = off")
	s(&c.SRDrafts, "sr-drafts", "RADRAFT_SR_DRAFTS", "false", "true: also send each unsigned AI draft as a preliminary, unverified SR (IHE AI Results)")
	s(&c.RISAddr, "ris-addr", "RADRAFT_RIS_ADDR", "", "host:port of the RIS MLLP receiver for signed reports (ORU^R01); empty = off")

	s(&c.HTTPAddr, "http-addr", "RADRAFT_HTTP_ADDR", ":8080", "REST API and UI listen address")
	s(&c.TLSCert, "tls-cert", "RADRAFT_TLS_CERT", "", "PEM certificate for HTTPS")
	s(&c.TLSKey, "tls-key", "RADRAFT_TLS_KEY", "", "PEM private key for HTTPS")
	d(&c.SessionIdle, "session-idle", "RADRAFT_SESSION_IDLE", 30*time.Minute, "a UI session ends after this long without a request")
	d(&c.SessionMax, "session-max", "RADRAFT_SESSION_MAX", 12*time.Hour, "a UI session ends this long after login however it is used (the cookie's lifetime)")

	s(&c.ModelDir, "model-dir", "RADRAFT_MODEL_DIR", "./models/demo", "ONNX model bundle")
	s(&c.ORTLib, "ort-lib", "RADRAFT_ORT_LIB", "", "path of libonnxruntime.so; empty = what 'radraft model runtime' finds")
	s(&c.Device, "device", "RADRAFT_DEVICE", "cpu", "cpu or cuda[:N]")
	d(&c.OrderWait, "order-wait", "RADRAFT_ORDER_WAIT", 2*time.Minute, "how long a settled study waits for its HL7 order before drafting without one")
	s(&c.NodeID, "node-id", "RADRAFT_NODE_ID", "", "this node's name for the job queue: stable across restarts, unique among running processes; empty = host-role, with the role as --role sets it")
	d(&c.DraftTimeout, "draft-timeout", "RADRAFT_DRAFT_TIMEOUT", 10*time.Minute, "one draft attempt is cancelled after this")
	d(&c.JobRescueAfter, "job-rescue-after", "RADRAFT_JOB_RESCUE_AFTER", 15*time.Minute, "a job running this long is taken as orphaned and retried (longer than --draft-timeout)")

	s(&c.JudgeURL, "judge-url", "RADRAFT_JUDGE_URL", "", "OpenAI-compatible chat endpoint for CheXprompt; empty = offline evaluator")
	s(&c.JudgeModel, "judge-model", "RADRAFT_JUDGE_MODEL", "", "judge model name")
	s(&c.JudgeAPIKey, "judge-api-key", "RADRAFT_JUDGE_API_KEY", "", "judge API key (prefer the environment variable)")
}

func (c *config) validate() error {
	if len(c.envErrs) > 0 {
		return errors.Join(c.envErrs...)
	}
	switch c.Role {
	case "all", "api", "worker":
	default:
		return fmt.Errorf("--role must be all, api or worker, not %q", c.Role)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if _, err := scu.ParseDestinations(c.SRDestinations); err != nil {
		return fmt.Errorf("--sr-destinations: %w", err)
	}
	if _, err := strconv.ParseBool(c.SRDrafts); err != nil {
		return fmt.Errorf("--sr-drafts must be true or false, not %q", c.SRDrafts)
	}
	if c.HL7Unsolicited != "accept" && c.HL7Unsolicited != "reject" {
		return fmt.Errorf("--hl7-unsolicited must be accept or reject, not %q", c.HL7Unsolicited)
	}
	if c.NodeID == "" {
		c.NodeID = defaultNodeID(c.Role) // the parsed role: --role=api and --role=worker on one host differ
	}
	if len(c.NodeID) > 100 || strings.ContainsFunc(c.NodeID, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return fmt.Errorf("--node-id must be at most 100 printable ASCII characters without spaces, not %q", c.NodeID)
	}
	if c.JobRescueAfter <= c.DraftTimeout || c.JobRescueAfter <= evaluationTimeout {
		return fmt.Errorf("--job-rescue-after (%s) must be longer than --draft-timeout (%s) and the evaluation timeout (%s): a job still running would be started twice",
			c.JobRescueAfter, c.DraftTimeout, evaluationTimeout)
	}
	if err := c.validateDICOM(); err != nil {
		return err
	}
	if c.SessionIdle < time.Minute || c.SessionMax < c.SessionIdle {
		return fmt.Errorf("--session-idle must be at least 1m and --session-max at least --session-idle (got %s and %s)", c.SessionIdle, c.SessionMax)
	}
	if !deviceRE.MatchString(c.Device) {
		return fmt.Errorf("--device must be cpu, cuda or cuda:N, not %q", c.Device)
	}
	if _, err := newEvaluator(c.JudgeURL, c.JudgeModel, c.JudgeAPIKey); err != nil {
		return fmt.Errorf("--judge-url/--judge-model: %w", err)
	}
	if err := c.validateEndpoints(); err != nil {
		return err
	}
	return c.validateRanges()
}

var deviceRE = regexp.MustCompile(`^(cpu|cuda(:[0-9]+)?)$`)

// validateEndpoints refuses addresses, AE titles, field lists and
// certificates the listeners would only fail on later, mid-start.
func (c *config) validateEndpoints() error {
	for _, a := range []struct{ flag, addr string }{
		{"--dicom-addr", c.DICOMAddr}, {"--mllp-addr", c.MLLPAddr}, {"--http-addr", c.HTTPAddr},
	} {
		if err := checkHostPort(a.addr, false); a.addr != "" && err != nil {
			return fmt.Errorf("%s %q: %w", a.flag, a.addr, err)
		}
	}
	if err := checkHostPort(c.RISAddr, true); c.RISAddr != "" && err != nil {
		return fmt.Errorf("--ris-addr %q: %w", c.RISAddr, err)
	}
	if err := dicom.CheckAETitle(c.AETitle); err != nil {
		return fmt.Errorf("--ae-title %q: %w", c.AETitle, err)
	}
	for _, aet := range scp.SplitList(c.AllowedCallingAETs) {
		if err := dicom.CheckAETitle(aet); err != nil {
			return fmt.Errorf("--allowed-calling-aets %q: %w", aet, err)
		}
	}
	if _, err := hl7.ParseAccessionFields(c.AccessionFields); err != nil {
		return fmt.Errorf("--accession-fields: %w", err)
	}
	if c.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	return nil
}

// checkHostPort checks a host:port; a listen address may leave the host
// empty (every interface) and use port 0 (any), a peer's may not.
func checkHostPort(addr string, peer bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || peer && (n == 0 || host == "") {
		return errors.New("want host:port with a port from 1 to 65535")
	}
	return nil
}

// validateRanges refuses counts and durations a listener cannot work with.
func (c *config) validateRanges() error {
	for _, v := range []struct {
		flag     string
		val, min int
	}{
		{"--max-associations", c.MaxAssociations, 1},
		{"--dicom-max-pending", c.MaxPending, 1},
		{"--max-pdu-length", c.MaxPDULength, 4096},
		{"--mllp-max-message", c.MLLPMaxMessage, 1024},
		{"--mllp-max-conns", c.MLLPMaxConns, 1},
	} {
		if v.val < v.min {
			return fmt.Errorf("%s must be at least %d, not %d", v.flag, v.min, v.val)
		}
	}
	for _, v := range []struct {
		flag string
		val  time.Duration
	}{
		{"--dicom-idle-timeout", c.DICOMIdleTimeout}, {"--dicom-read-timeout", c.DICOMReadTimeout},
		{"--dicom-artim", c.DICOMARTIM}, {"--settle-quiet", c.SettleQuiet}, {"--mllp-idle-timeout", c.MLLPIdleTimeout},
		{"--mllp-message-timeout", c.MLLPMessageTimeout}, {"--draft-timeout", c.DraftTimeout},
	} {
		if v.val <= 0 {
			return fmt.Errorf("%s must be positive, not %s", v.flag, v.val)
		}
	}
	if c.OrderWait < 0 {
		return fmt.Errorf("--order-wait must not be negative, not %s", c.OrderWait)
	}
	return nil
}

// runsListeners and runsWorker say which parts this node runs.
func (c *config) runsListeners() bool { return c.Role == "all" || c.Role == "api" }
func (c *config) runsWorker() bool    { return c.Role == "all" || c.Role == "worker" }

// evaluationTimeout bounds one evaluate_report attempt (the judge's
// retries included).
const evaluationTimeout = 10 * time.Minute

// defaultNodeID is "<hostname>-<role>": stable across restarts of the same
// node, distinct for an api and a worker process on one host.
func defaultNodeID(role string) string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "radraft"
	}
	return h + "-" + role
}

// validateDICOM refuses DICOM listener settings that cannot work.
func (c *config) validateDICOM() error {
	for _, uid := range scp.SplitList(c.SOPClasses) {
		if !dicom.IsStorageSOPClass(uid) {
			return fmt.Errorf("--sop-classes: %q is not a storage SOP class UID (1.2.840.10008.5.1.4.1.1.*)", uid)
		}
	}
	for _, uid := range scp.SplitList(c.TransferSyntaxes) {
		if !dicom.KnownTransferSyntax(uid) {
			return fmt.Errorf("--dicom-transfer-syntaxes: %q is not a transfer syntax radraft stores (known: %s)",
				uid, strings.Join(dicom.AcceptedTransferSyntaxes, ", "))
		}
	}
	return nil
}
