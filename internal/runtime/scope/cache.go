package scope

import "sync"

// verdictKey is a fragment's shape: what the grammar's verdict depends on.
type verdictKey struct {
	text  string
	table string
	kind  fragmentKind
	class viewerClass
}

// verdict is a template, or the refusal, of one shape.
type verdict struct {
	t   *template
	err error
}

// Bounds of the verdict cache. A caller can make any number of distinct
// shapes (raw text is caller input), so the cache holds at most two
// generations of maxVerdicts entries and maxVerdictBytes of text each,
// and texts longer than maxCachedText are judged on every call.
const (
	maxVerdicts     = 4096
	maxVerdictBytes = 4 << 20
	maxCachedText   = 16 << 10
)

// verdictCache keeps the verdicts of recently used shapes: a lookup is a
// map read under a read lock. When the current generation is full it
// becomes the old one and the previous old one is dropped; a hit in the
// old generation moves the entry back to the current one. That is an LRU
// approximated by two generations: bounded memory, no per-hit writes.
type verdictCache struct {
	mu       sync.RWMutex
	cur, old map[verdictKey]verdict
	curBytes int
}

var verdicts = &verdictCache{cur: map[verdictKey]verdict{}}

// get returns the verdict of k, running judge (outside the lock) on a miss.
func (c *verdictCache) get(k verdictKey, judge func() (*template, error)) (*template, error) {
	c.mu.RLock()
	v, ok := c.cur[k]
	if !ok {
		v, ok = c.old[k]
		if ok {
			c.mu.RUnlock()
			c.put(k, v)
			return v.t, v.err
		}
	}
	c.mu.RUnlock()
	if ok {
		return v.t, v.err
	}
	t, err := judge()
	if len(k.text) <= maxCachedText {
		c.put(k, verdict{t: t, err: err})
	}
	return t, err
}

func (c *verdictCache) put(k verdictKey, v verdict) {
	size := len(k.text)
	if v.t != nil {
		for _, s := range v.t.text {
			size += len(s)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[k]; ok {
		return
	}
	if len(c.cur) >= maxVerdicts || c.curBytes+size > maxVerdictBytes {
		c.old, c.cur, c.curBytes = c.cur, make(map[verdictKey]verdict, len(c.cur)), 0
	}
	c.cur[k] = v
	c.curBytes += size
}

// len returns how many verdicts are held (tests).
func (c *verdictCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.cur) + len(c.old)
}
