// Package relay moves the bytes of proxied TCP sessions. The two sockets
// of every session live on one of a few event loops (one per core), each
// a goroutine waiting in epoll_wait and copying what a socket has to the
// other one, as HAProxy's threads do.
//
// Why not two goroutines per session copying with io.Copy: measured with
// redis-benchmark through pivotd (docs/performance.md), that design made
// three system calls per message and direction — Go's poller forgets a
// socket's readiness, so each read that gets a message follows one that
// found nothing — handed every message from the thread that polled to
// the one running the goroutine, and kept two goroutine stacks, ~13–17 KB,
// per idle session against HAProxy's ~3 KB. A loop that knows readiness
// (edge-triggered epoll, a short read meaning "drained") makes one read
// and one write per message on the thread that was woken, and an idle
// session is a few hundred bytes of state.
//
// The sockets handed to the engine must not be known to Go's poller
// (accepted with accept4, created with socket), or both would be woken.
package relay

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	_ "unsafe" // goyield

	"golang.org/x/sys/unix"
)

// goyield is the runtime's Gosched that puts the goroutine back on its
// own P's queue, so that the same thread runs it again at once; the
// runtime keeps it for the packages that link to it (go.dev/issue/67401).
//
//go:linkname goyield runtime.goyield
func goyield()

// Engine is a set of event loops sessions are spread over.
type Engine struct {
	loops []*Loop
	next  atomic.Uint32
	pipes pipeCount
}

// New starts n event loops (at least one).
func New(n int) (*Engine, error) {
	e := &Engine{}
	for range max(n, 1) {
		l, err := newLoop(&e.pipes)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.loops = append(e.loops, l)
		go l.run()
	}
	return e, nil
}

// Loops is how many event loops the engine runs (nil: none).
func (e *Engine) Loops() int {
	if e == nil {
		return 0
	}
	return len(e.loops)
}

// SetMaxPipes bounds the splice pipes the sessions hold at once (global
// maxpipes; 0: no bound). A direction that finds none left copies
// through the loop's buffer instead: slower for a stream, never stuck.
// Nil (no engine yet) ignores it.
func (e *Engine) SetMaxPipes(n int) {
	if e != nil {
		e.pipes.limit.Store(int64(n))
	}
}

// Pipes reports the bound on splice pipes, the pipes held by sessions
// and those kept spare (nil: none).
func (e *Engine) Pipes() (limit, used, free int64) {
	if e == nil {
		return 0, 0, 0
	}
	return e.pipes.limit.Load(), e.pipes.used.Load(), e.pipes.free.Load()
}

// Close stops the loops; sessions still relaying are cut (their done
// functions see Killed). It returns when every loop has ended.
func (e *Engine) Close() {
	for _, l := range e.loops {
		l.post(func() { l.stopping = true })
	}
	for _, l := range e.loops {
		<-l.stopped
	}
}

// Options are the timeouts and counters of one session.
type Options struct {
	// ClientIdle and ServerIdle bound how long the session may stay
	// silent while waiting on that side (timeout client / server), and
	// how long that side may leave data unread. Zero: no limit.
	ClientIdle, ServerIdle time.Duration
	// ClientFin and ServerFin replace them once the other direction has
	// ended (timeout client-fin / server-fin). Zero: keep the idle one.
	ClientFin, ServerFin time.Duration
	// In receives every byte moved from the client to the server, Out
	// every byte moved back.
	In, Out []*atomic.Int64
}

// Result is how a session ended.
type Result struct {
	// Term is HAProxy's two-letter termination state when a side failed
	// ('C' or 'S', then 'D'; lower case when it timed out), "" when both
	// directions ended cleanly or the session was killed.
	Term string
	// Side is the side that failed, 'C' or 'S'.
	Side byte
	// Killed is set when Kill or Engine.Close cut the session.
	Killed bool
}

// ErrKilled is the connect outcome of a session killed while it was
// connecting.
var ErrKilled = errors.New("relay: session killed while connecting")

