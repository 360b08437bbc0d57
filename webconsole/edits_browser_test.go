package webconsole

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserEdits drives the edit forms in a real browser, with the
// keyboard's values typed into the fields: a trust's condition, a personal
// client's source networks (first a mistake, whose error page axe checks
// too), a credential's own networks, and the audit page filtered to those
// changes.
func TestBrowserEdits(t *testing.T) {
	e := newEnv(t)
	s := seed(t, e)
	tb := newTab(t, e)
	tb.signIn()
	ctx := e.adminCtx()

	tb.open("/console/trusts")
	tb.run("open the trust", chromedp.Click(`//a[normalize-space()="ci"]`), chromedp.WaitVisible(chromedp.CSS("#te-cond")))
	clearInput(tb, "#te-cond")
	tb.run("edit the condition",
		chromedp.SendKeys(chromedp.CSS("#te-cond"), `claims.sub.startsWith("repo:acme/")`),
		chromedp.Click(`//button[normalize-space()="Save trust"]`),
		chromedp.WaitVisible(`//p[@class="flash"]`))
	mustContain(t, "the trust after saving", tb.html(), "Trust saved.")
	tb.axe("a trust's page")
	if got, _ := e.console.cfg.Federation.GetTrust(ctx, s.trust.ID); got.Condition != `claims.sub.startsWith("repo:acme/")` {
		t.Errorf("the trust's condition is %q", got.Condition)
	}

	tb.open("/console/personal-clients")
	tb.run("open the personal client", chromedp.Click(`//a[normalize-space()="ops"]`), chromedp.WaitVisible(chromedp.CSS("#pe-src")))
	tb.run("a network that is not one",
		chromedp.SendKeys(chromedp.CSS("#pe-src"), "10.0.0.0/33"),
		chromedp.Click(`//button[normalize-space()="Save personal client"]`),
		chromedp.WaitVisible(`//*[contains(@class, "error")]`))
	mustContain(t, "the refused edit", tb.html(), "The personal client was not saved", "10.0.0.0/33")
	tb.axe("a personal client's page with an error")
	clearInput(tb, "#pe-src")
	tb.run("fix it",
		chromedp.SendKeys(chromedp.CSS("#pe-src"), "10.0.0.0/8"),
		chromedp.Click(`//button[normalize-space()="Save personal client"]`),
		chromedp.WaitVisible(`//p[@class="flash"]`))
	if cl, _ := e.console.cfg.Personal.Get(ctx, s.personal.ID); !slices.Equal(cl.AllowSourceCIDR, []string{"10.0.0.0/8"}) {
		t.Errorf("the personal client's networks are %v", cl.AllowSourceCIDR)
	}
	tb.axe("a personal client's page after saving")

	tb.open(credentialPath(s.app.ID, s.conn.ID, s.cred.ID))
	tb.run("set the credential's networks",
		chromedp.SendKeys(chromedp.CSS("#cs-src"), "192.0.2.0/24"),
		chromedp.Click(`//button[normalize-space()="Save source networks"]`),
		chromedp.WaitVisible(`//p[@class="flash"]`))
	mustContain(t, "the credential after saving", tb.html(), "Source networks saved.", "192.0.2.0/24")
	tb.axe("a credential's page after saving its networks")

	tb.open("/console/audit?kind=credential.source_limit_changed")
	mustContain(t, "the audit page", tb.html(), "credential.source_limit_changed", e.admin.ClientID, "Audit events, newest first")
	tb.axe("the audit page filtered")
}

// clearInput empties an input, as selecting its text and deleting it would.
// (chromedp's SetValue to "" reports a failure: "" is falsy.)
func clearInput(tb *tab, css string) {
	tb.t.Helper()
	if !eval[bool](tb, "clear "+css, `(() => { const el = document.querySelector(`+"`"+css+"`"+`); el.value = ""; return el.value === ""; })()`) {
		tb.t.Fatalf("could not clear %s", css)
	}
}
