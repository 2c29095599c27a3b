package ul

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

func TestAssociateRoundTrip(t *testing.T) {
	rq := &AssociateRQ{
		ProtocolVersion: 1, CalledAE: "RADRAFT", CallingAE: "MOD1", ApplicationContext: "1.2.840.10008.3.1.1.1",
		Contexts: []PresentationContext{
			{ID: 1, AbstractSyntax: "1.2.840.10008.1.1", TransferSyntaxes: []string{"1.2.840.10008.1.2"}},
			{ID: 3, AbstractSyntax: "1.2.840.10008.5.1.4.1.1.1", TransferSyntaxes: []string{"1.2.840.10008.1.2.1", "1.2.840.10008.1.2"}},
		},
		MaxLength: 16384, ImplClassUID: "1.2.3", ImplVersionName: "X",
	}
	b := rq.Encode(TypeAssociateRQ)
	got, err := DecodeAssociate(TypeAssociateRQ, b[6:])
	if err != nil {
		t.Fatal(err)
	}
	if got.CalledAE != "RADRAFT" || got.CallingAE != "MOD1" || got.MaxLength != 16384 || got.ImplClassUID != "1.2.3" ||
		len(got.Contexts) != 2 || got.Contexts[1].TransferSyntaxes[1] != "1.2.840.10008.1.2" {
		t.Fatalf("decoded %+v", got)
	}
	ac, rj := Negotiate(got, &Policy{AETitle: "RADRAFT", AbstractSyntaxes: []string{"1.2.840.10008.1.1"},
		TransferSyntaxes: []string{"1.2.840.10008.1.2"}, MaxPDU: 1 << 20}, "1.2.840.10008.3.1.1.1")
	if rj != nil {
		t.Fatalf("rejected: %+v", rj)
	}
	back, err := DecodeAssociate(TypeAssociateAC, ac.Encode(TypeAssociateAC)[6:])
	if err != nil {
		t.Fatal(err)
	}
	if back.Contexts[0].Result != ResultAcceptance || back.Contexts[1].Result != ResultAbstractSyntaxNotSupported {
		t.Fatalf("AC contexts %+v", back.Contexts)
	}
	for _, c := range []struct {
		p    Policy
		want Reject
	}{
		{Policy{AETitle: "OTHER"}, Reject{RejectPermanent, SourceServiceUser, ReasonCalledAENotRecognized}},
		{Policy{AETitle: "RADRAFT", AllowedCalling: []string{"MOD2"}}, Reject{RejectPermanent, SourceServiceUser, ReasonCallingAENotRecognized}},
	} {
		if _, rj := Negotiate(got, &c.p, "1.2.840.10008.3.1.1.1"); rj == nil || *rj != c.want {
			t.Errorf("policy %+v: %+v, want %+v", c.p, rj, c.want)
		}
	}
}

// Data sent with a small peer maximum is fragmented into PDUs that respect
// it, and reassembles to the same bytes.
func TestFragmentationBothWays(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	sender := NewConn(a, 4096)
	sender.PeerMaxPDU = 100
	receiver := NewConn(b, 4096)
	receiver.MaxPDU = 100
	data := bytes.Repeat([]byte("0123456789abcdef"), 40) // 640 bytes
	go func() {
		sender.WriteFragments(3, true, data[:50])                          //nolint:errcheck
		sender.StreamFragments(3, bytes.NewReader(data), int64(len(data))) //nolint:errcheck
	}()
	read := func(command bool) []byte {
		var out []byte
		for {
			pdv, err := receiver.NextPDV()
			if err != nil {
				t.Fatal(err)
			}
			if pdv.Command() != command || pdv.ContextID != 3 || pdv.Length > 94 {
				t.Fatalf("PDV %+v", pdv)
			}
			chunk, err := io.ReadAll(receiver)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, chunk...)
			if pdv.Last() {
				return out
			}
		}
	}
	if got := read(true); !bytes.Equal(got, data[:50]) {
		t.Fatalf("command: %q", got)
	}
	if got := read(false); !bytes.Equal(got, data) {
		t.Fatalf("dataset differs (%d bytes)", len(got))
	}
}

// Several PDVs in one P-DATA-TF, then a release.
func TestSeveralPDVsInOnePDU(t *testing.T) {
	p1 := EncodePDataTF(1, PDVCommand, []byte("ab"))
	p2 := EncodePDataTF(1, PDVCommand|PDVLast, []byte("cd"))
	// merge the two PDV items under one PDU header
	pdu := append([]byte{TypePDataTF, 0, 0, 0, 0, byte(len(p1) - 6 + len(p2) - 6)}, p1[6:]...)
	pdu = append(pdu, p2[6:]...)
	pdu = append(pdu, EncodeRelease(TypeReleaseRQ)...)
	c := NewConn(byteConn{bytes.NewReader(pdu)}, 4096)
	var got []byte
	for {
		_, err := c.NextPDV()
		if errors.Is(err, ErrReleaseRQ) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(c)
		got = append(got, b...)
	}
	if string(got) != "abcd" {
		t.Fatalf("got %q", got)
	}
}
