package core

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"pivot/core/relay"
)

// Accepting. A listener's new connections are taken by the relay loops
// (relay.Watch), on the thread the kernel wakes, as long as every limit
// has room: a session whose server is free at once then costs no
// goroutine and no hand-off between threads. When a limit is reached
// (global, frontend or bind maxconn, a rate limit) or accept fails, the
// loop hands the accepting to the listener's goroutine, which waits as
// the limits say, holding at most the one connection it has taken, so
// that later clients wait in the kernel's backlog as they do with
// HAProxy, and an idle listener never holds a slot that a busy one
// needs; once the backlog is empty it gives the accepting back.

// handoff is what a loop passes the accept goroutine: a connection it
// accepted but found no slot for (fd ≥ 0), or the error accept returned.
type handoff struct {
	fd   int
	peer netip.AddrPort
	err  error
}

// acceptBatch is how many connections a loop takes in one turn before
// letting its sessions run (it comes back for the rest).
const acceptBatch = 32

// startLocked starts accepting on ln.
func (l *listener) startLocked(ln *relay.Listener) {
	l.ln = ln
	c := l.fe.core
	l.stop, l.kill = make(chan struct{}), make(chan struct{})
	l.handoff = make(chan handoff, c.relay.Loops()+1) // filled by loops, read once the goroutine runs
	l.waiting.Store(false)
	w, err := c.relay.Watch(ln.FD(), func(on *relay.Loop) bool { return l.acceptOnLoop(ln, on) })
	if err != nil { // out of memory: the socket stays bound, unused
		c.diag.Alert(fmt.Sprintf("frontend %s: cannot accept on %s: %v", l.fe.name, l.addr, err))
		return
	}
	l.watch = w
	l.done.Add(1)
	go l.acceptWaiting(ln, w, l.stop, l.kill)
	w.Kick() // connections may wait already (a reload, an upgrade)
}

// stopAcceptingLocked stops accepting on l and waits until nothing accepts;
// with kill, a connection held while waiting for a slot is closed, else
// it is still served.
func (l *listener) stopAcceptingLocked(kill bool) {
	if l.watch == nil {
		return
	}
	l.watch.Stop()
	close(l.stop)
	if kill {
		close(l.kill)
	}
	l.done.Wait()
	l.watch = nil
}

// acceptOnLoop takes the waiting connections on relay loop on's thread,
// where their sessions then run; true when more may wait (it took a
// batch).
func (l *listener) acceptOnLoop(ln *relay.Listener, on *relay.Loop) (more bool) {
	if l.waiting.Load() {
		return false // the accept goroutine has it
	}
	for range acceptBatch {
		if !l.ratesAllow() {
			l.wait(handoff{fd: -1})
			return false
		}
		fd, peer, err := ln.TryAccept()
		switch {
		case errors.Is(err, unix.EAGAIN):
			return false
		case err != nil:
			l.wait(handoff{fd: -1, err: err})
			return false
		case !l.tryAcquireSlots():
			l.wait(handoff{fd: fd, peer: peer})
			return false
		}
		l.fe.startSession(l, fd, peer, on)
	}
	return true
}

// wait gives the accepting to the accept goroutine.
func (l *listener) wait(h handoff) {
	l.waiting.Store(true)
	l.handoff <- h // room for one per loop: never blocks
}

// acceptWaiting is the listener's goroutine: it accepts while the loops
// cannot, until stop.
func (l *listener) acceptWaiting(ln *relay.Listener, w *relay.Watch, stop, kill <-chan struct{}) {
	defer l.done.Done()
	for {
		select {
		case h := <-l.handoff:
			if !l.acceptUntilEmpty(ln, w, h, stop, kill) {
				l.dropHandoffs(kill)
				return
			}
		case <-stop:
			l.dropHandoffs(kill)
			return
		}
	}
}

// dropHandoffs serves, or with kill closes, the connections loops handed
// over that were not taken yet.
func (l *listener) dropHandoffs(kill <-chan struct{}) {
	for {
		select {
		case h := <-l.handoff:
			if h.fd >= 0 {
				l.serveHeld(h, kill)
			}
		default:
			return
		}
	}
}

// serveHeld starts the session of a connection accepted before its
// slots, once they are free; false if kill closes first.
func (l *listener) serveHeld(h handoff, kill <-chan struct{}) bool {
	if !l.acquireSlots(kill) {
		relay.Close(h.fd)
		return false
	}
	l.fe.startSession(l, h.fd, h.peer, nil)
	return true
}

// acceptUntilEmpty accepts, waiting as the limits say, until the backlog
// is empty, then gives the accepting back to the loops; false when stop
// or kill ended it. Temporary errors (EMFILE, ...) back off from 5 ms to
// 1 s.
func (l *listener) acceptUntilEmpty(ln *relay.Listener, w *relay.Watch, h handoff, stop, kill <-chan struct{}) bool {
	f := l.fe
	c := f.core
	var backoff time.Duration
	for {
		switch {
		case h.err != nil:
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			c.diag.Warning(fmt.Sprintf("frontend %s: accept on %s: %v; retrying in %v", f.name, l.addr, h.err, backoff))
			if !c.sleepUntil(stop, backoff) {
				return false
			}
		case h.fd >= 0:
			if !l.serveHeld(h, kill) {
				return false
			}
			backoff = 0
		}
		if !waitRate(&c.connRate, &c.rateLimit, stop) || !waitRate(&c.connRate, &c.sessRateLimit, stop) ||
			!waitRate(&f.cnt.Rate, &f.rateLimit, stop) {
			return false
		}
		fd, peer, err := ln.TryAccept()
		switch {
		case errors.Is(err, unix.EAGAIN):
			l.waiting.Store(false)
			w.Kick() // a connection that came meanwhile woke nobody
			return true
		case err != nil:
			h = handoff{fd: -1, err: err}
		default:
			h = handoff{fd: fd, peer: peer}
		}
	}
}

// ratesAllow reports whether the rate limits let one more connection in.
func (l *listener) ratesAllow() bool {
	c, f := l.fe.core, l.fe
	now := time.Now()
	return rateAllows(&c.connRate, &c.rateLimit, now) && rateAllows(&c.connRate, &c.sessRateLimit, now) &&
		rateAllows(&f.cnt.Rate, &f.rateLimit, now)
}

// acquireSlots takes one slot of each limit, waiting while one is full;
// it gives back what it took and returns false if stop closes first.
func (l *listener) acquireSlots(stop <-chan struct{}) bool {
	return l.takeSlots(func(x *limiter) bool { return x.acquire(stop) })
}

// tryAcquireSlots takes one slot of each limit if all have room.
func (l *listener) tryAcquireSlots() bool { return l.takeSlots((*limiter).tryAcquire) }

// takeSlots takes a slot of the global, frontend and bind limits with
// take, giving back what it took when one fails.
func (l *listener) takeSlots(take func(*limiter) bool) bool {
	limits := [...]*limiter{l.fe.core.global, l.fe.slots, l.slots}
	for i, x := range limits {
		if !take(x) {
			for _, y := range limits[:i] {
				y.release()
			}
			return false
		}
	}
	return true
}
