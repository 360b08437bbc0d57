package policy

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/webhook"
)

// This file joins the policy wing to the webhooks wing: every event the
// scheduler records and every policy change also enters the webhook
// outbox, in the same store transaction as the record (Store.EmitEvent,
// Store.PutPolicy), so an event is delivered if and only if it happened.

// webhookEventID is the outbox id of a scheduler event: derived from its
// key only, so the same event recorded twice (a retried pass, a second
// node racing this one) is the same outbox row, which the store inserts
// once. It is the receivers' webhook-id, stable across retries.
func webhookEventID(k EventKey) string {
	return "msg_" + k.Kind + "_" + k.CredentialID + "_" + strconv.FormatInt(k.Threshold.UTC().UnixMicro(), 10)
}

// schedulerWebhook is a scheduler event's outbox entry. Its data is left
// to the worker, which renders the credential's public record when it
// delivers (as for the other credential.* events): an auto-revoked
// credential is shown revoked.
func schedulerWebhook(k EventKey, at time.Time) webhook.Event {
	return webhook.Event{ID: webhookEventID(k), Type: k.Kind, CredentialID: k.CredentialID, OccurredAt: at.UTC().Truncate(time.Microsecond)}
}

// ChangedData is the data of a policy.changed webhook: the scope and what
// it now sets (a field left out is inherited; durations are Go durations,
// "0s" meaning none, as on the API).
type ChangedData struct {
	Scope  ChangedScope   `json:"scope"`
	Policy map[string]any `json:"policy"`
}

// ChangedScope names the scope of a policy.changed webhook.
type ChangedScope struct {
	Kind  string `json:"kind"`
	ID    string `json:"id,omitempty"`
	AppID string `json:"appId,omitempty"`
}

// changedWebhook is a policy change's outbox entry; one change is one
// call, so its id is new.
func changedWebhook(scope Scope, appID string, p Policy, at time.Time) webhook.Event {
	d := ChangedData{Scope: ChangedScope{Kind: scope.Kind, ID: scope.ID, AppID: appID}, Policy: map[string]any{}}
	str := func(v *time.Duration) string { return v.String() }
	if p.MaxLifetime != nil {
		d.Policy[FieldMaxLifetime] = str(p.MaxLifetime)
	}
	if p.ExpiryWarnings != nil {
		ws := make([]string, len(*p.ExpiryWarnings))
		for i, w := range *p.ExpiryWarnings {
			ws[i] = w.String()
		}
		d.Policy[FieldExpiryWarnings] = ws
	}
	if p.DormancyThreshold != nil {
		d.Policy[FieldDormancyThreshold] = str(p.DormancyThreshold)
	}
	if p.AutoRevokeAfter != nil {
		d.Policy[FieldAutoRevokeAfter] = str(p.AutoRevokeAfter)
	}
	if p.RequireDPoP != nil {
		d.Policy[FieldRequireDPoP] = *p.RequireDPoP
	}
	if p.OfflineAfter != nil {
		d.Policy[FieldOfflineAfter] = str(p.OfflineAfter)
	}
	data, _ := json.Marshal(d) // maps of strings and bools: cannot fail
	return webhook.Event{ID: "msg_" + ksuid.New(at), Type: webhook.EventPolicyChanged, Data: data, OccurredAt: at}
}