// start opens s's session on loop on (nil: the engine picks one): it
// waits for the connect (until its timeout, if any), then relays. Called
// on on's own thread, it defers the work to the end of the loop's turn
// rather than posting it: no eventfd write and read, and no other thread
// woken, for a session accepted there (two system calls and a wake-up of
// the other loop for every other connection before).
func (e *Engine) start(on *Loop, s *Session) {
	l := e.pick(on)
	l.sessions.Add(1)
	s.l = l
	if l == on {
		l.deferred = append(l.deferred, s)
		return
	}
	l.post(s.begin)
}

// begin registers the server's socket with s's loop and waits for the
// connect.
func (s *Session) begin() {
	l := s.l
	s.idx = -1
	s.connecting = true
	// The client's socket is registered once connected: registered with
	// the server's, its first bytes often woke the loop on their own
	// while the connect went on (context switches per connection under
	// redis-benchmark -k 0: 0.70 against 0.60).
	if err := l.add(&s.srv); err != nil {
		s.connectFailed(err)
		return
	}
	if s.connectTimeout > 0 {
		s.connectBy = l.now + s.connectTimeout
		s.reschedule()
	}
}

// pick is the loop a new session goes to: on, the loop that accepted it,
// unless another has fewer sessions by more than one (then the one with
// the fewest), so that connections accepted in a burst by one thread
// still spread over the cores, as HAProxy's accept queues spread them
// over its threads. Without on, the loops take turns.
func (e *Engine) pick(on *Loop) *Loop {
	if on == nil {
		return e.loops[e.next.Add(1)%uint32(len(e.loops))]
	}
	least := on
	for _, l := range e.loops {
		if l.sessions.Load() < least.sessions.Load() {
			least = l
		}
	}
	if on.sessions.Load() <= least.sessions.Load()+1 {
		return on
	}
	return least
}

// Kill cuts the session at once: a relay ends (done sees Killed), a
// connect in progress fails with ErrKilled. Safe from any goroutine, any
// number of times.
func (s *Session) Kill() {
	s.l.post(func() {
		switch {
		case s.ended:
		case s.connecting:
			s.connectFailed(ErrKilled)
		default:
			s.finish(Result{Killed: true})
		}
	})
}

// yieldEvery is how long a loop runs without giving the scheduler a turn.
const yieldEvery = 5 * time.Millisecond

// Loop is one event loop: an epoll instance, the ends registered in it,
// and the timers of its sessions. The engine gives it to the callbacks it
// runs on the loop's thread (Watch), so that the sessions they open (Dial)
// stay on that thread.
type Loop struct {
	epfd, evfd int
	cmds       commandQueue
	// deferred is the sessions started on the loop's own thread, begun
	// at the end of the turn.
	deferred []*Session
	// sessions counts the sessions given to the loop and not yet ended
	// (connecting or relaying), for pick.
	sessions atomic.Int64
	ends     map[int32]*end
	timers   timerHeap
	epoch    time.Time
	now      time.Duration // since epoch, read once per wake-up
	// buf is where small messages pass: one per loop is enough, since a
	// message is written as soon as it is read.
	buf       [copyBuf]byte
	pipes     [][2]int   // spare splice pipes
	pipeCount *pipeCount // the engine's, shared by its loops
	stopping  bool
	stopped   chan struct{}
}

func newLoop(pipes *pipeCount) (*Loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("relay: epoll_create: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("relay: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("relay: epoll_ctl: %w", err)
	}
	return &Loop{epfd: epfd, evfd: evfd, ends: map[int32]*end{}, epoch: time.Now(), pipeCount: pipes, stopped: make(chan struct{})}, nil
}

// post runs fn on the loop's thread soon. Only the first command of a
// batch writes the eventfd.
func (l *Loop) post(fn func()) {
	if l.cmds.push(fn) {
		var one = [8]byte{1}
		unix.Write(l.evfd, one[:])
	}
}

