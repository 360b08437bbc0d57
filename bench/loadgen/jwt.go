package loadgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// JWTSigner signs client assertions for the private_key_jwt client
// authentication of RFC 7523 and OpenID Connect Core §9, with ES256, for a
// standard OAuth2 server such as Ory Hydra (which has no EdDSA): header
// {"alg":"ES256","kid":<kid>,"typ":"JWT"}, claims iss = sub = client id,
// aud = the token endpoint's URL, a random jti (such servers refuse a jti
// twice), iat = now and exp = now + 120 s. As benchnode.Signer does, it
// builds the JSON around what changes once, so the generator's share of the
// machine is the signature.
type JWTSigner struct {
	clientID string
	kid      string
	priv     *ecdsa.PrivateKey
	// header is the encoded header; claimsHead the claims up to the jti's
	// value; formPrefix the request form up to the assertion's value.
	header     []byte
	claimsHead []byte
	formPrefix string
}

// NewES256Signer returns a signer for clientID whose assertions are
// addressed to audience (the token endpoint's URL), signed by priv (P-256)
// under key id kid.
func NewES256Signer(clientID, audience, kid string, priv *ecdsa.PrivateKey) (*JWTSigner, error) {
	switch {
	case clientID == "" || audience == "" || kid == "":
		return nil, errors.New("an ES256 signer needs a client id, an audience and a key id")
	case priv == nil || priv.Curve != elliptic.P256():
		return nil, errors.New("ES256 needs a P-256 key")
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": kid, "typ": "JWT"})
	qid, _ := json.Marshal(clientID)
	qaud, _ := json.Marshal(audience)
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
	}
	return &JWTSigner{
		clientID:   clientID,
		kid:        kid,
		priv:       priv,
		header:     base64.RawURLEncoding.AppendEncode(nil, hdr),
		claimsHead: fmt.Appendf(nil, `{"iss":%s,"sub":%s,"aud":%s,"jti":"`, qid, qid, qaud),
		formPrefix: form.Encode() + "&client_assertion=",
	}, nil
}

// GenerateES256Signer makes a fresh P-256 key with a random key id and
// returns its signer; register PublicJWK with the server under clientID.
func GenerateES256Signer(clientID, audience string) (*JWTSigner, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	var kid [8]byte
	_, _ = rand.Read(kid[:])
	return NewES256Signer(clientID, audience, "bench-"+hex.EncodeToString(kid[:]), priv)
}

// ClientID returns the signer's client id.
func (s *JWTSigner) ClientID() string { return s.clientID }

// PublicJWK returns the public key as a JWK (RFC 7517, 7518 §6.2), as a
// client's jwks lists it.
func (s *JWTSigner) PublicJWK() map[string]string {
	enc := base64.RawURLEncoding
	pub, err := s.priv.PublicKey.Bytes() // 0x04 || X || Y, 32 bytes each
	if err != nil {
		panic("loadgen: a P-256 key without its encoding: " + err.Error()) // NewES256Signer took only P-256
	}
	return map[string]string{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": s.kid,
		"x": enc.EncodeToString(pub[1:33]), "y": enc.EncodeToString(pub[33:65]),
	}
}

// Assertion returns a freshly signed assertion, valid from now for 120 s.
func (s *JWTSigner) Assertion(now time.Time) string {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	t := now.Unix()
	c := make([]byte, 0, len(s.claimsHead)+80)
	c = append(c, s.claimsHead...)
	c = hex.AppendEncode(c, jti[:])
	c = append(c, `","iat":`...)
	c = strconv.AppendInt(c, t, 10)
	c = append(c, `,"exp":`...)
	c = strconv.AppendInt(c, t+120, 10)
	c = append(c, '}')

	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(s.header)+enc.EncodedLen(len(c))+enc.EncodedLen(64)+2)
	buf = append(buf, s.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, c)
	digest := sha256.Sum256(buf)
	r, sv, err := ecdsa.Sign(rand.Reader, s.priv, digest[:])
	if err != nil {
		panic("loadgen: ECDSA signing failed: " + err.Error()) // only if the system's randomness fails
	}
	// JWS wants the raw r || s, 32 bytes each (RFC 7518 §3.4), not ASN.1.
	var sig [64]byte
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig[:])
	return string(buf)
}

// TokenForm returns a client_credentials token request body carrying a
// fresh assertion; base64url and '.' need no escaping in a form.
func (s *JWTSigner) TokenForm(now time.Time) string {
	return s.formPrefix + s.Assertion(now)
}
