package scp_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/dimse"
	"github.com/radraft/radraft/dicom/scp"
	"github.com/radraft/radraft/dicom/scp/scptest"
	"github.com/radraft/radraft/dicom/ul"
)

// The malformed-input corpus. Each case is the byte stream a client sends
// after connecting; generateCorpus makes them all, deterministically, and
// `go test ./dicom/scp -run TestMalformedCorpus -update` rewrites
// testdata/malformed (and the fuzz seeds of dicom/ul) from it. Without
// -update the test checks the committed files are what the generator makes.
var update = flag.Bool("update", false, "rewrite testdata/malformed and the ul fuzz seeds")

type corpusCase struct {
	Name string `json:"name"`
	Why  string `json:"why"`
	// Expect lists what the server sends back, in order: AC, RJ:r/s/n,
	// RSP:xxxx (a DIMSE status; its Error Comment is not compared), RP
	// (release), ABORT:source/reason, then the connection closes.
	Expect []string `json:"expect"`
	// Hold keeps the client's side open after sending (the server must time
	// out by itself); otherwise the client half-closes.
	Hold  bool   `json:"hold,omitempty"`
	bytes []byte `json:"-"`
}

const (
	cpSOPInst = "1.2.826.0.1.3680043.10.1423.7.1"
	cpStudy   = "1.2.826.0.1.3680043.10.1423.7.2"
	cpSeries  = "1.2.826.0.1.3680043.10.1423.7.3"
)

var (
	elEx      = scptest.ElEx
	uiv       = scptest.UI
	usv       = scptest.US
	pdata     = scptest.PData
	echoRQ    = scptest.EchoRQ
	storeRQ   = scptest.StoreRQ
	cat       = scptest.Cat
	releaseRQ = scptest.ReleaseRQ
)

// scDataset is a tiny valid Secondary Capture dataset of the corpus study.
func scDataset(sopClass, sopInst string, extra ...[]byte) []byte {
	return scptest.Dataset{SOPClass: sopClass, SOPInstance: sopInst, Study: cpStudy, Series: cpSeries, Extra: extra}.Bytes()
}

func corpusRQ() []byte { return scptest.RQ("CORPUS") }

// afterStatus: the association is still usable after an error status.
func afterStatus(status string) []string { return []string{"AC", "RSP:" + status, "RSP:0000", "RP"} }

