package authority

import (
	"context"
	"testing"

	"github.com/conncred/conncred"
)

func TestAuthorize(t *testing.T) {
	var a Authority // Authorize needs no store: it is the rule alone
	admin := conncred.WithPrincipal(context.Background(), &conncred.Principal{Kind: conncred.KindAdmin, ClientID: "a"})
	connector := conncred.WithPrincipal(context.Background(), &conncred.Principal{Kind: conncred.KindConnector, ClientID: "c"})
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		action Action
		want   string // error code, "" for allowed
	}{
		{"admin rotates", admin, ActionWriteCredentials, ""},
		{"admin rotates keys", admin, ActionRotateSigningKeys, ""},
		{"system writes apps", conncred.WithPrincipal(context.Background(), conncred.System), ActionWriteApps, ""},
		{"connector rotates", connector, ActionWriteCredentials, conncred.EPermissionDenied},
		{"connector creates an app", connector, ActionWriteApps, conncred.EPermissionDenied},
		{"connector creates an admin", connector, ActionWriteAdmins, conncred.EPermissionDenied},
		{"connector writes connectors", connector, ActionWriteConnectors, conncred.EPermissionDenied},
		{"nobody", context.Background(), ActionWriteCredentials, conncred.EUnauthenticated},
		{"unknown action", admin, Action("everything"), conncred.EInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Authorize(tc.ctx, tc.action)
			got := ""
			if err != nil {
				got = conncred.ErrorCode(err)
			}
			if got != tc.want {
				t.Fatalf("Authorize = %v (code %q), want code %q", err, got, tc.want)
			}
		})
	}
}
