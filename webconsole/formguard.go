package webconsole

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
)

// formLifetime is how long a one-time form may wait between being shown
// and being submitted.
const formLifetime = time.Hour

// maxUsedForms bounds the memory of used nonces; past it the oldest are
// dropped first (they expire within formLifetime anyway).
const maxUsedForms = 100_000

// formGuard makes the forms whose answer shows a secret (rotate, a new
// webhook endpoint, a new personal client) single-submit. With JavaScript
// such a form is sent by htmx and its answer swapped into the page, so a
// reload fetches the form again, never the answer. Without JavaScript the
// answer is the page itself, and reloading it asks the browser to send
// the POST again: the form's nonce is then already used, and the answer
// is a page that says so, without a secret and without a second
// credential.
//
// Used nonces live in this node's memory: a resubmission that a load
// balancer sends to another node is not caught (README, "The web
// console", says so).
type formGuard struct {
	clock clock.Clock
	mu    sync.Mutex
	used  map[string]time.Time // nonce -> when it can be forgotten
}

func newFormGuard(clk clock.Clock) *formGuard {
	return &formGuard{clock: clk, used: map[string]time.Time{}}
}

// issue returns a fresh nonce: the time it was made and 128 random bits.
func (g *formGuard) issue() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatInt(g.clock.Now().Unix(), 10) + "." + hex.EncodeToString(b[:])
}

// Errors of use, for the handlers to tell apart.
var (
	errFormUsed    = conncred.Errorf(conncred.EConflict, "this form was already submitted, and its answer (with the secret) was shown once; it is not shown again. If the secret was lost, revoke that credential and make a new one")
	errFormExpired = conncred.Errorf(conncred.EInvalid, "this form is missing its one-time field or is more than an hour old; reload the page and submit it again")
)

// use spends nonce: nil the first time, errFormUsed after that, and
// errFormExpired for a nonce that is malformed or older than formLifetime.
func (g *formGuard) use(nonce string) error {
	ts, rnd, ok := strings.Cut(nonce, ".")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || len(rnd) != 32 {
		return errFormExpired
	}
	if _, err := hex.DecodeString(rnd); err != nil {
		return errFormExpired
	}
	now := g.clock.Now()
	made := time.Unix(sec, 0)
	if now.Sub(made) > formLifetime || made.Sub(now) > time.Minute {
		return errFormExpired
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, seen := g.used[nonce]; seen {
		return errFormUsed
	}
	if len(g.used) >= maxUsedForms {
		g.sweep(now)
	}
	g.used[nonce] = made.Add(formLifetime)
	return nil
}

// sweep forgets nonces that can no longer be submitted (their form
// expired), and if that frees nothing, the half that expires first. It
// runs under g.mu.
func (g *formGuard) sweep(now time.Time) {
	for n, until := range g.used {
		if now.After(until) {
			delete(g.used, n)
		}
	}
	if len(g.used) < maxUsedForms {
		return
	}
	cut := now.Add(formLifetime / 2)
	for n, until := range g.used {
		if until.Before(cut) {
			delete(g.used, n)
		}
	}
}
