package webconsole

import (
	"context"
	"net/http"
	"net/url"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/console"
)

// CookieName is the session cookie. The __Host- prefix makes the browser
// accept it only with Secure, Path=/ and no Domain, so no other host (a
// sibling subdomain) and no plain-http page can set or overwrite it.
const CookieName = "__Host-conncred-console"

// sessionCookie is the cookie that carries value. SameSite=Lax, not
// Strict: every GET in the console changes nothing and every unsafe
// request passes http.CrossOriginProtection, so Strict would add no
// protection, and it would make a link into the console from a ticket or
// a chat land on the sign-in page. Lax still keeps the cookie off
// cross-site POSTs, frames and subresources. No Expires or Max-Age: the
// browser forgets it when it closes, and the server ends it after the
// idle and absolute timeouts in any case.
func sessionCookie(value string) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// clearedCookie tells the browser to drop the session cookie.
func clearedCookie() *http.Cookie {
	c := sessionCookie("")
	c.MaxAge = -1
	return c
}

// signedIn resumes the request's session and runs h as its principal;
// without a usable session it sends the browser to the sign-in page.
func (c *Console) signedIn(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ck, err := r.Cookie(CookieName)
		if err != nil || ck.Value == "" {
			return c.toSignIn(w, r, "")
		}
		ctx, s, err := c.cfg.Sessions.Resume(r.Context(), ck.Value)
		if err != nil {
			switch conncred.ErrorCode(err) {
			case conncred.EUnauthenticated, conncred.ENotFound, conncred.EPermissionDenied:
				http.SetCookie(w, clearedCookie())
				return c.toSignIn(w, r, "ended")
			}
			return err
		}
		// Errors are rendered here, with the session's context, so the
		// error page still names who is signed in.
		r = r.WithContext(context.WithValue(ctx, sessionKey{}, s))
		if err := h(w, r); err != nil {
			c.renderError(w, r, err)
		}
		return nil
	}
}

type sessionKey struct{}

// sessionFrom returns the session a signed-in request runs in.
func sessionFrom(ctx context.Context) (console.Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(console.Session)
	return s, ok
}

// toSignIn sends the browser to the sign-in page; htmx requests are told
// with HX-Redirect, since a redirect would be swapped into the page.
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, why string) error {
	target := Prefix + "/login"
	if why != "" {
		target += "?" + url.Values{"why": {why}}.Encode()
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return nil
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

type loginView struct {
	Token  string // the one-time token, into the form's hidden field
	Notice string
}

// loginPage is GET /console/login. With ?token= (the link `conncred
// console` prints) it shows a form that posts the token; it changes
// nothing, so a link previewer or prefetcher that fetches the link does
// not spend it. Without a token it says how to get a link.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v := loginView{Token: q.Get("token")}
	switch q.Get("why") {
	case "ended":
		v.Notice = "Your session has ended (signed out, idle for 30 minutes, 12 hours old, or its admin credential was revoked)."
	case "out":
		v.Notice = "You are signed out."
	}
	return c.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: v})
}

// loginSubmit is POST /console/login: it redeems the token for a session,
// sets the cookie and redirects to the console, so the token leaves the
// address bar. A session the browser already had is ended first: signing
// in always starts a fresh one.
func (c *Console) loginSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return conncred.Errorf(conncred.EInvalid, "the sign-in form could not be read; open the sign-in link again")
	}
	token := r.PostForm.Get("token")
	if token == "" {
		return c.render(w, r, http.StatusBadRequest, "login", page{Title: "Sign in",
			Error: "This form has no sign-in token. Run `conncred console` and open the link it prints.", Data: loginView{}})
	}
	cookie, _, err := c.cfg.Sessions.SignIn(r.Context(), token, conncred.SourceFrom(r.Context()))
	if err != nil {
		switch conncred.ErrorCode(err) {
		case conncred.EUnauthenticated, conncred.ENotFound, conncred.EPermissionDenied, conncred.EInvalid:
			return c.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in",
				Error: "This sign-in link is unknown, already used or expired (links work once, for 10 minutes). Run `conncred console` for a new one.", Data: loginView{}})
		}
		return err
	}
	if old, err := r.Cookie(CookieName); err == nil && old.Value != "" {
		// Best effort: the old session ends at its timeout otherwise.
		_ = c.cfg.Sessions.SignOut(r.Context(), old.Value)
	}
	http.SetCookie(w, sessionCookie(cookie))
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	return nil
}

// logout is POST /console/logout: it ends the session and clears the
// cookie. It needs no valid session: a stale cookie is cleared all the
// same.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(CookieName); err == nil && ck.Value != "" {
		if err := c.cfg.Sessions.SignOut(r.Context(), ck.Value); err != nil {
			switch conncred.ErrorCode(err) {
			case conncred.EUnauthenticated, conncred.ENotFound:
			default:
				return err
			}
		}
	}
	http.SetCookie(w, clearedCookie())
	http.Redirect(w, r, Prefix+"/login?why=out", http.StatusSeeOther)
	return nil
}
