package logging

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"pivot/core/config"
)

// Options are the process-wide settings that HAProxy keeps in its global
// section rather than on each `log` line.
type Options struct {
	// Tag is the program name in syslog headers (HAProxy's log-tag).
	// Empty means "pivot".
	Tag string
	// PID is the process id in syslog headers. Zero means os.Getpid().
	PID int
	// Hostname is HAProxy's log-send-hostname. Empty means no hostname
	// is sent: the default format is then "local" rather than "rfc3164",
	// rfc3164 says "localhost" and rfc5424 says "-".
	Hostname string
	// Stdout and Stderr receive the lines of the "stdout" and "stderr"
	// targets. Nil means os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// Now stamps each line. Nil means time.Now. Header times are printed
	// in the location of the time it returns (local time for time.Now,
	// as HAProxy does).
	Now func() time.Time
	// QueueLen is how many lines each datagram target holds while its
	// socket is slow; more are dropped. Zero means 1024.
	QueueLen int

	// dial opens a datagram socket; nil means net.Dial. Tests replace it
	// to make a target that never drains.
	dial func(network, address string) (net.Conn, error)
}

// Logger sends log lines to the `log` targets of a configuration. Its
// methods are safe for concurrent use, and a nil or zero Logger is valid
// and logs nothing, so callers need not check whether logging is on.
//
// Lines for stdout and stderr are written by the caller, one Write per
// line under a mutex so that lines never interleave. Lines for UDP and
// unix socket targets are queued and written by one sendLoop goroutine per
// target; Log never waits for the network.
type Logger struct {
	targets []*target
	id      identity
	now     func() time.Time

	outMu sync.Mutex // serializes writes to stdout and stderr

	done      chan struct{} // closed by Close to stop the sendLoops
	closeOnce sync.Once
	closed    atomic.Bool
	wg        sync.WaitGroup // the sendLoops
}

// New checks targets and starts one sendLoop per datagram target. It
// resolves host names once, here, as HAProxy does at start-up, but does
// not open sockets: a missing /dev/log or an unreachable server costs
// dropped lines, never a failed start. Every target is checked before
// anything starts, so an error leaves nothing running.
func New(targets []config.LogTarget, opts Options) (*Logger, error) {
	l := &Logger{
		id: identity{
			tag:      opts.Tag,
			pid:      strconv.Itoa(opts.PID),
			hostname: opts.Hostname,
		},
		now:  opts.Now,
		done: make(chan struct{}),
	}
	if l.id.tag == "" {
		l.id.tag = "pivot"
	}
	if opts.PID == 0 {
		l.id.pid = strconv.Itoa(os.Getpid())
	}
	if l.now == nil {
		l.now = time.Now
	}
	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	queueLen := opts.QueueLen
	if queueLen <= 0 {
		queueLen = defaultQueueLen
	}
	dial := opts.dial
	if dial == nil {
		dial = net.Dial
	}

	for _, lt := range targets {
		t, out, err := newTarget(lt, opts.Hostname)
		if err != nil {
			if lt.Pos.File != "" {
				return nil, fmt.Errorf("%s:%d: log target %q: %w", lt.Pos.File, lt.Pos.Line, lt.Address, err)
			}
			return nil, fmt.Errorf("log target %q: %w", lt.Address, err)
		}
		switch out {
		case "stdout":
			t.out = stdout
		case "stderr":
			t.out = stderr
		default:
			t.dgram.dial = dial
			t.dgram.queue = make(chan []byte, queueLen)
		}
		l.targets = append(l.targets, t)
	}
	for _, t := range l.targets {
		if t.dgram != nil {
			l.wg.Go(func() { sendLoop(t, l.done) })
		}
	}
	return l, nil
}

// newTarget checks one `log` line. New sets its writer or queue; out
// says which: "stdout", "stderr", or "" for a datagram target.
func newTarget(lt config.LogTarget, hostname string) (t *target, out string, err error) {
	t = &target{addr: lt.Address, maxLen: lt.Len, maxLevel: Debug, minLevel: Emerg}
	if t.format, err = parseFormat(lt.Format, hostname); err != nil {
		return nil, "", err
	}
	if t.facility, err = parseFacility(lt.Facility); err != nil {
		return nil, "", err
	}
	if lt.Level != "" {
		if t.maxLevel, err = ParseSeverity(lt.Level); err != nil {
			return nil, "", err
		}
	}
	if lt.MinLevel != "" {
		if t.minLevel, err = ParseSeverity(lt.MinLevel); err != nil {
			return nil, "", fmt.Errorf("minimum level: %w", err)
		}
	}
	switch {
	case lt.Len < 0:
		return nil, "", fmt.Errorf("invalid log length %d", lt.Len)
	case lt.Len == 0:
		t.maxLen = defaultLen
	}
	out, network, address, err := parseTarget(lt.Address)
	if err != nil {
		return nil, "", err
	}
	if out == "" {
		t.dgram = &datagramSink{network: network, address: address}
	}
	return t, out, nil
}

// Log sends msg at severity sev to every target whose level admits it,
// formatted for that target and cut to its length. Trailing newlines are
// removed first, as HAProxy does, so callers may pass either form. Log
// after Close does nothing.
func (l *Logger) Log(sev Severity, msg string) {
	if l == nil || len(l.targets) == 0 || l.closed.Load() {
		return
	}
	sev = min(max(sev, Emerg), Debug)
	for len(msg) > 0 && (msg[len(msg)-1] == '\n' || msg[len(msg)-1] == 0) {
		msg = msg[:len(msg)-1]
	}
	now := l.now()
	for _, t := range l.targets {
		if !t.admits(sev) {
			continue
		}
		if t.dgram != nil {
			line := appendLine(nil, t.format, t.facility, t.level(sev), now, &l.id, msg, t.maxLen)
			if datagramNewline {
				line = append(line, '\n')
			}
			t.enqueue(line)
			continue
		}
		// A stream line is cut one byte short so that its "\n" fits in
		// len, as HAProxy's fd_write_frag_line does.
		line := appendLine(nil, t.format, t.facility, t.level(sev), now, &l.id, msg, t.maxLen-1)
		line = append(line, '\n')
		l.outMu.Lock()
		_, err := t.out.Write(line)
		l.outMu.Unlock()
		if err != nil {
			t.dropped.Add(1)
		}
	}
}

// Dropped is the number of lines that did not reach their target since
// New, over all targets: dropped because a queue was full, or because a
// write failed or was still queued when Close's time ran out. HAProxy
// shows the same kind of count as "dropped_logs" in `show info`.
func (l *Logger) Dropped() uint64 {
	if l == nil {
		return 0
	}
	var n uint64
	for _, t := range l.targets {
		n += t.dropped.Load()
	}
	return n
}

// Close stops the sendLoops and waits for them. Lines already queued are
// still sent for up to about a second; what is left then is counted as
// dropped. Close is idempotent; later Log calls do nothing.
func (l *Logger) Close() error {
	if l == nil || l.done == nil {
		return nil
	}
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		stopBy := time.Now().Add(flushTimeout)
		for _, t := range l.targets {
			if t.dgram != nil {
				t.dgram.stop(stopBy)
			}
		}
		close(l.done)
	})
	l.wg.Wait()
	return nil
}
