package relay

import (
	"container/heap"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// copyBuf is the size of the loop's buffer small messages pass
	// through. A read that fills it means a stream: the direction then
	// moves through a splice pipe, which bulk transfers pay off (1.5×
	// HAProxy's throughput on one stream in docs/performance.md) and a
	// 64-byte message does not (two splices where a read and a write do).
	copyBuf = 16 << 10
	// pipeSize is the capacity asked for a splice pipe: 64 pages, as
	// many segments as a 256 KiB burst brings.
	pipeSize = 256 << 10
	// sparePipes is how many emptied pipes a loop keeps for the next
	// stream rather than closing them.
	sparePipes = 16
)

// end is one socket of a session, with what its edges said: edge
// triggered epoll reports a change once, so the end remembers it until
// a read or write finds otherwise.
type end struct {
	fd    int
	side  byte // 'C' (client) or 'S' (server)
	s     *Session
	watch *Watch // set instead of s for a watched descriptor
	// readable: something (data, EOF, an error) may be read; writable:
	// a write may go through; peerShut: the peer will send nothing more
	// than what is queued.
	readable, writable, peerShut bool
}

// dir is one direction of a session: bytes read from src are written to
// dst.
type dir struct {
	src, dst *end
	other    *dir
	// pending is what was read but could not yet be written (dst full).
	pending []byte
	// pipe carries a stream with splice; inPipe bytes wait in it.
	pipe    [2]int
	hasPipe bool
	inPipe  int
	stream  bool // the last read filled the buffer: splice the next
	eof     bool // src has sent everything
	done    bool // and dst has been told (shutdown)
	// lastRecv is when src last gave data, lastSent when dst last took
	// some (or when it started to hold some back).
	lastRecv, lastSent time.Duration
	counted            []*atomic.Int64
}

// Session is one relayed client/server pair.
type Session struct {
	l        *Loop
	cli, srv end // inside the session: one allocation
	up, down dir
	opts     Options
	h        Handler
	ended    bool
	// connecting is set until the server's connect has an outcome, which
	// h hears; connectBy is its deadline (0: none), connectTimeout after
	// the connect began.
	connecting     bool
	connectBy      time.Duration
	connectTimeout time.Duration
	// due is when the session's timeouts are next looked at; idx is its
	// place in the loop's timer heap (-1: not in it).
	due time.Duration
	idx int
}

// connectDone ends the connect on the server's socket: it relays once
// established, else reports the error. Only a failed connect raises
// EPOLLERR or EPOLLHUP, so the error is asked for (getsockopt SO_ERROR)
// only then: one system call less per connection, as HAProxy does.
func (s *Session) connectDone(failed bool) {
	if failed {
		soErr, err := unix.GetsockoptInt(s.srv.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			s.connectFailed(os.NewSyscallError("getsockopt", err))
			return
		case soErr != 0:
			s.connectFailed(os.NewSyscallError("connect", unix.Errno(soErr)))
			return
		}
	}
	l := s.l
	s.connecting = false
	s.report(func() { s.h.Connected(nil) })
	s.up = dir{src: &s.cli, dst: &s.srv, counted: s.opts.In, lastRecv: l.now, lastSent: l.now}
	s.down = dir{src: &s.srv, dst: &s.cli, counted: s.opts.Out, lastRecv: l.now, lastSent: l.now}
	s.up.other, s.down.other = &s.down, &s.up
	s.reschedule()
	// The client most often spoke while the connect went on (a request
	// sent right after its own connect), and a socket just accepted takes
	// writes: read and write it before waiting for it to say so. The
	// request then leaves in this turn of the loop, not two later (its
	// EPOLLOUT edge, then its EPOLLIN: HAProxy reads the client before
	// connecting and leaves in the next turn), and registering the socket
	// after the read drained it raises no EPOLLIN edge that would cost a
	// read finding nothing. A client that has not spoken costs one read
	// returning EAGAIN.
	s.cli.readable, s.cli.writable = true, true
	s.step()
	if s.ended {
		return
	}
	if err := l.add(&s.cli); err != nil {
		s.finish(Result{Term: "ID"})
	}
}

