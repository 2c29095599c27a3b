package srout_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom/scu"
	"github.com/radraft/radraft/dicom/sr"
	"github.com/radraft/radraft/drafts"
	"github.com/radraft/radraft/drafts/draftstest"
	"github.com/radraft/radraft/internal/testpeers"
	"github.com/radraft/radraft/srout"
)

const (
	study  = "1.2.826.0.1.3680043.10.1423.97.1"
	series = "1.2.826.0.1.3680043.10.1423.97.2"
	image  = "1.2.826.0.1.3680043.10.1423.97.3"
)

// seed makes a study with one frontal CR and an AI draft made with an HL7 indication.
func seed(t *testing.T, s *drafts.Store) {
	draftstest.MustExec(t, s, `INSERT INTO studies (study_uid, state, patient_id, patient_name, accession_number, frontal_sop_instance_uid)
		VALUES ('`+study+`', 'ready', 'MRN7', 'Doe^John', 'ACC7', '`+image+`')`)
	draftstest.MustExec(t, s, `INSERT INTO series (series_uid, study_uid, modality) VALUES ('`+series+`', '`+study+`', 'CR')`)
	draftstest.MustExec(t, s, `INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, study_uid, transfer_syntax_uid, path, file_size, dataset_size, sha256)
		VALUES ('`+image+`', '1.2.840.10008.5.1.4.1.1.1', '`+series+`', '`+study+`', '1.2.840.10008.1.2.1', 'x.dcm', 1, 1, 'x')`)
	if _, _, err := s.SaveAIDraft(context.Background(), drafts.AIDraft{StudyUID: study, Findings: "AI text.",
		ModelName: "demo", ModelVersion: "0.1", Indication: "Cough", IndicationSource: "hl7:OBR-31"}); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, s *drafts.Store, until func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	l := &srout.Loop{Store: s, Client: &scu.Client{CallingAE: "RADRAFT", Timeout: 10 * time.Second},
		Poll: 50 * time.Millisecond, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	go func() { l.Run(ctx); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for !until() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	if !until() {
		t.Fatal("condition not reached")
	}
}

func states(t *testing.T, s *drafts.Store) map[string]drafts.OutboxDestination {
	ds, err := s.OutboxDestinations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]drafts.OutboxDestination{}
	for _, d := range ds {
		m[d.Kind+" "+d.Destination] = d
	}
	return m
}

// Sign and amend with two destinations, one of them down: the live one gets
// both SRs (the amendment naming the first as predecessor, both valid for
// dciodvfy); the dead one's rows wait with their error, and arrive once it
// comes up, through a new loop (as after a restart).
func TestSignedAndAmendedReachStorescp(t *testing.T) {
	dciodvfy := testpeers.Require(t, "dciodvfy")
	dcmdump := testpeers.Require(t, "dcmdump")
	s := draftstest.New(t)
	ctx := context.Background()
	live := t.TempDir()
	livePort := testpeers.Storescp(t, live, "+B")
	deadPort := testpeers.FreePort(t)
	liveDest := "PACS@127.0.0.1:" + strconv.Itoa(livePort)
	deadDest := "PACS@127.0.0.1:" + strconv.Itoa(deadPort)
	s.SR = drafts.SROutbox{Destinations: []string{liveDest, deadDest}}
	seed(t, s)
	r, err := s.SignReport(ctx, drafts.ReportChange{StudyUID: study, Actor: "anna", Findings: "No acute disease."}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AmendReport(ctx, drafts.ReportChange{StudyUID: study, Actor: "anna", Findings: "Small left effusion.", Reason: "missed"}, false); err != nil {
		t.Fatal(err)
	}
	signedV := *r.SignedVersion
	run(t, s, func() bool { st := states(t, s)["sr "+liveDest]; return st.Sent == 2 })
	st := states(t, s)
	if d := st["sr "+deadDest]; d.Pending != 2 || d.Sent != 0 || d.LastError == "" {
		t.Fatalf("dead destination: %+v", d)
	}
	signed := filepath.Join(live, "SRt."+sr.InstanceUID(r.ID, signedV))
	amended := filepath.Join(live, "SRt."+sr.InstanceUID(r.ID, signedV+1))
	for _, f := range []string{signed, amended} {
		out, err := exec.Command(dciodvfy, f).CombinedOutput()
		if err != nil && len(out) == 0 || strings.Contains(string(out), "Error") {
			t.Fatalf("dciodvfy %s: %v\n%s", f, err, out)
		}
	}
	dump, _ := exec.Command(dcmdump, "+L", amended).CombinedOutput()
	for _, want := range []string{"Small left effusion", "PredecessorDocumentsSequence", sr.InstanceUID(r.ID, signedV), image, "anna", "Cough"} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("amendment lacks %q", want)
		}
	}
	// The dead destination comes up; a fresh loop delivers what waited.
	dead := t.TempDir()
	cmd := exec.Command(testpeers.Require(t, "storescp"), "-od", dead, "-aet", "PACS", strconv.Itoa(deadPort))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }() //nolint:errcheck
	run(t, s, func() bool { return states(t, s)["sr "+deadDest].Sent == 2 })
	if ents, _ := os.ReadDir(dead); len(ents) != 2 {
		t.Fatalf("late destination holds %d files", len(ents))
	}
}

