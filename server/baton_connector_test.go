package server

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/conncred/conncred/baton"
)

// TestConnectorRecordSyncFields: the connector record itself carries the
// official status, syncDisabledAt and canResumeSync, in get, list and
// after pause/resume, as the official SDK's shared.Connector reads them.
func TestConnectorRecordSyncFields(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	appID, connID, _, _ := e.completeSync(1000)
	type record struct {
		Status *struct {
			Status                            string
			StartedAt, CompletedAt, UpdatedAt *time.Time
			LastError                         string
		}
		SyncDisabledAt *time.Time
		CanResumeSync  *bool
	}
	get := func() record {
		t.Helper()
		code, b := e.do("GET", "/api/v1/apps/"+appID+"/connectors/"+connID, bearer(e.admin), "")
		if code != 200 {
			t.Fatalf("get connector: %d %s", code, b)
		}
		var v struct{ ConnectorView struct{ Connector record } }
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		return v.ConnectorView.Connector
	}
	c := get()
	if c.Status == nil || c.Status.Status != "SYNC_STATUS_DONE" || c.Status.StartedAt == nil || c.Status.CompletedAt == nil || c.Status.UpdatedAt == nil {
		t.Fatalf("after a sync: status %+v, want SYNC_STATUS_DONE with startedAt, completedAt, updatedAt", c.Status)
	}
	if c.CanResumeSync == nil || *c.CanResumeSync || c.SyncDisabledAt != nil {
		t.Errorf("running syncs: canResumeSync %v, syncDisabledAt %v; want false and absent", c.CanResumeSync, c.SyncDisabledAt)
	}

	if code, b := e.do("POST", "/api/v1/apps/"+appID+"/connectors/"+connID+"/pause", jsonHeaders(e.admin), "{}"); code != 200 {
		t.Fatalf("pause: %d %s", code, b)
	}
	c = get()
	if c.Status.Status != "SYNC_STATUS_DISABLED" || c.SyncDisabledAt == nil || !c.SyncDisabledAt.Equal(e.clock.Now()) || c.CanResumeSync == nil || !*c.CanResumeSync {
		t.Errorf("paused: status %s, syncDisabledAt %v, canResumeSync %v; want DISABLED, now, true", c.Status.Status, c.SyncDisabledAt, c.CanResumeSync)
	}

	code, b := e.do("GET", "/api/v1/apps/"+appID+"/connectors", bearer(e.admin), "")
	var list struct{ List []struct{ Connector record } }
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list.List) != 1 || list.List[0].Connector.Status == nil || list.List[0].Connector.Status.Status != "SYNC_STATUS_DISABLED" {
		t.Errorf("list: %d %s", code, b)
	}
}
