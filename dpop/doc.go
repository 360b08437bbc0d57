// Package dpop is conncred's sender-constrained token wing (DPoP, RFC 9449).
//
// A client that sends a DPoP proof (a JWT it signs with a key of its own,
// whose public half rides in the proof's header) with its token request gets
// an access token bound to that key: the token carries the key's RFC 7638
// thumbprint as cnf.jkt and is issued with token_type DPoP. Every later call
// with that token must carry a fresh proof by the same key for that very
// call (its method, its URL, the token's hash), so a stolen bound token
// alone is useless.
//
// The package owns:
//
//   - the proof's form and checks (proof.go, jwk.go, htu.go): typ dpop+jwt,
//     alg EdDSA or ES256 only, a public jwk and nothing else that names a key,
//     htm, htu compared after RFC 3986 normalization, iat within a window,
//     ath, and the key's thumbprint;
//   - single use of each proof (verifier.go): its jti is recorded in the
//     replay store every node shares, until the proof could no longer be
//     accepted anyway;
//   - server-provided nonces (nonce.go): an HMAC of a time window, so nodes
//     that share the key agree without sharing state;
//   - the per-credential "require DPoP" flag (policy.go), kept in the
//     store it declares;
//   - making proofs (signer.go), for conncred's own client.
//
// It knows nothing of HTTP or SQL: package server passes it the request's
// method, URL and headers, and package authority puts the thumbprint in
// the token.
package dpop
