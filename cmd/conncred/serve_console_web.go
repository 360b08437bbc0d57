package main

import (
	"log/slog"
	"net/http"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/policy"
	"github.com/conncred/conncred/webconsole"
	"github.com/conncred/conncred/webhook"
)

// consoleWings are the services the web console's pages call, the same
// ones serve hands to the API.
type consoleWings struct {
	Baton      *baton.Service
	Lifecycle  *lifecycle.Service
	Policy     *policy.Service
	Webhooks   *webhook.Service
	Personal   *personal.Service
	Federation *federation.Service
}

// consoleWeb is the web console's pages (package webconsole, mounted at
// /console/ by server.Config.ConsolePages) over auth and the wings.
// sessions signs people in: package console's Service, which
// serve_console.go builds. With nil sessions there are no pages (nil
// handler), since nobody could sign in.
func consoleWeb(sessions webconsole.Sessions, auth *authority.Authority, w consoleWings, log *slog.Logger) http.Handler {
	if sessions == nil {
		return nil
	}
	return webconsole.New(webconsole.Config{Auth: auth, Sessions: sessions, Baton: w.Baton, Lifecycle: w.Lifecycle, Policy: w.Policy,
		Webhooks: w.Webhooks, Personal: w.Personal, Federation: w.Federation, Log: log})
}
