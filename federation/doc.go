// Package federation is conncred's workload identity federation wing: a
// workload that holds an OIDC token from its own platform (GitHub Actions,
// GitLab CI, HCP Terraform, a Kubernetes service account) trades it for a
// conncred access token without holding any conncred secret (RFC 8693 token
// exchange, as the official ConductorOne SDK's NewWithOIDCToken sends it).
//
// It owns three things:
//
//   - trusts (package trustdb, trusts.go, cache.go): a record that names an issuer, the
//     audiences and a CEL condition a subject token must satisfy, and the
//     principal it grants (a connector, or an admin);
//   - issuer keys (issuer.go): each issuer's OIDC discovery document and
//     JWKS, fetched with timeouts, size limits and https only, cached with a
//     TTL, refetched on an unknown kid at most once per interval, and served
//     stale within a bound while the issuer is down;
//   - the exchange's checks (exchange.go): signature against an algorithm
//     allow-list, iss, aud, exp/nbf/iat with skew and a maximum age, then
//     the condition (condition.go).
//
// Tokens are minted by package authority through its grant seam
// (authority.Grant), so they are the same access tokens the API already
// accepts; a token minted through a trust is checked against the trust on
// every call, so deleting the trust, its connector or its app cuts it off.
// Package federation knows nothing of HTTP or SQL: it declares the Store it
// needs, and store/sqlite and store/postgres implement it.
package federation
