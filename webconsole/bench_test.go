package webconsole

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
)

// BenchmarkPages measures the server time of the console's pages (the
// handler alone: no TLS, no network) over SQLite holding 10,000
// credentials: 1,000 connectors of one app with 10 credentials each, one
// of them revoked per connector, and the audit trail their creation left.
// It is a measurement, not an assertion; the README reports it.
//
//	go test -run '^$' -bench BenchmarkPages -benchtime 20x ./webconsole
func BenchmarkPages(b *testing.B) {
	e := newEnvWith(b, authority.Config{MaxActiveCredentials: -1}, false)
	ctx := e.adminCtx()
	app, err := e.auth.CreateApp(ctx, authority.AppInput{DisplayName: "Okta"})
	if err != nil {
		b.Fatal(err)
	}
	var conn conncred.Connector
	var cred conncred.Credential
	for i := range 1000 {
		if conn, err = e.auth.CreateConnector(ctx, app.ID, authority.ConnectorInput{DisplayName: fmt.Sprintf("sync %d", i)}); err != nil {
			b.Fatal(err)
		}
		for j := range 10 {
			if cred, _, err = e.auth.RotateCredential(ctx, app.ID, conn.ID, authority.CredentialOptions{}); err != nil {
				b.Fatal(err)
			}
			if j == 0 {
				if _, err := e.auth.RevokeCredential(ctx, app.ID, conn.ID, cred.ID); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	e.auth.Flush(context.Background())
	cookie, _, err := e.sessions.SignIn(context.Background(), e.sessions.link(e.admin), "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	pages := []struct{ name, path string }{
		{"apps", "/console/apps"},
		{"apps-search", "/console/apps?q=okt"},
		{"app", appPath(app.ID)},
		{"connector", connectorPath(app.ID, conn.ID)},
		{"credential", credentialPath(app.ID, conn.ID, cred.ID)},
		{"revoke-confirm", credentialPath(app.ID, conn.ID, cred.ID) + "/revoke"},
		{"rotate-form", connectorPath(app.ID, conn.ID) + "/rotate"},
		{"audit", "/console/audit"},
		{"audit-by-connector", "/console/audit?range=all&connector=" + conn.ID},
		{"audit-by-actor", "/console/audit?range=all&actor=system"},
		{"keys", "/console/keys"},
		{"app-delete-confirm", appPath(app.ID) + "/delete"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", "https://127.0.0.1"+p.path, nil)
				req.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
				w := httptest.NewRecorder()
				e.console.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", p.path, w.Code)
				}
			}
		})
	}
}
