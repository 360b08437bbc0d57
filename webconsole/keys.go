package webconsole

import (
	"net/http"

	"github.com/conncred/conncred/authority"
)

func (c *Console) keyRoutes() {
	c.handle("GET "+Prefix+"/keys", c.keysPage)
	c.handle("POST "+Prefix+"/keys/rotate", c.keysRotate)
}

type keyRow struct {
	KID     string
	Created *timeView
	Active  bool
}

func (c *Console) keysPage(w http.ResponseWriter, r *http.Request) error {
	keys, err := c.cfg.Auth.ListSigningKeys(r.Context())
	if err != nil {
		return err
	}
	rows := make([]keyRow, 0, len(keys))
	// Newest first: the active key leads.
	for i := len(keys) - 1; i >= 0; i-- {
		rows = append(rows, keyRow{KID: keys[i].KID, Created: tv(keys[i].CreatedAt), Active: keys[i].Active})
	}
	return c.render(w, r, http.StatusOK, "keys", page{Title: "Signing keys", Nav: "keys", Flash: doneMessage(r), Data: rows})
}

func (c *Console) keysRotate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionRotateSigningKeys); err != nil {
		return err
	}
	if _, err := c.cfg.Auth.RotateSigningKey(r.Context()); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/keys?done=key-rotated", http.StatusSeeOther)
	return nil
}
