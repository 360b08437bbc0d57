package webconsole

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium (scripts/install-chromium.sh)
// with chromedp. Without chromium they skip, except under CI=true, where
// they fail: CI installs it, so a skip there would hide a missing step.
const chromiumPath = "/usr/bin/chromium"

// browserStep bounds one step (a navigation, a click and what it waits
// for): generous, because CI shares two cores with the whole suite.
const browserStep = 60 * time.Second

type tab struct {
	t    *testing.T
	e    *env
	ctx  context.Context // the tab; steps derive their deadline from it
	mu   sync.Mutex
	errs []string // console errors: CSP violations, exceptions
}

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is not at %s; CI must install it (scripts/install-chromium.sh, run by .ci/run)", chromiumPath)
		}
		t.Skipf("skipping the browser tests: chromium is not at %s; run scripts/install-chromium.sh (as root) to run them", chromiumPath)
	}
}

// newTab starts a headless chromium with a fresh profile and opens a tab.
// When the test fails, it saves a screenshot of the tab to a directory it
// names in the log.
func newTab(t *testing.T, e *env) *tab {
	t.Helper()
	needChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	tb := &tab{t: t, e: e, ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			tb.failureShot()
		}
		cancelTab()
		cancelAlloc()
	})
	// The first call starts the browser; it must run on the tab's own
	// context, which has no deadline (a deadline would stop the browser).
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			tb.note("exception: " + ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError && !strings.Contains(ev.Entry.Text, "Failed to load resource") {
				tb.note(string(ev.Entry.Source) + ": " + ev.Entry.Text)
			}
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// The test server's certificate is httptest's own; the console's
	// cookie is Secure and __Host-, so the tests run over TLS as a real
	// deployment does, and the tab is told to accept that certificate.
	tb.run("start the browser", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
			return err
		}
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true}, Setting: browser.PermissionSettingGranted, Origin: e.srv.URL}); err != nil {
				return err
			}
		}
		_, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
	return tb
}

func (tb *tab) note(s string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errs = append(tb.errs, s)
}

// consoleErrors returns and forgets the errors the page logged.
func (tb *tab) consoleErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	out := tb.errs
	tb.errs = nil
	return out
}

func (tb *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %s: %v", what, err)
	}
}

// value runs one action that returns a value.
func value[T any](tb *tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserStep)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// location is the tab's address.
func (tb *tab) location() string {
	tb.t.Helper()
	return value(tb, "read the address", chromedp.Location())
}

// failureShot saves the tab as it is to a directory named in the log
// ($CONNCRED_CONSOLE_FAILURES, or a new temporary one).
func (tb *tab) failureShot() {
	dir := os.Getenv("CONNCRED_CONSOLE_FAILURES")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "conncred-console-failure-"); err != nil {
			return
		}
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	url, _ := chromedp.Run(ctx, chromedp.Location())
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("no failure screenshot: %v", err)
		return
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(tb.t.Name())+".png")
	if err := os.WriteFile(name, png, 0o644); err == nil {
		tb.t.Logf("failure screenshot of %s saved to %s", url, name)
	}
}

// open navigates to a console path and waits for the page.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.run("open "+path, chromedp.Navigate(tb.e.srv.URL+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// history goes delta entries back (negative) or forward in the tab's
// history and waits until want (an XPath or text search) is visible.
// chromedp's NavigateBack waits for a load event, which a page restored
// from the back/forward cache never fires: Chromium restores even
// no-store pages from it when no cookie changed, which is why console.js
// wipes the secret on pagehide.
func (tb *tab) history(delta int, want string) {
	tb.t.Helper()
	tb.run(fmt.Sprintf("go %+d in history", delta), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		h, err := chromedp.Call(ctx, cdppage.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return err
		}
		i := int(h.CurrentIndex) + delta
		if i < 0 || i >= len(h.Entries) {
			return fmt.Errorf("no history entry %d of %d", i, len(h.Entries))
		}
		_, err = chromedp.Call(ctx, cdppage.NavigateToHistoryEntry, cdppage.NavigateToHistoryEntryParams{EntryID: h.Entries[i].ID})
		return err
	}), chromedp.WaitVisible(want))
}

// html is the document's markup as it is now.
func (tb *tab) html() string {
	tb.t.Helper()
	return value(tb, "read the page", chromedp.OuterHTML(chromedp.CSS("html")))
}

// eval evaluates js, awaiting a promise, into a T.
func eval[T any](tb *tab, what, js string) T {
	tb.t.Helper()
	return value(tb, what, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

var axeSource = sync.OnceValues(func() ([]byte, error) { return os.ReadFile("testdata/axe/axe.min.js") })

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe runs axe-core on the page and fails the test on any WCAG 2.0/2.1 A
// or AA violation. The script is put in through the DevTools protocol, not
// through the page, so the page's CSP stays as it is; it also fails on any
// console error the page logged (a CSP violation is one).
func (tb *tab) axe(page string) {
	tb.t.Helper()
	for _, v := range tb.axeViolations(page) {
		tb.t.Errorf("axe on %s: %s (%s): %s\n  %s", page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
	}
	if errs := tb.consoleErrors(); len(errs) > 0 {
		tb.t.Errorf("%s logged errors in the browser console:\n  %s", page, strings.Join(errs, "\n  "))
	}
}

// axeViolations runs axe-core on the page as it is and returns what it
// found at the WCAG 2.0 and 2.1 A and AA levels.
func (tb *tab) axeViolations(page string) []axeViolation {
	tb.t.Helper()
	src, err := axeSource()
	if err != nil {
		tb.t.Fatal(err)
	}
	if !eval[bool](tb, "is axe loaded", `typeof window.axe !== "undefined"`) {
		eval[chromedp.Void](tb, "load axe", string(src)+";true")
	}
	raw := eval[string](tb, "run axe on "+page, `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " " + n.html.slice(0, 120))}))))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		tb.t.Fatalf("axe on %s: %v", page, err)
	}
	return vs
}

// reflows checks the page at 640 CSS pixels wide, what a 1280-pixel
// window shows at 200 % zoom: the page itself must not scroll sideways
// (wide tables scroll inside their own region).
func (tb *tab) reflows(page string) {
	tb.t.Helper()
	tb.run("narrow "+page, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 640, Height: 900, DeviceScaleFactor: 1})
		return err
	}))
	overflow := eval[int](tb, "measure "+page, `document.documentElement.scrollWidth - document.documentElement.clientWidth`)
	tb.run("widen "+page, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	}))
	if overflow > 0 {
		tb.t.Errorf("%s at 200%% zoom scrolls sideways by %d px", page, overflow)
	}
}

// signIn signs the tab in through a one-time link, as a person would:
// open the link, press Sign in.
func (tb *tab) signIn() {
	tb.t.Helper()
	tok := tb.e.loginToken()
	tb.open("/console/login?token=" + tok)
	tb.axe("the sign-in page")
	tb.run("press Sign in", chromedp.Click(`//button[normalize-space()="Sign in"]`), chromedp.WaitVisible(chromedp.CSS(`a[href="/console/apps"]`)))
	if loc := tb.location(); loc != tb.e.srv.URL+"/console/" {
		tb.t.Fatalf("after sign-in the browser is at %s, want %s/console/ (the token out of the address bar)", loc, tb.e.srv.URL)
	}
}

// shot saves a screenshot for the README when CONNCRED_CONSOLE_SCREENSHOTS
// names a directory (relative paths from the repository root).
func (tb *tab) shot(name string) {
	tb.t.Helper()
	dir := os.Getenv("CONNCRED_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	png := value(tb, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not show %q", what, w)
		}
	}
}
