package edverify

import (
	"crypto/ed25519"
	"sync"
)

// KeyCache keeps the PublicKeys of recently used keys, so that a key
// verified on every request (a credential's, in the token exchange) is
// decoded and tabled once rather than per request. It holds at most Max
// keys in two generations: a key used since the last turn-over stays, a
// key not used for a whole generation is dropped. Keys are public, so a
// cache of them leaks nothing.
type KeyCache struct {
	half int // keys per generation

	mu       sync.Mutex
	cur, old map[[ed25519.PublicKeySize]byte]*PublicKey
}

// NewKeyCache returns a cache of at most max keys (a PublicKey with its
// table is about 1.5 KiB, so 4096 keys are about 6 MiB). max < 2 means 2.
func NewKeyCache(max int) *KeyCache {
	half := max / 2
	if half < 1 {
		half = 1
	}
	return &KeyCache{half: half, cur: make(map[[ed25519.PublicKeySize]byte]*PublicKey, half)}
}

// Get returns pub's PublicKey, decoding it on a miss. A key of the wrong
// length gets a PublicKey that verifies nothing and is not cached.
func (c *KeyCache) Get(pub []byte) *PublicKey {
	if len(pub) != ed25519.PublicKeySize {
		return NewPublicKey(pub)
	}
	id := [ed25519.PublicKeySize]byte(pub)
	c.mu.Lock()
	if k, ok := c.cur[id]; ok {
		c.mu.Unlock()
		return k
	}
	if k, ok := c.old[id]; ok {
		c.put(id, k)
		c.mu.Unlock()
		return k
	}
	c.mu.Unlock()
	// Decoded outside the lock: it takes microseconds, and two callers
	// racing on one new key at worst decode it twice.
	k := NewPublicKey(pub)
	c.mu.Lock()
	if prev, ok := c.cur[id]; ok {
		k = prev
	} else {
		c.put(id, k)
	}
	c.mu.Unlock()
	return k
}

// put adds k to the current generation, turning the generations over when
// it is full. c.mu is held.
func (c *KeyCache) put(id [ed25519.PublicKeySize]byte, k *PublicKey) {
	if len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[[ed25519.PublicKeySize]byte]*PublicKey, c.half)
	}
	c.cur[id] = k
}

// Len returns the number of keys held.
func (c *KeyCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.cur)
	for id := range c.old {
		if _, dup := c.cur[id]; !dup {
			n++
		}
	}
	return n
}
