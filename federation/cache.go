package federation

import (
	"context"
	"sync"
	"time"

	"github.com/conncred/conncred/clock"
)

// trustCache keeps trusts, with their compiled conditions, by id and by
// client id, so neither an exchange nor an API call made with a
// trust-minted token reads the database each time. An entry lives at most
// ttl, the bound on how long a delete made on another node goes unseen if
// its notice is lost; deletes on this node and notices drop entries at once.
type trustCache struct {
	store Store
	clock clock.Clock
	ttl   time.Duration

	mu    sync.RWMutex
	gen   uint64 // bumped by invalidate, so a load racing it is not kept
	byID  map[string]*trustEntry
	byCID map[string]*trustEntry
}

type trustEntry struct {
	trust   Trust
	cond    *condition // nil if the stored condition no longer compiles
	fetched time.Time
}

// maxTrustEntries bounds the cache; past it the cache is emptied.
const maxTrustEntries = 100_000

func newTrustCache(store Store, clk clock.Clock, ttl time.Duration) *trustCache {
	return &trustCache{store: store, clock: clk, ttl: ttl, byID: map[string]*trustEntry{}, byCID: map[string]*trustEntry{}}
}

// get returns the trust with that id.
func (c *trustCache) get(ctx context.Context, id string) (*trustEntry, error) {
	return c.lookup(ctx, c.byID, id, c.store.GetTrust)
}

// byClientID returns the trust with that client id.
func (c *trustCache) byClientID(ctx context.Context, clientID string) (*trustEntry, error) {
	return c.lookup(ctx, c.byCID, clientID, c.store.GetTrustByClientID)
}

func (c *trustCache) lookup(ctx context.Context, m map[string]*trustEntry, key string, load func(context.Context, string) (Trust, error)) (*trustEntry, error) {
	now := c.clock.Now()
	c.mu.RLock()
	e, ok := m[key]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Sub(e.fetched) < c.ttl && !now.Before(e.fetched) {
		return e, nil
	}
	t, err := load(ctx, key)
	if err != nil {
		return nil, err
	}
	e = &trustEntry{trust: t, fetched: now}
	if cond, err := compileCondition(t.Condition); err == nil {
		e.cond = cond
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.byID) >= maxTrustEntries {
			clear(c.byID)
			clear(c.byCID)
		}
		c.byID[t.ID] = e
		c.byCID[t.ClientID] = e
	}
	c.mu.Unlock()
	return e, nil
}

// invalidate drops the trust with that id, or everything for "" (a notice
// may have been missed). Ids of other records (credentials share the
// notification channel) find nothing and cost a map look-up.
func (c *trustCache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == "" {
		clear(c.byID)
		clear(c.byCID)
		return
	}
	if e, ok := c.byID[id]; ok {
		delete(c.byID, id)
		delete(c.byCID, e.trust.ClientID)
	}
}