// connectFailed gives up the connect: the server's socket is closed, the
// client's is left to the caller, and the handler hears why.
func (s *Session) connectFailed(err error) {
	s.connecting, s.ended = false, true
	s.l.sessions.Add(-1)
	if s.idx >= 0 {
		heap.Remove(&s.l.timers, s.idx)
	}
	s.l.drop(&s.srv)
	s.report(func() { s.h.Connected(err) })
}

// report runs one of the caller's handlers; a panic in it is written to
// standard error and goes no further than this session.
func (s *Session) report(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(os.Stderr, "relay: a session's handler failed: %v\n%s", v, debug.Stack())
		}
	}()
	fn()
}

// step moves what can move in both directions, and ends the session
// when both have ended.
func (s *Session) step() {
	s.up.pump(s)
	if !s.ended {
		s.down.pump(s)
	}
	if !s.ended && s.up.done && s.down.done {
		s.finish(Result{})
	}
}

// held reports whether d holds bytes dst has not taken.
func (d *dir) held() bool { return len(d.pending) > 0 || d.inPipe > 0 }

// pump moves bytes in d until src has nothing more, dst takes nothing
// more, or the direction ends.
func (d *dir) pump(s *Session) {
	for !d.done && !s.ended {
		switch {
		case d.held():
			if !d.dst.writable || !d.flush(s) {
				return
			}
		case d.eof:
			d.done = true
			if d.other.done {
				// Both ends have sent everything and been read dry:
				// closing them (step) sends the FINs, and a shutdown
				// first would cost a system call that did the same
				// (16% of pivotd's CPU under the connection-rate run).
				return
			}
			// Everything src sent is through: pass its shutdown on, so
			// that a client's half-close reaches the server while the
			// answer still flows back.
			unix.Shutdown(d.dst.fd, unix.SHUT_WR)
			d.releasePipe(s.l)
			s.reschedule() // the other direction now has its -fin timeout
			return
		case !d.src.readable:
			return
		case d.stream:
			if !d.splice(s) {
				return
			}
		default:
			if !d.read(s) {
				return
			}
		}
	}
}

// read moves one read's worth through the loop's buffer; it returns
// false when there is nothing more to do now.
func (d *dir) read(s *Session) bool {
	l := s.l
	n, err := unix.Read(d.src.fd, l.buf[:])
	if got, next := d.fromSrc(s, n, err); !got {
		return next
	}
	if n == len(l.buf) {
		d.stream = true
	} else {
		// A short read emptied the socket: its next data brings a new
		// edge. This is the read the per-goroutine design paid twice.
		d.src.readable = d.src.peerShut
	}
	w := 0
	if d.dst.writable {
		var ok bool
		w, err = unix.Write(d.dst.fd, l.buf[:n])
		if w, ok = d.toDst(s, w, err); !ok {
			return false
		}
	}
	if w < n { // dst is full: keep the rest for it
		d.pending = append(d.pending[:0], l.buf[w:n]...)
		d.holding(s)
	}
	return true
}

// holding starts dst's own timeout to take the bytes d holds for it.
func (d *dir) holding(s *Session) {
	d.lastSent = s.l.now
	s.reschedule()
}

// flush writes what d holds; false when dst took not all of it (or the
// session failed).
func (d *dir) flush(s *Session) bool {
	var n int
	var err error
	if d.inPipe > 0 {
		n, err = splice(d.pipe[0], d.dst.fd, d.inPipe)
	} else {
		n, err = unix.Write(d.dst.fd, d.pending)
	}
	n, ok := d.toDst(s, n, err)
	if !ok || !d.dst.writable {
		return false
	}
	if d.inPipe > 0 {
		d.inPipe -= n
	} else {
		d.pending = d.pending[n:]
		if len(d.pending) == 0 {
			d.pending = nil // a rare event: let the memory go
		}
	}
	return true
}

// splice moves what src has into the direction's pipe, then on to dst
// (in pump's next turn). It returns false when src is drained.
func (d *dir) splice(s *Session) bool {
	l := s.l
	if !d.hasPipe && !d.takePipe(l) {
		d.stream = false // no pipe to be had (maxpipes, descriptor limit): copy
		return true
	}
	n, err := splice(d.src.fd, d.pipe[1], pipeSize-d.inPipe)
	if got, next := d.fromSrc(s, n, err); !got {
		if err == unix.EAGAIN {
			// Drained. Only EAGAIN says so: a pipe fills by segments,
			// not bytes, so a short splice may have left data behind.
			d.stream = false
			if d.inPipe == 0 {
				d.releasePipe(l)
			}
		}
		return next
	}
	d.inPipe += n
	if !d.dst.writable {
		d.holding(s)
	}
	return true
}

