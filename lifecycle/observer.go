package lifecycle

// Observer receives the wing's events for metrics. Every label is one of
// the constants below, never a value from a request, so no address, client
// id or network reaches a metric and the number of series is fixed.
// package metrics implements it (Metrics.Lifecycle).
type Observer interface {
	// SourceRefused counts a request refused for its source address: kind
	// is KindConnector or KindAdmin, scope ScopeSession (the server-wide
	// session settings) or ScopeCredential (the credential's own
	// allowSourceCidr).
	SourceRefused(kind, scope string)
	// CredentialsRetired counts credentials given an expiry by a rotate:
	// trigger is TriggerRotate (an admin's retirePreviousAfter) or
	// TriggerSelfRotate.
	CredentialsRetired(trigger string, n int)
}

// Label values of Observer.
const (
	KindConnector     = "connector"
	KindAdmin         = "admin"
	ScopeSession      = "session_settings"
	ScopeCredential   = "credential"
	TriggerRotate     = "rotate"
	TriggerSelfRotate = "self_rotate"
)

// Label sets, so that a metrics implementation can start every series at 0.
var (
	ObserverKinds    = []string{KindConnector, KindAdmin}
	ObserverScopes   = []string{ScopeSession, ScopeCredential}
	ObserverTriggers = []string{TriggerRotate, TriggerSelfRotate}
)

type nopObserver struct{}

func (nopObserver) SourceRefused(string, string)   {}
func (nopObserver) CredentialsRetired(string, int) {}