func generateCorpus() []corpusCase {
	rq := corpusRQ()
	okDS := scDataset(dicom.SecondaryCapture, cpSOPInst)
	badRQ := func(mut func(b []byte) []byte) []byte {
		b := append([]byte(nil), rq...)
		return mut(b)
	}
	// index of the first presentation context item in rq
	pcOff := bytes.IndexByte(rq[74:], 0x20) + 74
	lyingDS := append([]byte(nil), okDS...) // pixel data claims more than sent
	binary.LittleEndian.PutUint32(lyingDS[len(lyingDS)-6:], 1000)
	lyingElem := cat(okDS[:20], elEx(0x0008, 0x0020, "DA", []byte("20240101"))[:6], []byte{0xF0, 0x7F}, []byte("2024"))
	badVR := scDataset(dicom.SecondaryCapture, cpSOPInst, elEx(0x0018, 0x0015, "Q!", []byte("CHEST ")))
	findRQ := (&dimse.Command{Field: 0x0020, MessageID: 9, AffectedSOPClass: dicom.VerificationSOPClass, DataSetType: dimse.NoDataSet}).Encode()
	storeCmd := (&dimse.Command{Field: dimse.CStoreRQ, MessageID: 2, AffectedSOPClass: dicom.SecondaryCapture, AffectedSOPInst: cpSOPInst}).Encode()
	badCmd := append([]byte(nil), storeCmd...)
	binary.LittleEndian.PutUint32(badCmd[16:], 0x7FFF) // second element's length overruns the command

	return append([]corpusCase{
		{Name: "valid-store", Why: "control case: a valid SC instance stored, then echo and release",
			Expect: []string{"AC", "RSP:0000", "RSP:0000", "RP"},
			bytes:  cat(rq, storeRQ(3, 1, dicom.SecondaryCapture, cpSOPInst+".9", scDataset(dicom.SecondaryCapture, cpSOPInst+".9")), echoRQ(2), releaseRQ)},
		{Name: "truncated-rq", Why: "A-ASSOCIATE-RQ cut short; ARTIM expires", Hold: true,
			Expect: []string{}, bytes: rq[:40]},
		{Name: "rq-lying-length", Why: "A-ASSOCIATE-RQ header claims 300 bytes more than sent; ARTIM expires", Hold: true,
			Expect: []string{}, bytes: badRQ(func(b []byte) []byte { binary.BigEndian.PutUint32(b[2:], uint32(len(b)-6+300)); return b })},
		{Name: "rq-huge-length", Why: "A-ASSOCIATE-RQ claiming 4 GB", Expect: []string{"ABORT:2/6"},
			bytes: badRQ(func(b []byte) []byte { binary.BigEndian.PutUint32(b[2:], 0xFFFFFFF0); return b })},
		{Name: "rq-item-overrun", Why: "presentation context item longer than its PDU", Expect: []string{"ABORT:2/6"},
			bytes: badRQ(func(b []byte) []byte { binary.BigEndian.PutUint16(b[pcOff+2:], 0xFFF0); return b })},
		{Name: "rq-even-context-id", Why: "presentation context IDs are odd", Expect: []string{"ABORT:2/6"},
			bytes: badRQ(func(b []byte) []byte { b[pcOff+4] = 2; return b })},
		{Name: "rq-wrong-app-context", Why: "unknown application context name: RJ 1/1/2", Expect: []string{"RJ:1/1/2"},
			bytes: badRQ(func(b []byte) []byte { i := bytes.Index(b, []byte("3.1.1.1")); b[i] = '4'; return b })},
		{Name: "pdata-before-rq", Why: "P-DATA-TF with no association", Expect: []string{"ABORT:2/2"}, bytes: echoRQ(1)},
		{Name: "unknown-pdu-type", Why: "PDU type 0x09 after association", Expect: []string{"AC", "ABORT:2/1"},
			bytes: cat(rq, []byte{9, 0, 0, 0, 0, 4, 0, 0, 0, 0})},
		{Name: "pdu-over-cap", Why: "P-DATA-TF longer than the maximum we announced", Expect: []string{"AC", "ABORT:2/6"},
			bytes: cat(rq, []byte{4, 0, 0, 0x10, 0, 0}, make([]byte, 64))},
		{Name: "zero-length-pdata", Why: "P-DATA-TF without a PDV", Expect: []string{"AC", "ABORT:2/6"},
			bytes: cat(rq, []byte{4, 0, 0, 0, 0, 0})},
		{Name: "pdv-lying-length", Why: "PDV item longer than its PDU", Expect: []string{"AC", "ABORT:2/6"},
			bytes: cat(rq, func() []byte { b := echoRQ(1); binary.BigEndian.PutUint32(b[6:], 5000); return b }())},
		{Name: "truncated-pdata", Why: "P-DATA-TF cut short; the per-read deadline expires", Hold: true, Expect: []string{"AC", "ABORT:0/0"},
			bytes: cat(rq, echoRQ(1)[:30])},
		{Name: "pdv-unaccepted-context", Why: "PDV on a context never proposed", Expect: []string{"AC", "ABORT:2/6"},
			bytes: cat(rq, func() []byte { b := echoRQ(1); b[10] = 9; return b }())},
		{Name: "dataset-before-command", Why: "dataset PDV with no command", Expect: []string{"AC", "ABORT:0/0"},
			bytes: cat(rq, pdata(3, ul.PDVLast, okDS))},
		{Name: "bad-command", Why: "command element length overruns the command set", Expect: []string{"AC", "ABORT:0/0"},
			bytes: cat(rq, pdata(3, ul.PDVCommand|ul.PDVLast, badCmd))},
		{Name: "release-mid-message", Why: "A-RELEASE-RQ between a command and its dataset", Expect: []string{"AC", "ABORT:0/0"},
			bytes: cat(rq, pdata(3, ul.PDVCommand|ul.PDVLast, storeCmd), releaseRQ)},
		{Name: "second-rq", Why: "A-ASSOCIATE-RQ on an established association", Expect: []string{"AC", "ABORT:2/2"},
			bytes: cat(rq, rq)},
		{Name: "garbage-after-pdu", Why: "a valid C-ECHO, then bytes that are no PDU", Expect: []string{"AC", "RSP:0000", "ABORT:2/1"},
			bytes: cat(rq, echoRQ(1), []byte("GARBAGE\x00\x00\x00\x01\xff\xfe"))},
		{Name: "sop-instance-mismatch", Why: "dataset SOP Instance UID differs from the command: A900", Expect: afterStatus("A900"),
			bytes: cat(rq, storeRQ(3, 1, dicom.SecondaryCapture, cpSOPInst+".1", okDS), echoRQ(2), releaseRQ)},
		{Name: "sop-class-mismatch", Why: "dataset SOP Class differs from the command: A900", Expect: afterStatus("A900"),
			bytes: cat(rq, storeRQ(3, 1, dicom.SecondaryCapture, cpSOPInst, scDataset(dicom.CRImageStorage, cpSOPInst)), echoRQ(2), releaseRQ)},
		{Name: "bad-vr", Why: "an element with VR 'Q!': C000", Expect: afterStatus("C000"),
			bytes: cat(rq, storeRQ(3, 1, dicom.SecondaryCapture, cpSOPInst, badVR), echoRQ(2), releaseRQ)},
		{Name: "dataset-lying-length", Why: "an element length beyond the end of the dataset: C003", Expect: afterStatus("C003"),
			bytes: cat(rq, storeRQ(3, 1, dicom.SecondaryCapture, cpSOPInst, lyingElem), echoRQ(2), releaseRQ)},
		{Name: "pixel-data-lying-length", Why: "pixel data longer than the dataset: C003", Expect: afterStatus("C003"),
			bytes: cat(rq, storeRQ(3, 1, dicom.SecondaryCapture, cpSOPInst, lyingDS), echoRQ(2), releaseRQ)},
		{Name: "not-a-dataset", Why: "random bytes as a dataset: C000", Expect: afterStatus("C000"),
			bytes: cat(rq, storeRQ(3, 1, dicom.SecondaryCapture, cpSOPInst, []byte("\x08\x00\x16\x00this is not DICOM at all")), echoRQ(2), releaseRQ)},
		{Name: "store-class-off-context", Why: "C-STORE of CR on the Secondary Capture context: 0122", Expect: afterStatus("0122"),
			bytes: cat(rq, storeRQ(3, 1, dicom.CRImageStorage, cpSOPInst, okDS), echoRQ(2), releaseRQ)},
		{Name: "unknown-command", Why: "C-FIND on the verification context: 0211", Expect: afterStatus("0211"),
			bytes: cat(rq, pdata(1, ul.PDVCommand|ul.PDVLast, findRQ), echoRQ(2), releaseRQ)},
	}, issue10Cases()...)
}

