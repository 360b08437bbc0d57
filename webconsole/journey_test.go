package webconsole

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/secret"
)

// TestBrowserJourney walks the main journey in a real browser: sign in
// through a one-time link, create an app and a connector, rotate, see the
// secret masked, show it, copy it, check that reload, Back and the page's
// storage never show it again, revoke, and find the revocation in the
// audit trail. axe-core checks every page on the way.
func TestBrowserJourney(t *testing.T) {
	e := newEnvReal(t)
	tb := newTab(t, e)
	tb.signIn()
	tb.axe("the start page")

	tb.open("/console/apps")
	mustContain(t, "the empty apps page", tb.html(), "There are no apps yet")
	tb.axe("the empty apps page")
	tb.run("create an app",
		chromedp.SendKeys(chromedp.CSS("#app-name"), "Okta"),
		chromedp.SendKeys(chromedp.CSS("#app-desc"), "identity provider"),
		chromedp.Click(`//button[normalize-space()="Create app"]`),
		chromedp.WaitVisible(chromedp.CSS(`#conn-name`)))
	mustContain(t, "the new app's page", tb.html(), "App Okta", "App created.", "This app has no connectors yet")
	tb.axe("an app's page")
	tb.shot("app")

	tb.run("create a connector",
		chromedp.SendKeys(chromedp.CSS("#conn-name"), "okta sync"),
		chromedp.Click(`//button[normalize-space()="Create connector"]`),
		chromedp.WaitVisible(`//h2[@id="credentials"]`))
	mustContain(t, "the new connector's page", tb.html(), "Connector okta sync", "This connector has no credentials yet")
	tb.axe("a connector's page")

	tb.run("open rotate", chromedp.Click(`//a[starts-with(normalize-space(), "Rotate")]`), chromedp.WaitVisible(chromedp.CSS(`#cred-name`)))
	tb.axe("the rotate form")
	rotateURL := tb.location()
	tb.run("rotate",
		chromedp.SendKeys(chromedp.CSS("#cred-name"), "prod"),
		chromedp.SendKeys(chromedp.CSS("#cred-expires"), "3d"),
		chromedp.Click(`//button[normalize-space()="Rotate and show the secret"]`),
		chromedp.WaitReady(chromedp.CSS(`[data-secret]`)))
	if loc := tb.location(); loc != rotateURL {
		t.Errorf("after rotate the address is %s, want the form's %s (htmx swapped the answer in)", loc, rotateURL)
	}
	if eval[bool](tb, "is the secret masked", `document.querySelector("[data-secret]").checkVisibility()`) {
		t.Error("the secret is visible before the viewer asks for it")
	}
	mustContain(t, "the rotate answer", tb.html(), "It will not be shown again", "expires in 3 d")
	tb.axe("the rotate answer")
	tb.shot("rotate")
	tb.run("show the secret", chromedp.Click(`//summary[starts-with(normalize-space(), "Show the secret")]`))
	if !eval[bool](tb, "is the secret shown", `document.querySelector("[data-secret]").checkVisibility()`) {
		t.Error("the secret is not visible after Show")
	}
	sec := eval[string](tb, "read the secret", `document.querySelector("[data-secret]").textContent.trim()`)
	priv, err := secret.Parse(sec)
	if err != nil {
		t.Fatalf("the page's secret does not parse: %v", err)
	}
	apps, _, _ := e.auth.ListApps(e.adminCtx(), authority.PageRequest{})
	conns, _, _ := e.auth.ListConnectors(e.adminCtx(), apps[0].ID, authority.PageRequest{})
	creds, _, _ := e.auth.ListCredentials(e.adminCtx(), apps[0].ID, conns[0].ID, authority.PageRequest{})
	if len(creds) != 1 || !bytes.Equal(priv.Public().(ed25519.PublicKey), creds[0].PublicKey) {
		t.Fatalf("the shown secret is not the new credential's key (%d credentials)", len(creds))
	}

	tb.run("copy the secret", chromedp.Click(`//button[normalize-space()="Copy secret"]`),
		chromedp.WaitVisible(`//span[@class="copy-status" and normalize-space()="Copied."]`))
	clip := eval[string](tb, "read the clipboard", `navigator.clipboard.readText()`)
	if clip != sec {
		t.Errorf("the clipboard holds %d characters, not the secret", len(clip))
	}
	// Nothing of the secret in the page's storage or its history.
	stored := eval[string](tb, "read storage", `JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])`)
	if strings.Contains(stored, sec) || strings.Contains(stored, "secret-token") || strings.Contains(stored, "htmx-history") {
		t.Errorf("the page's storage holds the secret or an htmx snapshot: %.200s", stored)
	}
	secretGone := func(when string) {
		t.Helper()
		h := tb.html()
		if strings.Contains(h, sec) || strings.Contains(h, "secret-token:") {
			t.Errorf("%s the page shows the secret again", when)
		}
	}
	// Leave the answer by its link, then come back to it with Back: the
	// page comes back (from the back/forward cache, or fetched again)
	// without the secret, and Forward and a reload do not bring it either.
	tb.run("leave the answer", chromedp.Click(`//a[normalize-space()="Back to the connector"]`), chromedp.WaitVisible(`//a[starts-with(normalize-space(), "Revoke prod")]`))
	tb.history(-1, `//input[@id="cred-name"] | //section[contains(@class, "secret")]`)
	if loc := tb.location(); loc != rotateURL {
		t.Errorf("Back went to %s, want the rotate page %s", loc, rotateURL)
	}
	secretGone("after Back")
	tb.history(+1, `//a[starts-with(normalize-space(), "Revoke prod")]`)
	secretGone("after Forward")
	tb.history(-1, `//input[@id="cred-name"] | //section[contains(@class, "secret")]`)
	tb.run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#cred-name")))
	secretGone("after a reload")
	hist := value(tb, "read the history", func(ctx context.Context, t *chromedp.Target) (cdppage.GetNavigationHistoryResult, error) {
		return chromedp.Call(ctx, cdppage.GetNavigationHistory, cdp.Empty{})
	})
	for _, en := range hist.Entries {
		if strings.Contains(en.URL, sec) || strings.Contains(en.Title, sec) || strings.Contains(en.URL, "secret") {
			t.Errorf("a history entry carries the secret: %s", en.URL)
		}
	}
	if got := len(creds); got != 1 {
		t.Fatalf("credentials: %d", got)
	}
	if after, _, _ := e.auth.ListCredentials(e.adminCtx(), apps[0].ID, conns[0].ID, authority.PageRequest{}); len(after) != 1 {
		t.Fatalf("reload, Back and Forward made %d credentials, want 1", len(after))
	}

	// Revoke it from the connector page, through the confirmation.
	tb.open(connectorPath(apps[0].ID, conns[0].ID))
	mustContain(t, "the connector page", tb.html(), "prod", "expires in 3 d", "exp-soon", "never")
	tb.shot("connector")
	tb.run("open revoke", chromedp.Click(`//a[normalize-space()="Revoke prod…"]`),
		chromedp.WaitVisible(`//button[normalize-space()="Revoke prod"]`))
	mustContain(t, "the revoke confirmation", tb.html(), creds[0].ClientID, "only active credential", "access tokens already minted from it are refused")
	tb.axe("the revoke confirmation")
	tb.shot("revoke")
	tb.run("revoke", chromedp.Click(`//button[normalize-space()="Revoke prod"]`),
		chromedp.WaitVisible(`//p[@class="flash"]`))
	mustContain(t, "the connector page after revoke", tb.html(), "Credential revoked.", "state-revoked")
	tb.axe("the connector page after revoke")

	tb.open("/console/audit")
	h := tb.html()
	mustContain(t, "the audit page", h, "credential.revoked", "credential.created", "app.created", creds[0].ID, e.admin.ClientID)
	tb.axe("the audit page")
	tb.shot("audit")
	tb.run("follow the audit link to the credential", chromedp.Click(fmt.Sprintf(`//a[contains(@href, "/credentials/%s")]`, creds[0].ID)),
		chromedp.WaitVisible(`//dt[normalize-space()="Client id"]`))
	mustContain(t, "the credential page", tb.html(), creds[0].ClientID, "state-revoked")
	tb.axe("a credential's page")
}