// fromSrc sorts out what a read or splice from src returned: got when n
// bytes arrived (counted); otherwise next is what pump is told (false:
// nothing more to do now) after an EOF, EAGAIN or a failure.
func (d *dir) fromSrc(s *Session, n int, err error) (got, next bool) {
	switch {
	case err == unix.EAGAIN:
		d.src.readable = false
		return false, false
	case err == unix.EINTR:
		return false, true
	case err != nil:
		s.fail(d.src.side)
		return false, false
	case n == 0:
		d.eof = true
		return false, true
	}
	d.received(s.l, n)
	return true, true
}

// toDst sorts out what a write or splice to dst returned: the bytes it
// took (0 when dst is full or the call was interrupted), and false when
// the session failed.
func (d *dir) toDst(s *Session, n int, err error) (int, bool) {
	switch {
	case err == unix.EAGAIN:
		d.dst.writable = false
		return 0, true
	case err == unix.EINTR:
		return 0, true
	case err != nil:
		s.fail(d.dst.side)
		return 0, false
	}
	d.lastSent = s.l.now
	return n, true
}

// received counts n bytes from src.
func (d *dir) received(l *Loop, n int) {
	d.lastRecv = l.now
	for _, c := range d.counted {
		c.Add(int64(n))
	}
}

func splice(from, to, n int) (int, error) {
	m, err := unix.Splice(from, nil, to, nil, n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
	return int(m), err
}

// takePipe gives d a pipe, a spare one if the loop has it, unless the
// engine's pipes are all in use (maxpipes): the direction then copies.
func (d *dir) takePipe(l *Loop) bool {
	if !l.pipeCount.take() {
		return false
	}
	if k := len(l.pipes); k > 0 {
		d.pipe, l.pipes = l.pipes[k-1], l.pipes[:k-1]
		l.pipeCount.free.Add(-1)
		d.hasPipe = true
		return true
	}
	var p [2]int
	if unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC) != nil {
		l.pipeCount.used.Add(-1)
		return false
	}
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, pipeSize) // a smaller pipe still works
	d.pipe, d.hasPipe = p, true
	return true
}

// releasePipe gives d's pipe back to the loop, or closes it when it still
// holds bytes nobody will take or the loop has spares enough.
func (d *dir) releasePipe(l *Loop) {
	if !d.hasPipe {
		return
	}
	l.pipeCount.used.Add(-1)
	if d.inPipe == 0 && len(l.pipes) < sparePipes {
		l.pipes = append(l.pipes, d.pipe)
		l.pipeCount.free.Add(1)
	} else {
		unix.Close(d.pipe[0])
		unix.Close(d.pipe[1])
	}
	d.hasPipe, d.inPipe = false, 0
}

// pipeCount counts an engine's splice pipes: held by a direction (used,
// which maxpipes bounds, as HAProxy's) or kept spare by a loop (free).
type pipeCount struct {
	limit, used, free atomic.Int64
}

// take counts one more pipe in use, unless that would pass the limit
// (0: none).
func (c *pipeCount) take() bool {
	n := c.used.Add(1)
	if lim := c.limit.Load(); lim > 0 && n > lim {
		c.used.Add(-1)
		return false
	}
	return true
}

// fail ends the session because side's socket failed.
func (s *Session) fail(side byte) {
	s.finish(Result{Term: term(side, false), Side: side})
}

// term is the termination state of a session whose side failed, or timed
// out: constants, where building the string allocated (on every
// reschedule, for deadline's).
func term(side byte, timedOut bool) string {
	switch {
	case side == 'C' && timedOut:
		return "cD"
	case side == 'C':
		return "CD"
	case timedOut:
		return "sD"
	}
	return "SD"
}

