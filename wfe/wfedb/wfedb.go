// Package wfedb holds the records and store interface of package wfe (the
// official workload federation shapes) apart from its rules, so that the
// stores can implement it without importing the authority.
package wfedb

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/federation/trustdb"
)

// Provider is ConductorOne's WorkloadFederationProvider: a registered OIDC
// issuer that trusts reference. Its issuer URL is fixed at creation, so the
// trusts made from it never disagree with it.
type Provider struct {
	ID          string
	DisplayName string
	Description string
	IssuerURL   string
	WellKnown   string // WELL_KNOWN_WORKLOAD_PROVIDER_*
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

// TrustExtra is what the official trust has and conncred's trust record
// does not: the provider it was made from and a description. A trust made
// through conncred's own routes has none (zero value).
type TrustExtra struct {
	ProviderID  string
	Description string
}

// Store is what package wfe needs of the database; store/sqlite and
// store/postgres implement it in their wfe.go files, and
// store/storetest/wfe.go holds its conformance tests.
type Store interface {
	// CreateProvider inserts p; a duplicate id is EConflict.
	CreateProvider(ctx context.Context, p Provider) error
	// GetProvider returns a provider that is not deleted; else ENotFound.
	GetProvider(ctx context.Context, id string) (Provider, error)
	// ListProviders returns a page of providers that are not deleted, in
	// id order.
	ListProviders(ctx context.Context, opt conncred.ListOptions) ([]Provider, error)
	// UpdateProvider replaces DisplayName, Description and UpdatedAt of a
	// provider that is not deleted; else ENotFound.
	UpdateProvider(ctx context.Context, p Provider) error
	// DeleteProvider marks a provider deleted at at, in one transaction
	// with a check that no live trust references it (else
	// EConflict, and nothing changes); ENotFound if it is not
	// there or already deleted.
	DeleteProvider(ctx context.Context, id string, at time.Time) error
	// TrustExtra returns a trust's extra fields; the zero value when it
	// has none.
	TrustExtra(ctx context.Context, trustID string) (TrustExtra, error)
	// SetTrustExtra replaces them.
	SetTrustExtra(ctx context.Context, trustID string, e TrustExtra, at time.Time) error

	// GetTrustByClientID is trustdb.Store's.
	GetTrustByClientID(ctx context.Context, clientID string) (trustdb.Trust, error)
	// GetConnector is conncred.Store's: a service principal is a connector.
	GetConnector(ctx context.Context, id string) (conncred.Connector, error)
}
