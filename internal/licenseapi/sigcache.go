package licenseapi

import (
	"math"
	"sync"
)

// sigCache is the signer's bounded LRU of signatures, keyed by the sha256 of the
// company and the signed bytes. It holds no pointers: entries live in one slice,
// linked by index, and the map goes from digest to index, so the garbage collector
// never walks it. As a list of entries and strings (hashicorp's LRU) its tens of
// thousands of entries were most of the server's live heap, and every collection's
// mark phase took 7–26 ms of the two cores, once every half second at 15,000
// requests/s: a stall that requests paced at 80 % of the peak felt as a backlog.
//
// A signature longer than maxCachedSignature (an RSA key over 2,048 bits, which
// licensor does not make) is not kept.
type sigCache struct {
	mu      sync.Mutex
	index   map[[32]byte]int32
	entries []sigEntry // entries[0] is the list's head: next is the most recent, prev the least
	size    int        // the most entries kept
}

// maxCachedSignature is the longest base64 signature kept: RSA-2048's (an ECDSA P-256
// signature takes at most 96).
const maxCachedSignature = 344

type sigEntry struct {
	key        [32]byte
	prev, next int32
	n          uint16
	sig        [maxCachedSignature]byte
}

func newSigCache(size int) *sigCache {
	size = min(size, math.MaxInt32-1) // entries are linked by int32 index
	return &sigCache{index: make(map[[32]byte]int32), entries: make([]sigEntry, 1, 1+min(size, 1024)), size: size}
}

// get returns the signature kept under key and makes it the most recent.
func (c *sigCache) get(key [32]byte) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[key]
	if !ok {
		return "", false
	}
	c.unlink(i)
	c.pushFront(i)
	e := &c.entries[i]
	return string(e.sig[:e.n]), true
}

// add keeps sig under key as the most recent, evicting the least recent entry when
// the cache is full.
func (c *sigCache) add(key [32]byte, sig string) {
	if len(sig) > maxCachedSignature {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[key]
	switch {
	case ok:
		c.unlink(i)
	case len(c.index) >= c.size:
		i = c.entries[0].prev // the least recent
		c.unlink(i)
		delete(c.index, c.entries[i].key)
	default:
		if len(c.entries) == cap(c.entries) { // grown by hand: append would overshoot size
			e := make([]sigEntry, len(c.entries), min(2*cap(c.entries), c.size+1))
			copy(e, c.entries)
			c.entries = e
		}
		c.entries = c.entries[:len(c.entries)+1]
		i = int32(len(c.entries) - 1)
	}
	e := &c.entries[i]
	e.key, e.n = key, uint16(copy(e.sig[:], sig))
	c.index[key] = i
	c.pushFront(i)
}

func (c *sigCache) unlink(i int32) {
	e := &c.entries[i]
	c.entries[e.prev].next = e.next
	c.entries[e.next].prev = e.prev
}

func (c *sigCache) pushFront(i int32) {
	head := &c.entries[0]
	e := &c.entries[i]
	e.prev, e.next = 0, head.next
	c.entries[head.next].prev = i
	head.next = i
}
