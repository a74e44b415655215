package spectrum

import "sync"

// A Cache keeps Plans by Settings so that repeated requests skip building
// windows and corrections, and reuse Analyzers given back by Release. It
// is safe for concurrent use. Plans beyond its size are evicted, least
// recently used first.
type Cache struct {
	mu   sync.Mutex
	max  int
	tick uint64
	m    map[Settings]*cacheEntry
}

type cacheEntry struct {
	once sync.Once
	p    *Plan
	err  error
	used uint64
}

// DefaultCache is the cache behind NewAnalyzer.
var DefaultCache = NewCache(32)

// NewCache returns a cache of at most max plans. It panics if max < 1.
func NewCache(max int) *Cache {
	if max < 1 {
		panic("spectrum: cache size must be positive")
	}
	return &Cache{max: max, m: make(map[Settings]*cacheEntry)}
}

// Plan returns the cached plan for s, building it on first use. Invalid
// settings return NewPlan's error and are not cached. Concurrent callers
// with the same settings share one build.
func (c *Cache) Plan(s Settings) (*Plan, error) {
	s, err := s.normalise()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.tick++
	e, ok := c.m[s]
	if !ok {
		if len(c.m) >= c.max {
			c.evictLocked()
		}
		e = &cacheEntry{}
		c.m[s] = e
	}
	e.used = c.tick
	c.mu.Unlock()

	e.once.Do(func() { e.p, e.err = NewPlan(s) })
	if e.err != nil { // keep failures out of the cache
		c.mu.Lock()
		if c.m[s] == e {
			delete(c.m, s)
		}
		c.mu.Unlock()
	}
	return e.p, e.err
}

func (c *Cache) evictLocked() {
	var old Settings
	first := true
	var oldest uint64
	for s, e := range c.m {
		if first || e.used < oldest {
			old, oldest, first = s, e.used, false
		}
	}
	delete(c.m, old)
}

// Len returns the number of cached plans.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
