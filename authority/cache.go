package authority

import (
	"context"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
)

// credentialGetter is what the credential cache reads: it declares the two
// Store methods it uses so that what it depends on is plain, and a test can
// hand it a stub.
type credentialGetter interface {
	GetCredential(ctx context.Context, id string) (conncred.Credential, error)
	GetCredentialByClientID(ctx context.Context, clientID string) (conncred.Credential, error)
}

// credCache keeps credentials looked up for authentication, by client id and
// by id, so the hot paths (token exchange, bearer check) do not read the
// database on every request. An entry lives at most ttl: that bounds how long
// a revocation made on another node can go unseen if its notification is
// lost. Revocations on this node, and notices from other nodes, drop entries
// at once.
type credCache struct {
	store credentialGetter
	clock clock.Clock
	ttl   time.Duration
	obs   Observer

	mu    sync.RWMutex
	gen   uint64 // bumped by invalidate(""), so a load racing a flush is not kept
	byID  map[string]*cacheEntry
	byCID map[string]*cacheEntry
}

type cacheEntry struct {
	cred    conncred.Credential
	fetched time.Time
}

// maxCacheEntries bounds the cache; past it the cache is emptied, which
// costs one read per credential and keeps memory flat under any load.
const maxCacheEntries = 200_000

func newCredCache(store credentialGetter, clk clock.Clock, ttl time.Duration, obs Observer) *credCache {
	return &credCache{
		store: store, clock: clk, ttl: ttl, obs: obs,
		byID: map[string]*cacheEntry{}, byCID: map[string]*cacheEntry{},
	}
}

// byClientID returns the credential with that client id.
func (c *credCache) byClientID(ctx context.Context, clientID string) (conncred.Credential, error) {
	now := c.clock.Now()
	c.mu.RLock()
	e, ok := c.byCID[clientID]
	gen := c.gen
	c.mu.RUnlock()
	hit := ok && now.Sub(e.fetched) < c.ttl && !now.Before(e.fetched)
	c.obs.CacheLookup(hit)
	if hit {
		return e.cred, nil
	}
	cred, err := c.store.GetCredentialByClientID(ctx, clientID)
	if err != nil {
		return conncred.Credential{}, err
	}
	c.put(cred, now, gen)
	return cred, nil
}

// get returns the credential with that id.
func (c *credCache) get(ctx context.Context, id string) (conncred.Credential, error) {
	now := c.clock.Now()
	c.mu.RLock()
	e, ok := c.byID[id]
	gen := c.gen
	c.mu.RUnlock()
	hit := ok && now.Sub(e.fetched) < c.ttl && !now.Before(e.fetched)
	c.obs.CacheLookup(hit)
	if hit {
		return e.cred, nil
	}
	cred, err := c.store.GetCredential(ctx, id)
	if err != nil {
		return conncred.Credential{}, err
	}
	c.put(cred, now, gen)
	return cred, nil
}

func (c *credCache) put(cred conncred.Credential, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // flushed while we were reading; what we read may be stale
	}
	if len(c.byID) >= maxCacheEntries {
		c.byID = map[string]*cacheEntry{}
		c.byCID = map[string]*cacheEntry{}
	}
	e := &cacheEntry{cred: cred, fetched: now}
	c.byID[cred.ID] = e
	c.byCID[cred.ClientID] = e
}

// invalidate drops the credential with id, or everything when id is "".
func (c *credCache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == "" {
		c.byID = map[string]*cacheEntry{}
		c.byCID = map[string]*cacheEntry{}
		return
	}
	if e, ok := c.byID[id]; ok {
		delete(c.byID, id)
		delete(c.byCID, e.cred.ClientID)
	}
}
