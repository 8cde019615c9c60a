package core

import (
	"sync"
	"sync/atomic"
)

// limiter counts concurrent connections against a limit that can change
// at runtime (`set maxconn frontend|global`). Taking and giving back a
// slot are atomic operations; only a caller that must wait, and whoever
// frees a slot while someone waits, touch the mutex.
type limiter struct {
	limit   atomic.Int64 // 0 = unlimited
	cur     atomic.Int64
	waiters atomic.Int64

	mu   sync.Mutex
	free chan struct{} // closed and replaced when a slot frees; guarded by mu
}

func newLimiter(n int) *limiter {
	l := &limiter{free: make(chan struct{})}
	l.limit.Store(int64(n))
	return l
}

// acquire takes a slot, waiting while the limit is reached, until stop
// is closed (then it returns false).
func (l *limiter) acquire(stop <-chan struct{}) bool {
	for {
		if l.tryAcquire() {
			return true
		}
		l.waiters.Add(1)
		l.mu.Lock()
		ch := l.free
		room := l.room()
		l.mu.Unlock()
		if !room {
			select {
			case <-ch:
			case <-stop:
				l.waiters.Add(-1)
				return false
			}
		}
		l.waiters.Add(-1)
	}
}

func (l *limiter) room() bool {
	m := l.limit.Load()
	return m <= 0 || l.cur.Load() < m
}

func (l *limiter) tryAcquire() bool {
	for {
		cur, m := l.cur.Load(), l.limit.Load()
		if m > 0 && cur >= m {
			return false
		}
		if l.cur.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// release gives a slot back.
func (l *limiter) release() {
	l.cur.Add(-1)
	if l.waiters.Load() > 0 {
		l.wake()
	}
}

// setLimit changes the limit; waiters re-check at once.
func (l *limiter) setLimit(n int) {
	l.limit.Store(int64(n))
	l.wake()
}

// full reports whether the limit is reached.
func (l *limiter) full() bool { return !l.room() }

func (l *limiter) wake() {
	l.mu.Lock()
	close(l.free)
	l.free = make(chan struct{})
	l.mu.Unlock()
}
