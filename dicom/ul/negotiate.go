package ul

import "slices"

// Policy is what an acceptor agrees to.
type Policy struct {
	AETitle string
	// AllowedCalling lists the calling AE titles accepted; empty = any.
	AllowedCalling []string
	// AbstractSyntaxes are the SOP classes accepted.
	AbstractSyntaxes []string
	// TransferSyntaxes are the transfer syntaxes accepted; of those a peer
	// proposes for a context, the peer's first is chosen.
	TransferSyntaxes []string
	// MaxPDU is the maximum length we announce (and enforce).
	MaxPDU                        uint32
	ImplClassUID, ImplVersionName string
}

// Reject is the reason for refusing an association.
type Reject struct{ Result, Source, Reason byte }

// Negotiate answers an A-ASSOCIATE-RQ: either an AC answering every
// presentation context (result 0, 3 or 4), or a Reject.
func Negotiate(rq *AssociateRQ, p *Policy, appContext string) (*AssociateRQ, *Reject) {
	if rq.ProtocolVersion&1 == 0 {
		return nil, &Reject{RejectPermanent, SourceProviderACSE, ReasonProtocolVersion}
	}
	if rq.ApplicationContext != appContext {
		return nil, &Reject{RejectPermanent, SourceServiceUser, ReasonAppContextNotSupported}
	}
	if rq.CalledAE != p.AETitle {
		return nil, &Reject{RejectPermanent, SourceServiceUser, ReasonCalledAENotRecognized}
	}
	if len(p.AllowedCalling) > 0 && !slices.Contains(p.AllowedCalling, rq.CallingAE) {
		return nil, &Reject{RejectPermanent, SourceServiceUser, ReasonCallingAENotRecognized}
	}
	ac := &AssociateRQ{
		ProtocolVersion:    1,
		CalledAE:           rq.CalledAE,
		CallingAE:          rq.CallingAE,
		ApplicationContext: appContext,
		MaxLength:          p.MaxPDU,
		ImplClassUID:       p.ImplClassUID,
		ImplVersionName:    p.ImplVersionName,
	}
	for _, pc := range rq.Contexts {
		ans := PresentationContext{ID: pc.ID}
		switch {
		case !slices.Contains(p.AbstractSyntaxes, pc.AbstractSyntax):
			ans.Result = ResultAbstractSyntaxNotSupported
		default:
			ans.Result = ResultTransferSyntaxNotSupported
			for _, ts := range pc.TransferSyntaxes {
				if slices.Contains(p.TransferSyntaxes, ts) {
					ans.Result = ResultAcceptance
					ans.TransferSyntaxes = []string{ts}
					break
				}
			}
		}
		ac.Contexts = append(ac.Contexts, ans)
	}
	return ac, nil
}
