package authority

import (
	"context"

	"github.com/conncred/conncred"
)

// Sender-constrained tokens (RFC 9449, package dpop) touch the authority in
// three places only, all here or one line beside the code they extend:
// the token request carries the thumbprint of the key a verified DPoP proof
// was signed with (TokenRequest.JKT, Grant.JKT), the minted token carries
// it as cnf.jkt, and Authenticate hands it back in the principal so the
// transport can demand a proof by that key. Proofs themselves are package
// dpop's business; the authority never sees one.

// ErrInvalidDPoPProof is RFC 9449 §5's token endpoint error: here, a token
// request without a proof for a credential that requires one.
const ErrInvalidDPoPProof = "invalid_dpop_proof"

// cnfClaim is RFC 7800's confirmation claim with RFC 9449's jkt member.
type cnfClaim struct {
	JKT string `json:"jkt"`
}

// BindingPolicy says whether a credential's token requests must carry a
// DPoP proof. It is on the path of every token request that carries none,
// so it must answer from a cache.
type BindingPolicy interface {
	RequireDPoP(ctx context.Context, credentialID string) (bool, error)
}

type bindingPolicyBox struct{ p BindingPolicy }

// SetBindingPolicy installs p. Without one, no credential requires DPoP.
func (a *Authority) SetBindingPolicy(p BindingPolicy) {
	a.binding.Store(&bindingPolicyBox{p: p})
}

// checkBinding refuses an unbound token request for a credential that
// requires DPoP: by its own flag, or by the policy over its connector.
func (a *Authority) checkBinding(ctx context.Context, cred conncred.Credential, jkt string) error {
	if jkt != "" {
		return nil
	}
	required := false
	if box := a.binding.Load(); box != nil {
		var err error
		if required, err = box.p.RequireDPoP(ctx, cred.ID); err != nil {
			return err
		}
	}
	if !required {
		var err error
		if required, err = a.scopeRequiresDPoP(ctx, cred); err != nil {
			return err
		}
	}
	if required {
		te := tokenError(ErrInvalidDPoPProof, "this credential requires DPoP: send a DPoP header with a proof (RFC 9449) signed by the key the token is to be bound to")
		te.Reason = "DPoP required, no proof"
		return te
	}
	return nil
}

// bind puts jkt, if any, in claims.
func bind(claims *accessClaims, jkt string) {
	if jkt != "" {
		claims.Cnf = &cnfClaim{JKT: jkt}
	}
}

// boundTo is the thumbprint claims are bound to, or "".
func boundTo(c accessClaims) string {
	if c.Cnf == nil {
		return ""
	}
	return c.Cnf.JKT
}
