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
		UserInfo: UserInfo{MaxLength: 16384, ImplClassUID: "1.2.3", ImplVersionName: "X"},
	}
	b := rq.Encode()
	got, err := DecodeAssociateRQ(b[6:])
	if err != nil {
		t.Fatal(err)
	}
	if got.CalledAE != "RADRAFT" || got.CallingAE != "MOD1" || got.MaxLength != 16384 || got.ImplClassUID != "1.2.3" ||
		len(got.Contexts) != 2 || got.Contexts[1].TransferSyntaxes[1] != "1.2.840.10008.1.2" {
		t.Fatalf("decoded %+v", got)
	}
	ac, rj := Negotiate(got, &Policy{AETitle: "RADRAFT", Accepts: func(s string) bool { return s == "1.2.840.10008.1.1" },
		TransferSyntaxes: []string{"1.2.840.10008.1.2"}, MaxPDU: 1 << 20}, "1.2.840.10008.3.1.1.1")
	if rj != nil {
		t.Fatalf("rejected: %+v", rj)
	}
	back, err := DecodeAssociateAC(ac.Encode()[6:])
	if err != nil {
		t.Fatal(err)
	}
	if back.Contexts[0].Result != ResultAcceptance || back.Contexts[0].TransferSyntax != "1.2.840.10008.1.2" ||
		back.Contexts[1].Result != ResultAbstractSyntaxNotSupported {
		t.Fatalf("AC contexts %+v", back.Contexts)
	}
	// An RQ is not an AC, nor the other way round.
	if _, err := DecodeAssociateAC(b[6:]); err == nil {
		t.Error("an A-ASSOCIATE-RQ body decoded as an AC")
	}
	if _, err := DecodeAssociateRQ(ac.Encode()[6:]); err == nil {
		t.Error("an A-ASSOCIATE-AC body decoded as an RQ")
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

// An accepted AC context must name exactly one transfer syntax; one with
// none (the PDU of issue 10 that once panicked negotiation) is invalid.
func TestACContextWithoutTransferSyntax(t *testing.T) {
	ac := (&AssociateAC{ProtocolVersion: 1, ApplicationContext: "1.2.840.10008.3.1.1.1",
		Contexts: []ContextResult{{ID: 1, Result: ResultAcceptance, TransferSyntax: "1.2.840.10008.1.2"}}}).Encode()
	// cut the transfer syntax sub-item out of the context item
	i := bytes.IndexByte(ac[74:], itemPresContextAC) + 74
	item := ac[i : i+4+4+4+len("1.2.840.10008.1.2")]
	stripped := append([]byte{itemPresContextAC, 0, 0, 4}, item[4:8]...)
	body := append(append(append([]byte(nil), ac[6:i]...), stripped...), ac[i+len(item):]...)
	var pe *ProtocolError
	if _, err := DecodeAssociateAC(body); !errors.As(err, &pe) || pe.Reason != AbortInvalidParam {
		t.Fatalf("decoding an accepted context without transfer syntax: %v", err)
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

// AE titles hold only the default repertoire: other bytes become '?', NULs
// go, so a hostile title can be logged and stored.
func TestAETitleSanitised(t *testing.T) {
	rq := (&AssociateRQ{ProtocolVersion: 1, CalledAE: "RADRAFT", CallingAE: "CAF\xe9\x00\n",
		ApplicationContext: "1.2.840.10008.3.1.1.1",
		Contexts:           []PresentationContext{{ID: 1, AbstractSyntax: "1.2.840.10008.1.1", TransferSyntaxes: []string{"1.2.840.10008.1.2"}}}}).Encode()
	got, err := DecodeAssociateRQ(rq[6:])
	if err != nil {
		t.Fatal(err)
	}
	if got.CallingAE != "CAF??" {
		t.Fatalf("calling AE %q", got.CallingAE)
	}
}
