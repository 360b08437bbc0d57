package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
)

// sdkBody reads a request body the official Go SDK sent, captured on the
// wire (testdata/sdk/README.md).
func sdkBody(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sdk", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestOfficialSDKSyncControl replays the sync control calls exactly as the
// official Go SDK sent them on the wire and checks what each did. The SDK
// nests the schedule ({"cron":{"cronSpec","timezone"}}); conncred once read
// only a flat string there and answered the SDK's UpdateConnectorSchedule
// with 400 "field cron must be a string".
func TestOfficialSDKSyncControl(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	appID, connID := e.setup()
	base := "/api/v1/apps/" + appID + "/connectors/" + connID
	sys := conncred.WithPrincipal(context.Background(), conncred.System)
	status := func(tb testing.TB) baton.Status {
		tb.Helper()
		st, err := e.svc.Status(sys, appID, connID)
		if err != nil {
			tb.Fatal(err)
		}
		return st
	}
	for _, tc := range []struct {
		name, path, file string
		check            func(t *testing.T, st baton.Status)
	}{
		{"schedule with cron", "/schedule", "schedule-cron.json", func(t *testing.T, st baton.Status) {
			if got, want := st.Cron+" "+st.TimeZone, "0 3 * * * Europe/Berlin"; got != want {
				t.Errorf("schedule: got %q, want %q", got, want)
			}
			if st.NextRunAt == nil {
				t.Error("schedule set but no next run")
			}
		}},
		{"schedule empty removes it", "/schedule", "schedule-empty.json", func(t *testing.T, st baton.Status) {
			if st.Cron != "" || st.NextRunAt != nil {
				t.Errorf("schedule after {}: got %q next %v, want none", st.Cron, st.NextRunAt)
			}
		}},
		{"force_sync", "/force_sync", "force_sync.json", func(t *testing.T, st baton.Status) {
			if got, want := st.Status, "SYNC_STATUS_RUNNING"; got != want {
				t.Errorf("status after force_sync: got %q, want %q", got, want)
			}
		}},
		{"pause", "/pause", "pause.json", func(t *testing.T, st baton.Status) {
			if st.SyncDisabledAt == nil || !st.CanResumeSync {
				t.Errorf("after pause: syncDisabledAt %v canResumeSync %v, want set and true", st.SyncDisabledAt, st.CanResumeSync)
			}
		}},
		{"resume", "/resume", "resume.json", func(t *testing.T, st baton.Status) {
			if st.SyncDisabledAt != nil {
				t.Errorf("after resume: syncDisabledAt %v, want none", st.SyncDisabledAt)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := sdkBody(t, tc.file)
			h := map[string]string{"Authorization": "Bearer " + e.admin, "Accept": "application/json"}
			if body != "" {
				h["Content-Type"] = "application/json"
			}
			if got, b := e.do("POST", base+tc.path, h, body); got != 200 {
				t.Fatalf("POST %s with the SDK's body %s: got %d %s, want 200", tc.path, body, got, b)
			}
			tc.check(t, status(t))
		})
	}
}

// TestScheduleBodyForms: the official schedule body in the spellings
// protobuf's JSON allows, and the ways it can be wrong.
func TestScheduleBodyForms(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	appID, connID := e.setup()
	path := "/api/v1/apps/" + appID + "/connectors/" + connID + "/schedule"
	for _, tc := range []struct {
		name, body string
		want       int
		wantCron   string
	}{
		{"official object", `{"cron":{"cronSpec":"5 4 * * *","timezone":"UTC"}}`, 200, "5 4 * * *"},
		{"snake_case spec", `{"cron":{"cron_spec":"6 4 * * *"}}`, 200, "6 4 * * *"},
		{"null cron removes", `{"cron":null}`, 200, ""},
		{"spec not a string", `{"cron":{"cronSpec":3}}`, 400, ""},
		{"cron a bare string", `{"cron":"0 3 * * *"}`, 400, ""},
		{"cron a number", `{"cron":3}`, 400, ""},
		{"bad spec", `{"cron":{"cronSpec":"sometimes"}}`, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, b := e.do("POST", path, jsonHeaders(e.admin), tc.body)
			if got != tc.want {
				t.Fatalf("POST schedule %s: got %d %s, want %d", tc.body, got, b, tc.want)
			}
			if tc.want != 200 {
				return
			}
			st, err := e.svc.Status(conncred.WithPrincipal(context.Background(), conncred.System), appID, connID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Cron != tc.wantCron {
				t.Errorf("cron: got %q, want %q", st.Cron, tc.wantCron)
			}
		})
	}
}

// TestConnectorRecordCarriesSyncStatus: the official Go SDK's Connector.Get
// reads a connector's sync state from the connector record (status,
// syncDisabledAt, canResumeSync); conncred once returned those only from
// its control calls, so the SDK saw a connector with no status at all.
func TestConnectorRecordCarriesSyncStatus(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	appID, connID, _, _ := e.completeSync(100)
	get := "/api/v1/apps/" + appID + "/connectors/" + connID
	record := func(tb testing.TB, label string) map[string]any {
		tb.Helper()
		st, m := e.api("GET", get, e.admin, nil)
		if st != 200 {
			tb.Fatalf("%s: GET connector: %d %v", label, st, m)
		}
		c, _ := m["connectorView"].(map[string]any)["connector"].(map[string]any)
		_, lm := e.api("GET", "/api/v1/apps/"+appID+"/connectors", e.admin, nil)
		list, _ := lm["list"].([]any)
		if len(list) != 1 {
			tb.Fatalf("%s: list: %v", label, lm)
		}
		lc := list[0].(map[string]any)["connector"].(map[string]any)
		if got, want := fmt.Sprint(lc["status"], lc["canResumeSync"]), fmt.Sprint(c["status"], c["canResumeSync"]); got != want {
			tb.Errorf("%s: list says %s, get says %s", label, got, want)
		}
		return c
	}
	statusOf := func(c map[string]any) string {
		s, _ := c["status"].(map[string]any)
		return fmt.Sprint(s["status"])
	}

	c := record(t, "after a finished sync")
	if got, want := statusOf(c), "SYNC_STATUS_DONE"; got != want {
		t.Errorf("status after a finished sync: got %q, want %q (record %v)", got, want, c)
	}
	if s, _ := c["status"].(map[string]any); s["completedAt"] == nil {
		t.Errorf("status after a finished sync has no completedAt: %v", s)
	}
	if got, want := c["canResumeSync"], false; got != want {
		t.Errorf("canResumeSync: got %v, want %v", got, want)
	}

	e.forceSync(appID, connID)
	if got, want := statusOf(record(t, "after force_sync")), "SYNC_STATUS_RUNNING"; got != want {
		t.Errorf("status after force_sync: got %q, want %q", got, want)
	}

	if st, m := e.api("POST", get+"/pause", e.admin, map[string]any{}); st != 200 {
		t.Fatalf("pause: %d %v", st, m)
	}
	c = record(t, "after pause")
	if c["syncDisabledAt"] == nil || c["canResumeSync"] != true {
		t.Errorf("after pause: syncDisabledAt %v canResumeSync %v, want set and true", c["syncDisabledAt"], c["canResumeSync"])
	}
}