// finish closes both sockets and reports r, once.
func (s *Session) finish(r Result) {
	if s.ended {
		return
	}
	s.ended = true
	l := s.l
	l.sessions.Add(-1)
	if s.idx >= 0 {
		heap.Remove(&l.timers, s.idx)
	}
	for _, e := range []*end{&s.cli, &s.srv} {
		if e.fd >= 0 {
			l.drop(e)
		}
	}
	s.up.releasePipe(l)
	s.down.releasePipe(l)
	s.up.pending, s.down.pending = nil, nil
	s.report(func() { s.h.Ended(r) })
}

// idle is the timeout of e's side, or its -fin one once the other
// direction than the one e feeds has ended.
func (s *Session) idle(e *end, fin bool) time.Duration {
	idle, finIdle := s.opts.ClientIdle, s.opts.ClientFin
	if e.side == 'S' {
		idle, finIdle = s.opts.ServerIdle, s.opts.ServerFin
	}
	if fin && finIdle > 0 {
		return finIdle
	}
	return idle
}

// deadline is when the session times out, and how it will be reported:
// a direction waiting to read times out when neither direction has
// received anything for its source's timeout (the session is idle); one
// holding bytes times out when its destination has taken nothing for
// its own timeout (it stopped reading), as HAProxy's timeout client and
// server bound both.
func (s *Session) deadline() (at time.Duration, r Result, ok bool) {
	if s.connecting {
		return s.connectBy, Result{}, s.connectBy > 0
	}
	active := max(s.up.lastRecv, s.down.lastRecv)
	for _, d := range []*dir{&s.up, &s.down} {
		var idle, from time.Duration
		var side byte
		switch {
		case d.done:
			continue
		case d.held():
			idle, from, side = s.idle(d.dst, false), d.lastSent, d.dst.side
		case !d.eof:
			idle, from, side = s.idle(d.src, d.other.done), active, d.src.side
		default:
			continue // src ended, pump passes it on at once
		}
		if t := from + idle; idle > 0 && (!ok || t < at) {
			at, ok = t, true
			r = Result{Term: term(side, true), Side: side}
		}
	}
	return at, r, ok
}

// reschedule moves the session's timer earlier when its deadline did.
func (s *Session) reschedule() {
	if s.ended {
		return
	}
	at, _, ok := s.deadline()
	if !ok || s.idx >= 0 && s.due <= at {
		return // later deadlines are found when the timer fires
	}
	s.due = at
	if s.idx >= 0 {
		heap.Fix(&s.l.timers, s.idx)
	} else {
		heap.Push(&s.l.timers, s)
	}
}

// expire ends the sessions whose deadline has passed, and files the
// others under their new deadline.
func (l *Loop) expire() {
	for len(l.timers) > 0 && l.timers[0].due <= l.now {
		s := heap.Pop(&l.timers).(*Session)
		at, r, ok := s.deadline()
		switch {
		case !ok:
		case at <= l.now && s.connecting:
			s.connectFailed(os.ErrDeadlineExceeded)
		case at <= l.now:
			s.finish(r)
		default:
			s.due = at
			heap.Push(&l.timers, s)
		}
	}
}

// timerHeap orders sessions by due.
type timerHeap []*Session

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *timerHeap) Push(x any) {
	s := x.(*Session)
	s.idx = len(*h)
	*h = append(*h, s)
}
func (h *timerHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.idx = -1
	return s
}

// waitMillis is how long epoll_wait may sleep: until the first deadline
// (rounded up to a millisecond), or for ever.
func (h timerHeap) waitMillis(now time.Duration) int {
	if len(h) == 0 {
		return -1
	}
	wait := h[0].due - now
	if wait <= 0 {
		return 0
	}
	return int((wait + time.Millisecond - 1) / time.Millisecond)
}

// commandQueue is the work other goroutines hand a loop.
type commandQueue struct {
	mu  sync.Mutex
	fns []func()
}

// push adds fn and reports whether the queue was empty (the loop must be
// woken).
func (q *commandQueue) push(fn func()) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.fns = append(q.fns, fn)
	return len(q.fns) == 1
}

// take moves the queued commands into buf.
func (q *commandQueue) take(buf []func()) []func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	buf = append(buf, q.fns...)
	clear(q.fns)
	q.fns = q.fns[:0]
	return buf
}