// TestBrowserCrossOriginRefused: a signed-in browser that submits a form
// on another site to the console is refused, and nothing is created.
func TestBrowserCrossOriginRefused(t *testing.T) {
	e := newEnvReal(t)
	tb := newTab(t, e)
	tb.signIn()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>evil</title><form method="post" action="%s/console/apps"><input name="name" value="Evil"><button id="go">go</button></form><img src="/x.png">`, e.srv.URL)
	}))
	defer evil.Close()
	// The foreign page is inaccessible on purpose (an unlabelled input, an
	// image without alt text, no lang): axe must say so, or the checks on
	// the console's pages prove nothing.
	tb.open("/console/")
	tb.run("open the foreign page", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("#go")))
	found := map[string]bool{}
	for _, v := range tb.axeViolations("the foreign page") {
		found[v.ID] = true
	}
	for _, id := range []string{"image-alt", "label", "html-has-lang"} {
		if !found[id] {
			t.Errorf("axe did not report %s on a page that breaks it (found %v)", id, found)
		}
	}
	tb.run("submit the foreign form", chromedp.Navigate(evil.URL), chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(`//h1[normalize-space()="Not allowed"]`))
	mustContain(t, "the refusal", tb.html(), "came from another site")
	if apps, _, _ := e.auth.ListApps(e.adminCtx(), authority.PageRequest{}); len(apps) != 0 {
		t.Fatalf("the foreign form created %d apps", len(apps))
	}
	tb.consoleErrors() // the 403 itself is logged
}
