package client

import (
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/conncred/conncred/dpop"
)

// WithDPoP makes the token source send a DPoP proof (RFC 9449) signed by s
// with every token request, so its tokens are bound to s's key, and makes
// the API client send each call as Authorization: DPoP with a fresh proof.
// A server that does not take DPoP answers Bearer tokens, which are then
// sent as Bearer. A server nonce (DPoP-Nonce) is remembered and a refusal
// for want of one is retried once with it.
func WithDPoP(s *dpop.Signer) Option { return func(o *options) { o.dpop = s } }

// nonceBox remembers the server's latest DPoP-Nonce, shared by the token
// source and the API client.
type nonceBox struct {
	mu sync.Mutex
	v  string
}

func (n *nonceBox) get() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.v
}

// update keeps the nonce resp carries, if any, and reports whether resp
// asks for a retry with it (use_dpop_nonce, RFC 9449 §8 and §9).
func (n *nonceBox) update(resp *http.Response) (retry bool) {
	v := resp.Header.Get("DPoP-Nonce")
	if v == "" {
		return false
	}
	n.mu.Lock()
	n.v = v
	n.mu.Unlock()
	switch resp.StatusCode {
	case http.StatusBadRequest:
		return true // the body says use_dpop_nonce; any other 400 fails again
	case http.StatusUnauthorized:
		return strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`)
	}
	return false
}

// setProof sets the DPoP header of req, a call with token ("" at the
// token endpoint).
func setProof(req *http.Request, s *dpop.Signer, nonces *nonceBox, token string) error {
	u := *req.URL
	u.RawQuery, u.Fragment = "", ""
	p, err := s.Proof(req.Method, u.String(), token, nonces.get())
	if err != nil {
		return err
	}
	req.Header.Set("DPoP", p)
	return nil
}

// errorsAs is errors.As, named so the token source's retry reads plainly.
func errorsAs(err error, target any) bool { return errors.As(err, target) }
