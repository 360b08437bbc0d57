package federation

import "github.com/conncred/conncred/federation/trustdb"

// The record and store interface live in package trustdb (a leaf the
// stores import); these aliases keep this package's API readable.
type (
	// Trust is a workload federation trust; see trustdb.Trust.
	Trust = trustdb.Trust
	// Store keeps trusts; see trustdb.Store.
	Store = trustdb.Store
	// Role is what a trust's tokens act as.
	Role = trustdb.Role
)

// Roles and the client-id suffix; see package trustdb.
const (
	RoleConnector = trustdb.RoleConnector
	RoleAdmin     = trustdb.RoleAdmin
	SuffixTrust   = trustdb.SuffixTrust
)
