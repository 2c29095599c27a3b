package scptest

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/radraft/radraft/dicom"
	"github.com/radraft/radraft/dicom/ul"
)

// Attack is one hostile byte stream of issue 10 against the DICOM listener,
// with the answer radraft must give (words as ReadAnswers writes them; an
// Error Comment is compared only up to its '|').
type Attack struct {
	Name, Why string
	Bytes     []byte
	Expect    []string
}

// ACFirst is an A-ASSOCIATE-AC sent as the first PDU, its presentation
// context item holding no transfer syntax (it once panicked the negotiation).
func ACFirst() []byte {
	var body []byte
	body = append(body, 0, 1, 0, 0)
	body = append(body, []byte("RADRAFT         ")...)
	body = append(body, []byte("ATTACKER        ")...)
	body = append(body, make([]byte, 32)...)
	item := func(t byte, v []byte) {
		body = append(body, t, 0, byte(len(v)>>8), byte(len(v)))
		body = append(body, v...)
	}
	item(0x10, []byte(dicom.ApplicationContextName))
	item(0x21, []byte{1, 0, 0, 0}) // context 1, accepted, no transfer syntax sub-item
	item(0x50, []byte{0x51, 0, 0, 4, 0, 0, 0x40, 0})
	b := make([]byte, 6, 6+len(body))
	b[0] = ul.TypeAssociateAC
	binary.BigEndian.PutUint32(b[2:], uint32(len(body)))
	return append(b, body...)
}

// HugeElement is a dataset whose private OB element declares n bytes but
// carries 16, and then ends.
func HugeElement(sop, study, series string, n uint32) []byte {
	d := Dataset{SOPClass: dicom.SecondaryCapture, SOPInstance: sop, Study: study, Series: series}
	full := d.Bytes()
	// cut after Patient Name; append the lying private element
	i := indexOfTag(full, 0x0020, 0x000D)
	return Cat(full[:i], ElEx(0x0009, 0x0010, "LO", Text("RADRAFT ATTACK")), ElExLen(0x0009, 0x1010, "OB", n, make([]byte, 16)))
}

// indexOfTag finds the offset of an Explicit VR LE element header (g,e) in b.
func indexOfTag(b []byte, g, e uint16) int {
	for i := 0; i+4 <= len(b); i++ {
		if binary.LittleEndian.Uint16(b[i:]) == g && binary.LittleEndian.Uint16(b[i+2:]) == e {
			return i
		}
	}
	return len(b)
}

func store(id uint16, d Dataset) []byte {
	return StoreRQ(3, id, d.SOPClass, d.SOPInstance, d.Bytes())
}

// Attacks are issue 10's attacks on the DICOM listener that fit one
// connection; uid makes their UIDs (NewUID for fresh ones, so they can be
// replayed against one database; a counter for a reproducible corpus).
// The trickle attack is Trickle.
func Attacks(uid func() string) []Attack {
	sc := func(name []byte) Dataset {
		return Dataset{SOPClass: dicom.SecondaryCapture, SOPInstance: uid(), Study: uid(), Series: uid(), PatientName: name}
	}
	rq := RQ("ATTACKER")
	okEnd := []string{"RSP:0000", "RP"} // a C-ECHO after the attack, then release
	tail := Cat(EchoRQ(99), ReleaseRQ)
	huge := func(id uint16) []byte {
		sop := uid()
		return StoreRQ(3, id, dicom.SecondaryCapture, sop, HugeElement(sop, uid(), uid(), 0xFFFFFFF0))
	}
	other := sc(nil)
	moved := sc(nil)
	moved.Series = other.Series // same series, another study
	bad := sc(nil)
	bad.SOPInstance = "1..2"
	truncated := sc(nil).Bytes()
	truncated = Cat(truncated, ElExLen(0xFFFC, 0xFFFC, "OB", 100, []byte{0, 0, 0, 0}))
	truncSOP := sopOf(truncated)
	return []Attack{
		{Name: "ac-first", Why: "A-ASSOCIATE-AC as the first PDU, its context holding no transfer syntax",
			Bytes: ACFirst(), Expect: []string{"ABORT:2/2"}},
		{Name: "huge-length-x3", Why: "three C-STOREs whose private OB element declares ~4 GB and carries 16 bytes",
			Bytes:  Cat(rq, huge(1), huge(2), huge(3), tail),
			Expect: append([]string{"AC", "RSP:C003", "RSP:C003", "RSP:C003"}, okEnd...)},
		{Name: "latin1-name", Why: "Patient Name in Latin-1 bytes, no Specific Character Set",
			Bytes: Cat(rq, store(1, sc([]byte("M\xdcLLER^J\xd6RG "))), tail), Expect: append([]string{"AC", "RSP:0000"}, okEnd...)},
		{Name: "nul-name", Why: "a NUL byte inside Patient Name",
			Bytes: Cat(rq, store(1, sc([]byte("DOE\x00^JOHN "))), tail), Expect: append([]string{"AC", "RSP:0000"}, okEnd...)},
		{Name: "uid-1..2", Why: "SOP Instance UID 1..2 (empty component)",
			Bytes: Cat(rq, store(1, bad), tail), Expect: append([]string{"AC", "RSP:C001"}, okEnd...)},
		{Name: "series-other-study", Why: "a Series Instance UID already stored under another study",
			Bytes: Cat(rq, store(1, other), store(2, moved), tail), Expect: append([]string{"AC", "RSP:0000", "RSP:C002"}, okEnd...)},
		{Name: "truncated-dataset", Why: "the dataset ends inside its last element (declared 100 bytes, 4 sent)",
			Bytes:  Cat(rq, StoreRQ(3, 1, dicom.SecondaryCapture, truncSOP, truncated), tail),
			Expect: append([]string{"AC", "RSP:C003"}, okEnd...)},
	}
}

// CountingUIDs returns a generator of reproducible UIDs under root.
func CountingUIDs(root string) func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("%s.%d", root, n) }
}

func sopOf(ds []byte) string {
	i := indexOfTag(ds, 0x0008, 0x0018)
	n := int(binary.LittleEndian.Uint16(ds[i+6:]))
	v := ds[i+8 : i+8+n]
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	return string(v)
}

// Trickle opens n connections to addr that each send an A-ASSOCIATE-RQ one
// byte every interval; stop (idempotent) closes them.
func Trickle(addr string, n int, interval time.Duration) (stop func(), err error) {
	rq := RQ("TRICKLE")
	done := make(chan struct{})
	var conns []net.Conn
	for i := 0; i < n; i++ {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			close(done)
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		conns = append(conns, nc)
		go func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for _, b := range rq {
				if _, err := nc.Write([]byte{b}); err != nil {
					return
				}
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			for _, c := range conns {
				c.Close()
			}
		})
	}, nil
}
