package metrics

import (
	"context"
	"time"

	"github.com/conncred/conncred"
	"github.com/prometheus/client_golang/prometheus"
)

// Store returns s with the latency of every call observed in
// conncred_store_call_duration_seconds{method} and its errors counted in
// conncred_store_call_errors_total{method,code}. The stores themselves are
// not changed. When s is a conncred.RevocationWatcher so is the result
// (the authority looks for it), and WatchRevocations is passed through
// unmeasured: it runs for the life of the process. Close is not measured.
//
// The observers of each method are looked up once, here, so a call costs
// two clock reads and one histogram observation, not a label look-up.
func (m *Metrics) Store(s conncred.Store) conncred.Store {
	o := &observedStore{next: s, m: m}
	for i, name := range storeMethods {
		o.obs[i] = m.storeDuration.WithLabelValues(name)
	}
	if w, ok := s.(conncred.RevocationWatcher); ok {
		return &watchingStore{observedStore: o, w: w}
	}
	return o
}

// observedStore is the decorator Store returns.
type observedStore struct {
	next conncred.Store
	m    *Metrics
	obs  [numStoreMethods]prometheus.Observer
}

// watchingStore is an observedStore over a store that watches revocations.
type watchingStore struct {
	*observedStore
	w conncred.RevocationWatcher
}

var (
	_ conncred.Store             = (*observedStore)(nil)
	_ conncred.RevocationWatcher = (*watchingStore)(nil)
)

func (s *watchingStore) WatchRevocations(ctx context.Context, fn func(string)) error {
	return s.w.WatchRevocations(ctx, fn)
}

// done records one call of method i that started at start.
func (s *observedStore) done(i storeMethod, start time.Time, err error) {
	s.obs[i].Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.storeErrors.WithLabelValues(storeMethods[i], conncred.ErrorCode(err)).Inc()
	}
}

// Close closes the underlying store.
func (s *observedStore) Close() error { return s.next.Close() }

// storeMethod indexes storeMethods.
type storeMethod int

const (
	mCreateApp storeMethod = iota
	mGetApp
	mListApps
	mUpdateApp
	mDeleteApp
	mCreateConnector
	mGetConnector
	mListConnectors
	mUpdateConnector
	mDeleteConnector
	mCreateCredential
	mGetCredential
	mGetCredentialByClientID
	mListCredentials
	mRevokeCredential
	mTouchCredentials
	mCountCredentials
	mUseAssertion
	mSweepAssertions
	mCreateSigningKey
	mListSigningKeys
	mAppendAudit
	mListAudit
	mPing
	numStoreMethods
)

// storeMethods are the method label values, indexed by storeMethod.
var storeMethods = [numStoreMethods]string{
	mCreateApp:               "CreateApp",
	mGetApp:                  "GetApp",
	mListApps:                "ListApps",
	mUpdateApp:               "UpdateApp",
	mDeleteApp:               "DeleteApp",
	mCreateConnector:         "CreateConnector",
	mGetConnector:            "GetConnector",
	mListConnectors:          "ListConnectors",
	mUpdateConnector:         "UpdateConnector",
	mDeleteConnector:         "DeleteConnector",
	mCreateCredential:        "CreateCredential",
	mGetCredential:           "GetCredential",
	mGetCredentialByClientID: "GetCredentialByClientID",
	mListCredentials:         "ListCredentials",
	mRevokeCredential:        "RevokeCredential",
	mTouchCredentials:        "TouchCredentials",
	mCountCredentials:        "CountCredentials",
	mUseAssertion:            "UseAssertion",
	mSweepAssertions:         "SweepAssertions",
	mCreateSigningKey:        "CreateSigningKey",
	mListSigningKeys:         "ListSigningKeys",
	mAppendAudit:             "AppendAudit",
	mListAudit:               "ListAudit",
	mPing:                    "Ping",
}

func (s *observedStore) CreateApp(ctx context.Context, app conncred.App) error {
	start := time.Now()
	err := s.next.CreateApp(ctx, app)
	s.done(mCreateApp, start, err)
	return err
}

func (s *observedStore) GetApp(ctx context.Context, id string) (conncred.App, error) {
	start := time.Now()
	v, err := s.next.GetApp(ctx, id)
	s.done(mGetApp, start, err)
	return v, err
}

func (s *observedStore) ListApps(ctx context.Context, opt conncred.ListOptions) ([]conncred.App, error) {
	start := time.Now()
	v, err := s.next.ListApps(ctx, opt)
	s.done(mListApps, start, err)
	return v, err
}

func (s *observedStore) UpdateApp(ctx context.Context, app conncred.App) error {
	start := time.Now()
	err := s.next.UpdateApp(ctx, app)
	s.done(mUpdateApp, start, err)
	return err
}

