package ul

import "slices"

// Policy is what an acceptor agrees to.
type Policy struct {
	AETitle string
	// AllowedCalling lists the calling AE titles accepted; empty = any.
	AllowedCalling []string
	// Accepts says whether an abstract syntax (SOP class) is accepted.
	Accepts func(abstractSyntax string) bool
	// TransferSyntaxes are the transfer syntaxes accepted, in our order of
	// preference: of those a peer proposes for a context, the first of
	// this list is chosen, whatever the peer's order.
	TransferSyntaxes []string
	// MaxPDU is the maximum length we announce (and enforce).
	MaxPDU                        uint32
	ImplClassUID, ImplVersionName string
}

// Reject is the reason for refusing an association.
type Reject struct{ Result, Source, Reason byte }

// Negotiate answers an A-ASSOCIATE-RQ: either an AC answering every
// presentation context (result 0, 3 or 4), or a Reject.
func Negotiate(rq *AssociateRQ, p *Policy, appContext string) (*AssociateAC, *Reject) {
	if rq.ApplicationContext != appContext {
		return nil, &Reject{RejectPermanent, SourceServiceUser, ReasonAppContextNotSupported}
	}
	if rq.CalledAE != p.AETitle {
		return nil, &Reject{RejectPermanent, SourceServiceUser, ReasonCalledAENotRecognized}
	}
	if len(p.AllowedCalling) > 0 && !slices.Contains(p.AllowedCalling, rq.CallingAE) {
		return nil, &Reject{RejectPermanent, SourceServiceUser, ReasonCallingAENotRecognized}
	}
	ac := &AssociateAC{
		ProtocolVersion:    1,
		CalledAE:           rq.CalledAE,
		CallingAE:          rq.CallingAE,
		ApplicationContext: appContext,
		UserInfo:           UserInfo{MaxLength: p.MaxPDU, ImplClassUID: p.ImplClassUID, ImplVersionName: p.ImplVersionName},
	}
	for _, pc := range rq.Contexts {
		ans := ContextResult{ID: pc.ID, Result: ResultTransferSyntaxNotSupported}
		if !p.Accepts(pc.AbstractSyntax) {
			ans.Result = ResultAbstractSyntaxNotSupported
		} else if ts, ok := preferred(p.TransferSyntaxes, pc.TransferSyntaxes); ok {
			ans.Result, ans.TransferSyntax = ResultAcceptance, ts
		}
		ac.Contexts = append(ac.Contexts, ans)
	}
	return ac, nil
}

// preferred is the first of ours that the peer proposed.
func preferred(ours, proposed []string) (string, bool) {
	for _, ts := range ours {
		if slices.Contains(proposed, ts) {
			return ts, true
		}
	}
	return "", false
}
