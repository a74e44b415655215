package acq

import (
	"sync"
	"time"
)

// Precancels remembers cancels that arrived before what they cancel: a
// cancel and its request travel on different subjects, so the cancel may
// overtake it. Each is remembered for a limited time and their number is
// bounded, so a flood of cancels for ids that never come costs bounded
// memory, and a cancel sent long ago cannot end a request made today.
type Precancels struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	at map[string]time.Time
}

// NewPrecancels remembers at most max cancels, each for ttl.
func NewPrecancels(ttl time.Duration, max int) *Precancels {
	return &Precancels{ttl: ttl, max: max, at: map[string]time.Time{}}
}

// Add remembers a cancel for key. When max are already remembered, the
// expired ones go, and then the oldest.
func (p *Precancels) Add(key string) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.at) >= p.max {
		oldest, at := "", now
		for k, t := range p.at {
			if now.Sub(t) > p.ttl {
				delete(p.at, k)
			} else if t.Before(at) {
				oldest, at = k, t
			}
		}
		if len(p.at) >= p.max {
			delete(p.at, oldest)
		}
	}
	p.at[key] = now
}

// Take reports whether a cancel for key arrived within the last ttl, and
// forgets it.
func (p *Precancels) Take(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.at[key]
	if ok {
		delete(p.at, key)
	}
	return ok && time.Since(t) <= p.ttl
}

// PrecancelTTL is how long a cancel that overtook its request counts.
const PrecancelTTL = 10 * time.Second

// maxPrecancels bounds the cancels remembered per tracker or bridge.
const maxPrecancels = 4096

// NewDefaultPrecancels remembers cancels for PrecancelTTL, at most 4096.
func NewDefaultPrecancels() *Precancels { return NewPrecancels(PrecancelTTL, maxPrecancels) }
