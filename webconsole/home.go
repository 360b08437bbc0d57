package webconsole

import (
	"net/http"
)

type homeView struct {
	SessionEnds *timeView
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) error {
	var v homeView
	if s, ok := sessionFrom(r.Context()); ok && !s.ExpiresAt.IsZero() {
		v.SessionEnds = tv(s.ExpiresAt)
	}
	return c.render(w, r, http.StatusOK, "home", page{Title: "Console", Data: v})
}