// With drafts on, the AI draft goes out as a preliminary SR with the model
// as device observer; a destination that refuses fails the row at once.
func TestAIDraftPreliminaryAndRefusal(t *testing.T) {
	s := draftstest.New(t)
	dir := t.TempDir()
	port := testpeers.Storescp(t, dir, "+B")
	refusing := "PACS@127.0.0.1:" + strconv.Itoa(testpeers.Storescp(t, t.TempDir(), "--refuse"))
	s.SR = drafts.SROutbox{Destinations: []string{"PACS@127.0.0.1:" + strconv.Itoa(port), refusing}, Drafts: true}
	seed(t, s)
	run(t, s, func() bool {
		st := states(t, s)
		return st["sr_draft PACS@127.0.0.1:"+strconv.Itoa(port)].Sent == 1 && st["sr_draft "+refusing].Pending == 0
	})
	if d := states(t, s)["sr_draft "+refusing]; d.Failed != 1 {
		t.Fatalf("refusing destination: %+v", d)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("%d files", len(ents))
	}
	dump, _ := exec.Command(testpeers.Require(t, "dsrdump"), filepath.Join(dir, ents[0].Name())).CombinedOutput()
	for _, want := range []string{"PRELIMINARY", "UNVERIFIED", "Device", "demo", "AI text."} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("AI draft SR lacks %q:\n%s", want, dump)
		}
	}
}

// Orthanc (a real PACS-like archive) accepts the signed report's SR: it
// indexes one Basic Text SR in the study, in its own series.
func TestSignedReachesOrthanc(t *testing.T) {
	url, dport := testpeers.Orthanc(t, true, nil)
	s := draftstest.New(t)
	dest := "ORTHANC@127.0.0.1:" + strconv.Itoa(dport)
	s.SR = drafts.SROutbox{Destinations: []string{dest}}
	seed(t, s)
	r, err := s.SignReport(context.Background(), drafts.ReportChange{StudyUID: study, Actor: "anna", Findings: "Clear lungs."}, false)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s, func() bool { return states(t, s)["sr "+dest].Sent == 1 })
	var tags map[string]any
	var ids []string
	getJSON(t, url+"/instances", &ids)
	if len(ids) != 1 {
		t.Fatalf("Orthanc holds %d instances", len(ids))
	}
	getJSON(t, url+"/instances/"+ids[0]+"/simplified-tags", &tags)
	if tags["SOPClassUID"] != sr.BasicTextSR || tags["SOPInstanceUID"] != sr.InstanceUID(r.ID, *r.SignedVersion) ||
		tags["StudyInstanceUID"] != study || tags["Modality"] != "SR" || tags["VerificationFlag"] != "VERIFIED" {
		t.Fatalf("Orthanc indexed %v", tags)
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if out != nil {
		if err := json.NewDecoder(r.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}
