package hl7

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/radraft/radraft/drafts"
)

// OrderHandler stores order messages and acknowledges them: AA (CA in
// enhanced mode) only after the order is committed; AE/CE only when a resend
// can succeed (the database failing); AR/CR with a reason when it cannot (a
// malformed message, another HL7 version, no accession and no Study UID, an
// unsupported order control). Other message types that share the feed (ADT,
// ORU, SIU…) get AA without being stored or processed, unless
// RejectUnsolicited; an ACK sent to us is not answered. It never logs PHI.
type OrderHandler struct {
	Store     *drafts.Store
	Extractor Extractor
	// RejectUnsolicited answers AR to message types other than orders
	// instead of AA (accepted, not processed).
	RejectUnsolicited bool
	Log               *slog.Logger
	// StoreTimeout bounds one message's transaction (default 30 seconds).
	StoreTimeout time.Duration
}

func (h *OrderHandler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// Handle implements Handler.
func (h *OrderHandler) Handle(ctx context.Context, raw []byte, remote string) []byte {
	msg, err := Parse(raw)
	if err != nil {
		h.log().Warn("hl7: malformed message rejected", "remote", remote, "err", err, "bytes", len(raw))
		return BuildAck(nil, raw, AckOptions{Code: AR, ErrCode: ErrSegmentSequence, Text: err.Error()})
	}
	mode := ModeOf(msg)
	answer := func(code AckCode, o AckOptions) []byte {
		o.Code = mode.Code(code)
		if !mode.ShouldSend(o.Code) {
			return nil
		}
		return BuildAck(msg, raw, o)
	}
	attrs := []any{"remote", remote, "control_id", msg.ControlID(), "type", msg.Type()}
	orders, rej := h.Extractor.Extract(msg)
	if rej != nil && h.unsolicited(msg, rej) {
		if strings.EqualFold(msg.Segment("MSH").Get(9, 1), "ACK") {
			h.log().Info("hl7: acknowledgement received; not answered", attrs...)
			return nil
		}
		h.log().Info("hl7: not an order; acknowledged, not processed", attrs...)
		return answer(AA, AckOptions{})
	}
	if rej != nil {
		h.log().Warn("hl7: message not accepted", append(attrs, "ack", string(mode.Code(rej.Code)), "reason", rej.Text)...)
		return answer(rej.Code, AckOptions{ErrCode: rej.ErrCode, ErrLocation: rej.Location, Text: rej.Text})
	}
	msh := msg.Segment("MSH")
	om := drafts.OrderMessage{
		ControlID:       msg.ControlID(),
		MessageType:     msg.Type(),
		SendingApp:      msh.Get(3, 1),
		SendingFacility: msh.Get(4, 1),
		VersionID:       msh.Get(12, 1),
		RemoteAddr:      remote,
		Raw:             raw,
		Orders:          orders,
	}
	timeout := h.StoreTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := h.Store.SaveOrderMessage(sctx, om)
	if err != nil {
		if errors.Is(err, drafts.ErrNoOrderKey) {
			return answer(AR, AckOptions{ErrCode: ErrRequiredFieldMiss, Text: "order has neither accession number nor Study Instance UID"})
		}
		if drafts.Unstorable(err) {
			h.log().Warn("hl7: order refused by the database; rejected", append(attrs, "err", err)...)
			return answer(AR, AckOptions{ErrCode: ErrDataType, Text: "a value of the order cannot be stored (invalid characters)"})
		}
		h.log().Error("hl7: order not stored", append(attrs, "err", err)...)
		return answer(AE, AckOptions{ErrCode: ErrApplicationError, Text: "order could not be stored; send it again"})
	}
	for _, o := range res.Orders {
		h.log().Info("hl7: order stored", append(attrs, "order_id", o.OrderID, "version", o.Version,
			"action", o.Action.String(), "created", o.Created, "duplicate", res.Duplicate, "studies", len(o.Studies),
			"jobs_retried", o.JobsRetried, "jobs_queued", o.JobsInserted, "jobs_cancelled", o.JobsCancelled)...)
	}
	if res.Duplicate && len(res.Orders) == 0 {
		h.log().Info("hl7: duplicate message acknowledged again", attrs...)
	}
	return answer(AA, AckOptions{})
}

// unsolicited reports whether a rejected message is another HL7 v2 type on
// the same feed, to be accepted without processing.
func (h *OrderHandler) unsolicited(msg *Message, rej *Reject) bool {
	if h.RejectUnsolicited || (rej.ErrCode != ErrUnsupportedMsgType && rej.ErrCode != ErrUnsupportedEvent) {
		return false
	}
	v := msg.Segment("MSH").Get(12, 1)
	return v == "" || strings.HasPrefix(v, "2.")
}
