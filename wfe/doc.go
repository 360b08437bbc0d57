// Package wfe serves ConductorOne's official WorkloadFederationService
// (SDK commit e0eec7b5, February 2026) over conncred's own workload
// federation trusts, so that the official SDK and Terraform provider can
// manage them while conncred's /api/v1/iam/workload_federation_trusts keeps
// working on the same records.
//
// The mapping:
//
//   - A provider is a registered OIDC issuer (a record of this package,
//     wfedb.Provider). Its issuerUrl is fixed at creation; a trust made from
//     it takes its issuer, so the two never disagree. A provider with live
//     trusts cannot be deleted.
//   - A service principal is a connector, named by its id: the official
//     API's service principals are non-human identities whose tokens act
//     with the principal's roles, which is exactly what a connector trust's
//     tokens do (a connector credential's permissions, no more). Admin
//     trusts have no service principal and are not listed under one; the
//     official search lists them with an empty servicePrincipalId.
//   - A trust is federation's trust record, named on the official paths by
//     its clientId (…/wfe) or its id. The official description and
//     providerId are kept beside it (wfedb.TrustExtra).
//
// Official fields conncred cannot honour are refused with a 400 that says
// so, never stored and ignored: disabled=true (delete the trust instead),
// allowSourceCidrs, passthroughClaims and scopedRoleIds on trusts, and
// disabled=true on providers.
//
// It knows nothing of HTTP or SQL: package server calls it; the stores
// implement wfedb.Store.
package wfe