// runDeferred begins the deferred sessions.
func (l *Loop) runDeferred() {
	for _, s := range l.deferred {
		s.begin()
	}
	clear(l.deferred)
	l.deferred = l.deferred[:0]
}

// add registers e for every readiness edge: edge-triggered, so that no
// epoll_ctl is ever needed again (the end keeps what it was told).
func (l *Loop) add(e *end) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(e.fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, e.fd, &ev); err != nil {
		return fmt.Errorf("relay: epoll_ctl: %w", err)
	}
	l.ends[int32(e.fd)] = e
	return nil
}

// drop forgets e and closes its socket (which leaves the epoll set).
func (l *Loop) drop(e *end) {
	if l.ends[int32(e.fd)] == e {
		delete(l.ends, int32(e.fd))
	}
	unix.Close(e.fd)
}

// run is the loop's goroutine. It is not locked to its thread: a
// blocking epoll_wait keeps the thread anyway, and a locked goroutine
// makes every yield and preemption a hand-off between two threads (half
// of pivotd's futex calls under the connection-rate run, measured with
// strace -k).
func (l *Loop) run() {
	defer close(l.stopped)
	events := make([]unix.EpollEvent, 256)
	var batch []func()
	var yielded time.Duration
	for {
		n, err := unix.EpollWait(l.epfd, events, l.timers.waitMillis(l.now))
		l.now = time.Since(l.epoch)
		if l.now-yielded > yieldEvery {
			// Sysmon preempts a goroutine that has kept its P for 10 ms
			// without passing through the scheduler, which a loop never
			// does (blocking in epoll_wait does not count), and each
			// preemption puts sysmon back to waking every 20 µs (4.8%
			// of pivotd's CPU under 64 echo connections, in nanosleep):
			// yield before. Not with Gosched, which queues the goroutine
			// for any thread and wakes another one, which takes it over:
			// 4,700 futex calls under a redis-benchmark -k 0 run, 650
			// with goyield.
			goyield()
			yielded = l.now
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			// Nothing a loop can do but try again; EBADF and EFAULT
			// cannot happen with descriptors it owns.
			continue
		}
		commands := false
		for i := range max(n, 0) {
			ev := &events[i]
			if ev.Fd == int32(l.evfd) {
				commands = true
				continue
			}
			if e := l.ends[ev.Fd]; e != nil {
				l.ready(e, ev.Events)
			}
		}
		// What the events deferred runs before any command, which may
		// be about it (a Kill posted once Dial returned).
		l.runDeferred()
		if commands {
			var b [8]byte
			unix.Read(l.evfd, b[:])
			batch = l.cmds.take(batch[:0])
			for _, fn := range batch {
				fn()
			}
			clear(batch)
			l.runDeferred()
		}
		l.expire()
		if l.stopping {
			l.stop()
			return
		}
	}
}

// stop cuts every session and closes what the loop holds.
func (l *Loop) stop() {
	for _, e := range l.ends {
		switch s := e.s; {
		case e.watch != nil: // the watcher stops it
		case s.ended:
		case s.connecting:
			s.connectFailed(ErrKilled)
		default:
			s.finish(Result{Killed: true})
		}
	}
	for _, p := range l.pipes {
		unix.Close(p[0])
		unix.Close(p[1])
	}
	l.pipeCount.free.Add(-int64(len(l.pipes)))
	unix.Close(l.evfd)
	unix.Close(l.epfd)
}

// ready records what an edge says about e and lets its session act.
func (l *Loop) ready(e *end, ev uint32) {
	if w := e.watch; w != nil {
		w.fire(l)
		return
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.readable = true
	}
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.peerShut = true
	}
	if ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.writable = true
	}
	s := e.s
	if s.connecting {
		if e.writable {
			s.connectDone(ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0)
		}
		return
	}
	if !s.ended {
		s.step()
	}
}
