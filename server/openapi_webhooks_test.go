package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/conncred/conncred/apitype"
)

// checkWebhookOperations calls every webhook operation with the document's
// checker and returns the error statuses it exercised.
func checkWebhookOperations(t *testing.T, c *checker, e *env) map[string][]int {
	t.Helper()
	rc := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(rc.Close)
	const unknown = "2HErg7BRmNdHgX8sTCWVq4E1fyh"
	admin := e.admin
	c.call("GET", apitype.PathWebhookSigningKey, nil, "", 200, true)
	c.call("POST", apitype.PathWebhooks, jsonHeaders(admin), `{"url":"http://hooks.example.com/"}`, 400, true)
	b := c.call("POST", apitype.PathWebhooks, jsonHeaders(admin), `{"url":"`+rc.URL+`"}`, 200, true)
	id := jsonField(t, b, "webhook", "id")
	e.secrets = append(e.secrets, jsonField(t, b, "signingSecret"))
	c.call("GET", apitype.PathWebhooks, bearer(admin), "", 200, true)
	c.call("GET", apitype.PathWebhooks+"/"+id, bearer(admin), "", 200, true)
	c.call("GET", apitype.PathWebhooks+"/"+unknown, bearer(admin), "", 404, true)
	b = c.call("POST", apitype.PathWebhooks+"/"+id+"/test", jsonHeaders(admin), `{}`, 200, true)
	ev := jsonField(t, b, "eventId")
	c.call("GET", apitype.PathWebhooks+"/"+id+"/deliveries", bearer(admin), "", 200, true)
	c.call("POST", apitype.PathWebhooks+"/"+id+"/deliveries/"+ev+"/redeliver", jsonHeaders(admin), `{}`, 200, true)
	c.call("POST", apitype.PathWebhooks+"/"+id+"/deliveries/"+unknown+"/redeliver", jsonHeaders(admin), `{}`, 404, true)
	c.call("DELETE", apitype.PathWebhooks+"/"+id, bearer(admin), "", 200, true)
	return map[string][]int{
		"createWebhook":    {400},
		"getWebhook":       {404},
		"redeliverWebhook": {404},
	}
}