// issue10Cases are issue 10's attacks on the listener (scptest.Attacks),
// with reproducible UIDs.
func issue10Cases() []corpusCase {
	var out []corpusCase
	for _, a := range scptest.Attacks(scptest.CountingUIDs("1.2.826.0.1.3680043.10.1423.8")) {
		out = append(out, corpusCase{Name: "issue10-" + a.Name, Why: a.Why, Expect: a.Expect, bytes: a.Bytes})
	}
	return out
}

func corpusDir() string { return filepath.Join("testdata", "malformed") }

func TestMalformedCorpus(t *testing.T) {
	cases := generateCorpus()
	if *update {
		writeCorpus(t, cases)
	}
	checkCorpusCommitted(t, cases)
	ts := startServer(t, func(c *scp.Config) {
		c.ARTIM = 500 * time.Millisecond
		c.ReadTimeout = 500 * time.Millisecond
		c.IdleTimeout = 2 * time.Second
		c.MaxPDU = 64 << 10
	})
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := scptest.Statuses(exchange(t, ts, c))
			if strings.Join(got, " ") != strings.Join(c.Expect, " ") {
				t.Errorf("%s: got %v, want %v", c.Why, got, c.Expect)
			}
			mustEcho(t, ts) // the server still answers
		})
	}
}

// exchange sends a case and returns what came back, until the close.
func exchange(t *testing.T, ts *testServer, c corpusCase) []string {
	t.Helper()
	got, err := scptest.Exchange(ts.addr.String(), c.bytes, c.Hold, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

type manifest struct {
	Generator string       `json:"generator"`
	Cases     []corpusCase `json:"cases"`
}

func writeCorpus(t *testing.T, cases []corpusCase) {
	dir := corpusDir()
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if err := os.WriteFile(filepath.Join(dir, c.Name+".bin"), c.bytes, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := json.MarshalIndent(manifest{
		Generator: "go test ./dicom/scp -run TestMalformedCorpus -update (generateCorpus in corpus_test.go)",
		Cases:     cases,
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "cases.json"), append(m, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same streams seed the fuzz targets of the upper layer and of the
	// listener.
	for _, seeds := range []string{filepath.Join("..", "ul", "testdata", "fuzz", "FuzzAcceptor"), filepath.Join("testdata", "fuzz", "FuzzServer")} {
		os.RemoveAll(seeds)
		if err := os.MkdirAll(seeds, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			s := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", c.bytes)
			if err := os.WriteFile(filepath.Join(seeds, c.Name), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkCorpusCommitted fails when the committed corpus is not what the
// generator makes (rerun with -update and commit).
func checkCorpusCommitted(t *testing.T, cases []corpusCase) {
	names := map[string]bool{}
	for _, c := range cases {
		names[c.Name+".bin"] = true
		b, err := os.ReadFile(filepath.Join(corpusDir(), c.Name+".bin"))
		if err != nil || !bytes.Equal(b, c.bytes) {
			t.Errorf("testdata/malformed/%s.bin is stale or missing (run with -update)", c.Name)
		}
	}
	ents, _ := os.ReadDir(corpusDir())
	var extra []string
	for _, e := range ents {
		if !names[e.Name()] && e.Name() != "cases.json" {
			extra = append(extra, e.Name())
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("testdata/malformed has files the generator does not make: %v", extra)
	}
}
