package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/conncred/conncred/apitype"
)

// checkLifecycleOperations drives the lifecycle wing's operations through
// their success and error paths for TestOpenAPIResponsesMatchTheDocument,
// on a connector of its own under appID, and returns the error statuses
// each of its operations must have been validated with (the 403 of the
// introspection routes, answered to a token used from outside its
// networks, is the caller's to require). It needs a cap of at least
// 3 active credentials per connector.
func checkLifecycleOperations(t *testing.T, c *checker, e *env, appID string) map[string][]int {
	t.Helper()
	admin := e.admin
	const unknown = "2HErg7BRmNdHgX8sTCWVq4E1fyh"
	b := c.call("POST", "/api/v1/apps/"+appID+"/connectors", jsonHeaders(admin), `{"displayName":"lifecycle"}`, 200, true)
	connID := jsonField(t, b, "connectorView", "connector", "id")
	base := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials"

	// Overlap rotation on both paths, and a key brought by the caller.
	b = c.call("POST", base, jsonHeaders(admin), `{"displayName":"first"}`, 200, true)
	first := jsonField(t, b, "credential", "id")
	e.secrets = append(e.secrets, jsonField(t, b, "clientSecret"))
	b = c.call("POST", "/api/v1/apps/connectors/credentials", jsonHeaders(admin),
		`{"appId":"`+appID+`","connectorId":"`+connID+`","retirePreviousAfter":"24h"}`, 200, true)
	if !strings.Contains(string(b), `"retired":[{"id":"`+first+`"`) {
		t.Errorf("rotate with retirePreviousAfter: no retired %s in %.300s", first, b)
	}
	second, secondCID, secondSec := jsonField(t, b, "credential", "id"), jsonField(t, b, "credential", "clientId"), jsonField(t, b, "clientSecret")
	e.secrets = append(e.secrets, secondSec)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	b = c.call("POST", base, jsonHeaders(admin), `{"publicKey":`+key+`,"retirePreviousAfter":"1h","retireCredentialId":"`+second+`"}`, 200, true)
	if got := jsonField(t, b, "clientSecret"); got != "" {
		t.Errorf("rotate with a public key answered a clientSecret")
	}
	c.call("POST", base, jsonHeaders(admin), `{"publicKey":`+key+`}`, 400, true) // registered already
	c.call("POST", base, jsonHeaders(admin), `{"retirePreviousAfter":"-1h"}`, 400, false)
	c.call("POST", base+"/"+first, bearer(admin), "", 200, true) // room under the cap

	// Self-rotation and self-revocation by the connector. second already
	// expires in 1h, so the grace must be shorter to retire it again.
	tok2 := e.token(secondCID, secondSec)
	b = c.call("POST", apitype.PathSelfRotate, jsonHeaders(tok2), `{"grace":"30m","displayName":"self"}`, 200, true)
	if !strings.Contains(string(b), `"retired":[{"id":"`+second+`"`) {
		t.Errorf("self-rotation: no retired %s in %.300s", second, b)
	}
	thirdCID, thirdSec := jsonField(t, b, "credential", "clientId"), jsonField(t, b, "clientSecret")
	e.secrets = append(e.secrets, thirdSec)
	c.call("POST", apitype.PathSelfRotate, bearer(tok2), "", 400, true) // the cap of 3
	c.call("POST", apitype.PathSelfRotate, jsonHeaders(tok2), `{"grace":"-1s"}`, 400, false)
	c.call("POST", apitype.PathSelfRotate, jsonHeaders(admin), `{}`, 403, true)
	tok3 := e.token(thirdCID, thirdSec)
	c.call("POST", apitype.PathSelfRevoke, bearer(admin), "", 403, true)
	c.call("POST", apitype.PathSelfRevoke, jsonHeaders(tok3), `{}`, 200, true)
	c.call("POST", apitype.PathSelfRevoke, bearer(tok3), "", 401, true)

	// A credential's own source networks: a token used from outside them
	// is refused on every call.
	limit := base + "/" + second + "/source_limit"
	c.call("GET", limit, bearer(admin), "", 200, true)
	c.call("POST", limit, jsonHeaders(admin), `{"allowSourceCidr":["10.0.0.0/8","192.0.2.7"]}`, 200, true)
	c.call("GET", base+"/"+second, bearer(tok2), "", 403, true)
	c.call("GET", apitype.PathIntrospect, bearer(tok2), "", 403, true)
	c.call("POST", apitype.PathTokenIntrospect, formHeaders(tok2), "token="+tok2, 403, true)
	c.call("POST", limit, jsonHeaders(admin), `{"allowSourceCidr":["10.0.0.1/8"]}`, 400, true)
	c.call("POST", limit, jsonHeaders(admin), `{"allowSourceCidr":[]}`, 200, true)
	c.call("GET", limit, bearer(tok2), "", 403, true)
	c.call("GET", base+"/"+unknown+"/source_limit", bearer(admin), "", 404, true)
	c.call("POST", base+"/"+unknown+"/source_limit", jsonHeaders(admin), `{"allowSourceCidr":null}`, 404, true)

	// Session settings.
	settings := apitype.PathSessionSettings
	c.call("GET", settings, bearer(admin), "", 200, true)
	c.call("GET", settings, bearer(tok2), "", 403, true)
	c.call("POST", settings, jsonHeaders(admin),
		`{"sessionSettings":{"connectorSource":{"enabled":true,"sourceCidr":["127.0.0.0/8","::1"]}},"updateMask":"connectorSource"}`, 200, true)
	c.call("POST", settings, jsonHeaders(admin), `{"sessionSettings":{"pccAdminSource":{"enabled":true,"sourceCidr":["10.0.0.0/8"]}}}`, 400, true) // locks the caller out
	c.call("POST", settings, jsonHeaders(admin), `{"sessionSettings":{"connectorSource":{"enabled":true,"sourceCidr":["not-a-network"]}}}`, 400, true)
	c.call("POST", settings, jsonHeaders(admin), `{}`, 400, false)
	c.call("POST", apitype.PathTestSourceIP, jsonHeaders(admin), `{"allowCidr":["10.0.0.0/8"],"sourceIp":"10.1.2.3"}`, 200, true)
	c.call("POST", apitype.PathTestSourceIP, jsonHeaders(admin), `{"allowCidr":["127.0.0.0/8"]}`, 200, true)
	c.call("POST", apitype.PathTestSourceIP, jsonHeaders(admin), `{"allowCidr":["10.0.0.0/33"]}`, 400, true)
	c.call("POST", apitype.PathTestSourceIP, jsonHeaders(tok2), `{"allowCidr":[]}`, 403, true)
	c.call("POST", settings, jsonHeaders(admin), `{"sessionSettings":{"connectorSource":{"enabled":false}}}`, 200, true)

	return map[string][]int{
		"selfRotateCredential":     {400, 403},
		"selfRevokeCredential":     {401, 403},
		"getSessionSettings":       {403},
		"updateSessionSettings":    {400},
		"testSourceIP":             {400, 403},
		"getCredentialSourceLimit": {403, 404},
		"setCredentialSourceLimit": {400, 404},
	}
}
