package server

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
)

// TestOpenAPIResponsesMatchTheDocument drives every operation through its
// main success and error paths on a real server and validates each status,
// header and body against the document (and each well-formed request too).
func TestOpenAPIResponsesMatchTheDocument(t *testing.T) {
	be := newBatonEnvWith(t, baton.Config{}, authority.Config{MaxActiveCredentials: 3})
	e := be.env
	c := newChecker(t, e)
	admin := e.admin
	const unknown = "2HErg7BRmNdHgX8sTCWVq4E1fyh"

	// Public routes.
	c.call("GET", "/healthz", nil, "", 200, true)
	c.call("GET", "/readyz", nil, "", 200, true)
	c.call("GET", apitype.PathJWKS, nil, "", 200, true)
	c.call("GET", apitype.PathASMetadata, nil, "", 200, true)
	c.call("GET", PathOpenAPI, nil, "", 200, true)
	c.call("GET", PathOpenAPI, map[string]string{"If-None-Match": `"x", ` + openAPIETag}, "", 304, true)

	// Who am I.
	b := c.call("GET", apitype.PathIntrospect, bearer(admin), "", 200, true)
	bootstrapID := jsonField(t, b, "credentialId")
	c.call("GET", apitype.PathIntrospect, nil, "", 401, false)
	c.call("GET", apitype.PathIntrospect, bearer("not-a-token"), "", 401, true)

	// Apps.
	b = c.call("POST", "/api/v1/apps", jsonHeaders(admin), `{"displayName":"Okta","description":"SSO"}`, 200, true)
	appID := jsonField(t, b, "app", "id")
	c.call("POST", "/api/v1/apps", jsonHeaders(admin), `{"description":"no name"}`, 400, false)
	c.call("POST", "/api/v1/apps", map[string]string{"Authorization": "Bearer " + admin, "Content-Type": "text/plain"}, `x`, 400, false)
	c.call("GET", "/api/v1/apps?page_size=1", bearer(admin), "", 200, true)
	c.call("GET", "/api/v1/apps?page_size=x", bearer(admin), "", 400, false)
	c.call("GET", "/api/v1/apps/"+appID, bearer(admin), "", 200, true)
	c.call("GET", "/api/v1/apps/"+unknown, bearer(admin), "", 404, true)
	c.call("POST", "/api/v1/apps/"+appID, jsonHeaders(admin), `{"app":{"description":"new"},"updateMask":"description"}`, 200, true)
	c.call("POST", "/api/v1/apps/"+appID, jsonHeaders(admin), `{"app":{},"updateMask":"id"}`, 400, true)
	c.call("POST", "/api/v1/apps/"+unknown, jsonHeaders(admin), `{"app":{"description":"x"}}`, 404, true)
	b = c.call("POST", "/api/v1/apps", jsonHeaders(admin), `{"display_name":"Doomed"}`, 200, false)
	doomed := jsonField(t, b, "app", "id")
	c.call("DELETE", "/api/v1/apps/"+doomed, bearer(admin), "", 200, true)
	c.call("DELETE", "/api/v1/apps/"+doomed, bearer(admin), "", 404, true)

	// Connectors.
	apps := "/api/v1/apps/" + appID
	b = c.call("POST", apps+"/connectors", jsonHeaders(admin), `{}`, 200, true)
	connID := jsonField(t, b, "connectorView", "connector", "id")
	b = c.call("POST", apps+"/connectors/create", jsonHeaders(admin), `{"displayName":"second","catalogId":"okta","userIds":["u1"]}`, 200, true)
	conn2 := jsonField(t, b, "connectorView", "connector", "id")
	c.call("POST", apps+"/connectors/create", jsonHeaders(admin), `{"userIds":"u1"}`, 400, false)
	c.call("POST", "/api/v1/apps/"+unknown+"/connectors", jsonHeaders(admin), `{}`, 404, true)
	c.call("GET", apps+"/connectors", bearer(admin), "", 200, true)
	c.call("GET", apps+"/connectors?page_token="+strings.Repeat("x", 300), bearer(admin), "", 400, false)
	c.call("GET", apps+"/connectors/"+connID, bearer(admin), "", 200, true)
	c.call("GET", apps+"/connectors/"+unknown, bearer(admin), "", 404, true)
	c.call("POST", apps+"/connectors/"+connID, jsonHeaders(admin), `{"connector":{"displayName":"renamed","userIds":null},"updateMask":"displayName,userIds"}`, 200, true)
	c.call("POST", apps+"/connectors/"+connID, jsonHeaders(admin), `{"connector":{"userIds":[""]}}`, 400, false)
	c.call("DELETE", apps+"/connectors/"+conn2, bearer(admin), "", 200, true)
	c.call("DELETE", apps+"/connectors/"+conn2, bearer(admin), "", 404, true)

	// Credentials: both rotate paths, the cap, reads by admin and connector.
	base := apps + "/connectors/" + connID + "/credentials"
	b = c.call("POST", "/api/v1/apps/connectors/credentials", jsonHeaders(admin),
		`{"appId":"`+appID+`","connectorId":"`+connID+`","displayName":"ci","expires":"720h"}`, 200, true)
	credID, clientID, sec := jsonField(t, b, "credential", "id"), jsonField(t, b, "credential", "clientId"), jsonField(t, b, "clientSecret")
	e.secrets = append(e.secrets, sec)
	c.call("POST", "/api/v1/apps/connectors/credentials", jsonHeaders(admin), `{"appId":"`+appID+`"}`, 400, false)
	c.call("POST", "/api/v1/apps/connectors/credentials", jsonHeaders(admin), `{"appId":"`+appID+`","connectorId":"`+unknown+`"}`, 404, true)
	b = c.call("POST", base, bearer(admin), "", 200, true)
	cred2 := jsonField(t, b, "credential", "id")
	e.secrets = append(e.secrets, jsonField(t, b, "clientSecret"))
	b = c.call("POST", base, jsonHeaders(admin), `{"expiresTime":"`+t0.Add(48*time.Hour).Format(time.RFC3339)+`"}`, 200, true)
	e.secrets = append(e.secrets, jsonField(t, b, "clientSecret"))
	b = c.call("POST", base, bearer(admin), "", 400, true) // the cap of 3
	if got := jsonField(t, b, "message"); !strings.Contains(got, "revoke") {
		t.Logf("cap message: %s", got)
	}
	c.call("POST", base, jsonHeaders(admin), `{"expires":"-1h"}`, 400, false)
	c.call("GET", base+"?pageSize=2", bearer(admin), "", 200, true)
	c.call("GET", base, bearer(admin), "", 200, true)
	c.call("GET", base+"?page_size=-1", bearer(admin), "", 400, false)
	c.call("GET", base+"/"+credID, bearer(admin), "", 200, true)
	c.call("GET", base+"/"+unknown, bearer(admin), "", 404, true)
	conn := e.token(clientID, sec)
	c.call("GET", base+"/"+credID, bearer(conn), "", 200, true)
	c.call("GET", base+"/"+cred2, bearer(conn), "", 403, true)
	c.call("GET", apitype.PathIntrospect, bearer(conn), "", 200, true)
	c.call("POST", base+"/"+cred2, bearer(admin), "", 200, true)
	c.call("POST", base+"/"+cred2, jsonHeaders(admin), "{}", 200, true) // idempotent
	c.call("POST", base+"/"+unknown, bearer(admin), "", 404, true)
	c.call("POST", base+"/"+unknown, map[string]string{"Authorization": "Bearer " + admin, "Content-Type": "application/json"}, "[]", 400, false)

	// RFC 7662 introspection.
	c.call("POST", apitype.PathTokenIntrospect, formHeaders(admin), "token="+conn, 200, true)
	c.call("POST", apitype.PathTokenIntrospect, formHeaders(conn), "token="+admin, 200, true) // inactive: not its own
	c.call("POST", apitype.PathTokenIntrospect, formHeaders(admin), "", 400, false)
	c.call("POST", apitype.PathTokenIntrospect, formHeaders(""), "token="+conn, 401, false)

	// The token endpoint.
	tok := func(edit func(h, c map[string]any)) string {
		return tokenForm(clientID, assertion(t, clientID, sec, e.clock.Now(), edit)).Encode()
	}
	c.call("POST", apitype.PathToken, formHeaders(""), tok(nil), 200, true)
	form := tokenForm(clientID, assertion(t, clientID, sec, e.clock.Now(), nil))
	form.Set("grant_type", "password")
	c.call("POST", apitype.PathToken, formHeaders(""), form.Encode(), 400, false)
	c.call("POST", apitype.PathToken, jsonHeaders(""), `{}`, 400, false)
	c.call("POST", apitype.PathToken, formHeaders(""), tokenForm(clientID, assertion(t, clientID, e.secrets[0], e.clock.Now(), nil)).Encode(), 401, true)
	c.call("POST", apitype.PathToken, formHeaders(""), tok(func(_, cl map[string]any) { cl["exp"] = e.clock.Now().Add(time.Hour).Unix() }), 401, true)

	// Admin clients: create, read, revoke; the last one cannot go.
	pcs := apitype.PathPersonalClients
	b = c.call("POST", pcs, jsonHeaders(admin), `{"displayName":"ops","expires":"24h"}`, 200, true)
	pc := jsonField(t, b, "client", "id")
	e.secrets = append(e.secrets, jsonField(t, b, "clientSecret"))
	c.call("POST", pcs, jsonHeaders(admin), `{"expires":"soon"}`, 400, false)
	c.call("GET", pcs, bearer(admin), "", 200, true)
	c.call("GET", pcs+"?page_size=nope", bearer(admin), "", 400, false)
	c.call("GET", pcs+"/"+pc, bearer(admin), "", 200, true)
	c.call("GET", pcs+"/"+unknown, bearer(admin), "", 404, true)
	c.call("POST", pcs+"/"+pc, jsonHeaders(admin), `{"client":{"displayName":"ops2","allowSourceCidr":["10.0.0.0/8"],"scopedRoles":["admin"]},"updateMask":"displayName,allowSourceCidr,scopedRoles"}`, 200, true)
	c.call("POST", pcs+"/"+pc, jsonHeaders(admin), `{"client":{"allowSourceCidr":["10.0.0.1/8"]},"updateMask":"allowSourceCidr"}`, 400, false)
	c.call("POST", pcs+"/"+unknown, jsonHeaders(admin), `{"client":{"displayName":"x"},"updateMask":"displayName"}`, 404, true)
	c.call("POST", apitype.PathSearchPersonalClients, jsonHeaders(admin), `{"query":"ops"}`, 200, true)
	c.call("POST", apitype.PathSearchPersonalClients, jsonHeaders(admin), `{"users":[{"id":"u1"}]}`, 400, false)
	c.call("DELETE", pcs+"/"+pc, bearer(admin), "", 200, true)
	c.call("DELETE", pcs+"/"+unknown, bearer(admin), "", 404, true)
	c.call("DELETE", pcs+"/"+bootstrapID, bearer(admin), "", 400, true)

	// Workload federation trusts.
	trusts := apitype.PathTrusts
	b = c.call("POST", trusts, jsonHeaders(admin), `{"issuer":"https://token.actions.githubusercontent.com","condition":"claims.repository == 'acme/connectors'","role":"connector","appId":"`+appID+`","connectorId":"`+connID+`","maxTokenLifetime":"15m"}`, 200, true)
	trustID := jsonField(t, b, "trust", "id")
	c.call("POST", trusts, jsonHeaders(admin), `{"issuer":"https://token.actions.githubusercontent.com","condition":"claims.repository ==","role":"admin"}`, 400, true)
	c.call("POST", trusts, jsonHeaders(admin), `{"issuer":"https://token.actions.githubusercontent.com","condition":"true","role":"connector","appId":"`+appID+`","connectorId":"`+unknown+`"}`, 404, true)
	c.call("GET", trusts+"?page_size=1&include_deleted=true", bearer(admin), "", 200, true)
	c.call("GET", trusts+"?include_deleted=maybe", bearer(admin), "", 400, false)
	c.call("GET", trusts+"/"+trustID, bearer(admin), "", 200, true)
	c.call("GET", trusts+"/"+unknown, bearer(admin), "", 404, true)
	c.call("POST", trusts+"/"+trustID, jsonHeaders(admin), `{"trust":{"displayName":"ci"},"updateMask":"displayName"}`, 200, true)
	c.call("POST", trusts+"/"+trustID, jsonHeaders(admin), `{"trust":{"role":"admin"},"updateMask":"role"}`, 400, true)
	c.call("POST", trusts+"/"+unknown, jsonHeaders(admin), `{"trust":{"displayName":"x"}}`, 404, true)
	c.call("DELETE", trusts+"/"+trustID, bearer(admin), "", 200, true)
	c.call("DELETE", trusts+"/"+unknown, bearer(admin), "", 404, true)

	// DPoP: the per-credential flag.
	cd := strings.Replace(apitype.PathCredentialDPoP, "{id}", credID, 1)
	c.call("POST", cd, jsonHeaders(admin), `{"requireDpop":false}`, 200, true)
	c.call("POST", cd, jsonHeaders(admin), `{"requireDpop":"yes"}`, 400, false)
	c.call("GET", cd, bearer(admin), "", 200, true)
	c.call("GET", strings.Replace(apitype.PathCredentialDPoP, "{id}", unknown, 1), bearer(admin), "", 404, true)
	_, _, _, boundTok := e.boundToken(e.signer())
	c.call("POST", apitype.PathTokenIntrospect, formHeaders(admin), "token="+boundTok, 200, true) // token_type DPoP, cnf.jkt

	// Signing keys and audit.
	c.call("POST", apitype.PathRotateKeys, bearer(admin), "", 200, true)
	c.call("POST", apitype.PathRotateKeys, jsonHeaders(admin), `{"a":1,"a":2}`, 400, false)
	c.call("GET", apitype.PathSigningKeys, bearer(admin), "", 200, true)
	c.call("GET", apitype.PathJWKS, nil, "", 200, true)
	e.auth.Flush(context.Background())
	c.call("GET", apitype.PathAudit+"?kind=credential.created&connector_id="+connID+"&since=2026-11-28T00:00:00Z", bearer(admin), "", 200, true)
	c.call("GET", apitype.PathAudit+"?credential_id="+credID+"&until=2030-01-01T00:00:00Z", bearer(admin), "", 200, true)
	c.call("GET", apitype.PathAudit+"?since=yesterday", bearer(admin), "", 400, false)

	// Syncs: the control calls, lists and downloads.
	sApp, sConn, syncID, _ := be.completeSync(3000)
	sc := "/api/v1/apps/" + sApp + "/connectors/" + sConn
	c.call("GET", sc+"/sync_status", bearer(admin), "", 200, true)
	c.call("GET", sc+"/hosts", bearer(admin), "", 200, true)
	c.call("GET", sc+"/tasks?page_size=1", bearer(admin), "", 200, true)
	c.call("GET", sc+"/syncs", bearer(admin), "", 200, true)
	c.call("GET", sc+"/syncs/"+syncID, bearer(admin), "", 200, true)
	c.call("GET", sc+"/syncs/"+unknown, bearer(admin), "", 404, true)
	c.call("GET", sc+"/syncs/"+syncID+"/download", bearer(admin), "", 200, true)
	b = c.call("GET", sc+"/syncs/"+syncID+"/download_url", bearer(admin), "", 200, true)
	dl := jsonField(t, b, "downloadUrl")
	c.call("GET", dl[strings.Index(dl, "/api/"):], nil, "", 200, true)
	c.call("GET", "/api/v1/sync_downloads/forged.1.x", nil, "", 403, true)
	c.call("POST", sc+"/schedule", jsonHeaders(admin), `{"cron":{"cronSpec":"0 3 * * *","timezone":"Europe/Berlin"}}`, 200, true)
	c.call("POST", sc+"/schedule", jsonHeaders(admin), `{"cron":{"cronSpec":"sometimes"}}`, 400, true)
	c.call("POST", sc+"/force_sync", bearer(admin), "", 200, true)
	c.call("POST", sc+"/force_sync", jsonHeaders(admin), `{}`, 400, true) // one is pending
	c.call("POST", sc+"/pause", bearer(admin), "", 200, true)
	c.call("POST", sc+"/resume", jsonHeaders(admin), `{}`, 200, true)

	// Answers that belong to no operation still have the documented shape.
	st, body := e.do("GET", "/api/v1/nothing-here", nil, "")
	if st != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", st)
	}
	c.schema("Status", body)
	st, body = e.do("PUT", "/api/v1/apps", nil, "")
	if st != http.StatusNotImplemented {
		t.Errorf("wrong method: %d, want 501", st)
	}
	c.schema("Status", body)

	// The lifecycle wing, as serve registers it.
	wing := checkLifecycleOperations(t, c, e, appID)
	maps.Copy(wing, checkPolicyOperations(t, c, e, appID))

	statuses := map[string][]int{
		"createToken":            {400, 401},
		"introspectToken":        {400, 401, 403},
		"introspect":             {401, 403},
		"createApp":              {400},
		"getApp":                 {404},
		"updateApp":              {400, 404},
		"deleteApp":              {404},
		"getCredential":          {403, 404},
		"rotateCredentialLegacy": {400},
		"revokePersonalClient":   {400, 404},
		"updatePersonalClient":   {400, 404},
		"searchPersonalClients":  {400},
		"getOpenAPI":             {304},
		"createTrust":            {400, 404},
		"updateTrust":            {400, 404},
		"getTrust":               {404},
		"deleteTrust":            {404},
	}
	maps.Copy(statuses, wing)
	maps.Copy(statuses, checkWfeOperations(t, c, e, appID))
	maps.Copy(statuses, checkWebhookOperations(t, c, e))
	maps.Copy(statuses, checkConsoleOperations(t, c, e))
	c.requireCovered(statuses)
}

// TestOpenAPIOverloadAndOutageAnswers checks the answers of a rate-limited
// token endpoint and of a server whose database is gone.
func TestOpenAPIOverloadAndOutageAnswers(t *testing.T) {
	t.Run("429 slow_down", func(t *testing.T) {
		e := newEnv(t, Config{FailedTokenLimit: 1}, authority.Config{})
		c := newChecker(t, e)
		bad := tokenForm("nobody@127.0.0.1/ccc", "a.b.c").Encode()
		c.call("POST", apitype.PathToken, formHeaders(""), bad, 401, true)
		c.call("POST", apitype.PathToken, formHeaders(""), bad, 429, true)
	})
	t.Run("503 with the database closed", func(t *testing.T) {
		e := newEnv(t, Config{}, authority.Config{})
		c := newChecker(t, e)
		if err := e.store.Close(); err != nil {
			t.Fatal(err)
		}
		b := c.call("GET", "/readyz", nil, "", 503, true)
		if got := jsonField(t, b, "message"); got == "" {
			t.Errorf("readyz 503 without a message")
		}
	})
}