func (s *observedStore) DeleteApp(ctx context.Context, id string, at time.Time) error {
	start := time.Now()
	err := s.next.DeleteApp(ctx, id, at)
	s.done(mDeleteApp, start, err)
	return err
}

func (s *observedStore) CreateConnector(ctx context.Context, c conncred.Connector) error {
	start := time.Now()
	err := s.next.CreateConnector(ctx, c)
	s.done(mCreateConnector, start, err)
	return err
}

func (s *observedStore) GetConnector(ctx context.Context, id string) (conncred.Connector, error) {
	start := time.Now()
	v, err := s.next.GetConnector(ctx, id)
	s.done(mGetConnector, start, err)
	return v, err
}

func (s *observedStore) ListConnectors(ctx context.Context, appID string, opt conncred.ListOptions) ([]conncred.Connector, error) {
	start := time.Now()
	v, err := s.next.ListConnectors(ctx, appID, opt)
	s.done(mListConnectors, start, err)
	return v, err
}

func (s *observedStore) UpdateConnector(ctx context.Context, c conncred.Connector) error {
	start := time.Now()
	err := s.next.UpdateConnector(ctx, c)
	s.done(mUpdateConnector, start, err)
	return err
}

func (s *observedStore) DeleteConnector(ctx context.Context, id string, at time.Time) error {
	start := time.Now()
	err := s.next.DeleteConnector(ctx, id, at)
	s.done(mDeleteConnector, start, err)
	return err
}

func (s *observedStore) CreateCredential(ctx context.Context, c conncred.Credential, limit conncred.ActiveLimit) error {
	start := time.Now()
	err := s.next.CreateCredential(ctx, c, limit)
	s.done(mCreateCredential, start, err)
	return err
}

func (s *observedStore) GetCredential(ctx context.Context, id string) (conncred.Credential, error) {
	start := time.Now()
	v, err := s.next.GetCredential(ctx, id)
	s.done(mGetCredential, start, err)
	return v, err
}

func (s *observedStore) GetCredentialByClientID(ctx context.Context, clientID string) (conncred.Credential, error) {
	start := time.Now()
	v, err := s.next.GetCredentialByClientID(ctx, clientID)
	s.done(mGetCredentialByClientID, start, err)
	return v, err
}

func (s *observedStore) ListCredentials(ctx context.Context, f conncred.CredentialFilter) ([]conncred.Credential, error) {
	start := time.Now()
	v, err := s.next.ListCredentials(ctx, f)
	s.done(mListCredentials, start, err)
	return v, err
}

func (s *observedStore) RevokeCredential(ctx context.Context, id string, at time.Time) (conncred.Credential, error) {
	start := time.Now()
	v, err := s.next.RevokeCredential(ctx, id, at)
	s.done(mRevokeCredential, start, err)
	return v, err
}

func (s *observedStore) TouchCredentials(ctx context.Context, uses []conncred.CredentialUse) error {
	start := time.Now()
	err := s.next.TouchCredentials(ctx, uses)
	s.done(mTouchCredentials, start, err)
	return err
}

func (s *observedStore) CountCredentials(ctx context.Context, f conncred.CredentialFilter) (int, error) {
	start := time.Now()
	v, err := s.next.CountCredentials(ctx, f)
	s.done(mCountCredentials, start, err)
	return v, err
}

func (s *observedStore) UseAssertion(ctx context.Context, key string, expiresAt time.Time) error {
	start := time.Now()
	err := s.next.UseAssertion(ctx, key, expiresAt)
	s.done(mUseAssertion, start, err)
	return err
}

func (s *observedStore) SweepAssertions(ctx context.Context, before time.Time, limit int) (int, error) {
	start := time.Now()
	v, err := s.next.SweepAssertions(ctx, before, limit)
	s.done(mSweepAssertions, start, err)
	return v, err
}

func (s *observedStore) CreateSigningKey(ctx context.Context, k conncred.SigningKey) error {
	start := time.Now()
	err := s.next.CreateSigningKey(ctx, k)
	s.done(mCreateSigningKey, start, err)
	return err
}

func (s *observedStore) ListSigningKeys(ctx context.Context) ([]conncred.SigningKey, error) {
	start := time.Now()
	v, err := s.next.ListSigningKeys(ctx)
	s.done(mListSigningKeys, start, err)
	return v, err
}

func (s *observedStore) AppendAudit(ctx context.Context, events []conncred.AuditEvent) error {
	start := time.Now()
	err := s.next.AppendAudit(ctx, events)
	s.done(mAppendAudit, start, err)
	return err
}

func (s *observedStore) ListAudit(ctx context.Context, f conncred.AuditFilter) ([]conncred.AuditEvent, error) {
	start := time.Now()
	v, err := s.next.ListAudit(ctx, f)
	s.done(mListAudit, start, err)
	return v, err
}

func (s *observedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.next.Ping(ctx)
	s.done(mPing, start, err)
	return err
}
