package logging

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// defaultLen is HAProxy's default `len`.
	defaultLen = 1024
	// defaultQueueLen is how many lines a datagram target holds while its
	// socket is slow, before it drops.
	defaultQueueLen = 1024
	// syslogPort is used when a network address has no port.
	syslogPort = 514
	// writeTimeout bounds one datagram write, so that a stuck receiver
	// (a full /dev/log) delays its own target only.
	writeTimeout = time.Second
	// flushTimeout bounds how long Close spends sending what is queued.
	flushTimeout = time.Second
	// datagramNewline says whether datagrams end with "\n". HAProxy 2.6
	// appends one to every datagram (after cutting the line to `len`);
	// pivot sends none, as syslog receivers do not need it.
	datagramNewline = false
)

// target is one `log` line, ready to send.
type target struct {
	addr     string // as configured, for error messages
	format   format
	facility int
	maxLevel Severity // lines above it (less severe) are not sent
	minLevel Severity // lines below it (more severe) are sent at this level
	maxLen   int

	// Exactly one of out and dgram is set.
	out   io.Writer // stdout or stderr, written under Logger.outMu
	dgram *datagramSink

	dropped atomic.Uint64
}

// admits reports whether a line of severity sev goes to t. Only the
// maximum level filters; HAProxy's minimum level raises the severity
// written in the header instead (see level).
func (t *target) admits(sev Severity) bool { return sev <= t.maxLevel }

// level is the severity written for a line of severity sev: never more
// severe than the minimum level, so that, say, "emerg" never reaches
// every terminal through a default syslog setup.
func (t *target) level(sev Severity) Severity { return max(sev, t.minLevel) }

// datagramSink feeds one UDP or unix datagram socket from a bounded queue.
// Its sendLoop goroutine is the only one that writes to the socket.
type datagramSink struct {
	network, address string
	dial             func(network, address string) (net.Conn, error)
	queue            chan []byte

	mu     sync.Mutex // guards conn and stopBy
	conn   net.Conn   // nil until the first send, and after a failed one
	stopBy time.Time  // zero until Close; no write may last beyond it
}

// parseTarget checks one config.LogTarget's address and builds the part
// of the target that says where lines go.
func parseTarget(addr string) (out string, network, address string, err error) {
	switch addr {
	case "stdout", "fd@1":
		return "stdout", "", "", nil
	case "stderr", "fd@2":
		return "stderr", "", "", nil
	case "":
		return "", "", "", fmt.Errorf("empty address")
	}
	network = "udp"
	rest := addr
	if i := strings.IndexByte(addr, '@'); i >= 0 {
		prefix := addr[:i]
		rest = addr[i+1:]
		switch prefix {
		case "udp":
			network = "udp"
		case "udp4", "ipv4":
			network = "udp4"
		case "udp6", "ipv6":
			network = "udp6"
		case "unix":
			if rest == "" {
				return "", "", "", fmt.Errorf("empty unix socket path")
			}
			return "", "unixgram", rest, nil
		case "fd":
			return "", "", "", fmt.Errorf("only fd@1 (stdout) and fd@2 (stderr) are supported")
		default:
			return "", "", "", fmt.Errorf("unsupported address family %q; must be one of: udp@, udp4@, udp6@, ipv4@, ipv6@, unix@, fd@", prefix+"@")
		}
	} else if strings.HasPrefix(addr, "/") {
		return "", "unixgram", addr, nil
	}

	host, port := rest, ""
	if ap, err := netip.ParseAddrPort(rest); err == nil {
		host, port = ap.Addr().String(), strconv.Itoa(int(ap.Port()))
	} else if a, err := netip.ParseAddr(strings.Trim(rest, "[]")); err == nil {
		host = a.String() // a bare address, IPv6 included
	} else if h, p, err := net.SplitHostPort(rest); err == nil {
		host, port = h, p
	}
	if port == "" || port == "0" { // HAProxy: no port means the syslog port
		port = strconv.Itoa(syslogPort)
	}
	if host == "" {
		return "", "", "", fmt.Errorf("missing host")
	}
	ua, err := net.ResolveUDPAddr(network, net.JoinHostPort(host, port))
	if err != nil {
		return "", "", "", err
	}
	return "", network, ua.String(), nil
}

// enqueue hands line to sendLoop, or drops it when the queue is full: the
// caller is a session or a check, which must not wait for a log server.
func (t *target) enqueue(line []byte) {
	select {
	case t.dgram.queue <- line:
	default:
		t.dropped.Add(1)
	}
}

// sendLoop writes t's queued lines until done is closed, then sends what
// is still queued until stopBy and counts the rest as dropped. It is a
// named function so that goroutine dumps show which loop is stuck.
func sendLoop(t *target, done <-chan struct{}) {
	s := t.dgram
	defer s.closeConn()
	for {
		select {
		case line := <-s.queue:
			t.send(line)
		case <-done:
			for {
				select {
				case line := <-s.queue:
					t.send(line)
				default:
					return
				}
			}
		}
	}
}

// send writes one datagram. On error the socket is closed and dialled
// again for the next line, so that a restarted syslog daemon (a new
// /dev/log) is found again.
func (t *target) send(line []byte) {
	s := t.dgram
	s.mu.Lock()
	deadline := time.Now().Add(writeTimeout)
	if !s.stopBy.IsZero() {
		if !time.Now().Before(s.stopBy) {
			s.mu.Unlock()
			t.dropped.Add(1) // Close's flush time is over
			return
		}
		if s.stopBy.Before(deadline) {
			deadline = s.stopBy
		}
	}
	if s.conn == nil {
		c, err := s.dial(s.network, s.address)
		if err != nil {
			s.mu.Unlock()
			t.dropped.Add(1)
			return
		}
		s.conn = c
	}
	c := s.conn
	c.SetWriteDeadline(deadline) // under mu, so Close's earlier stopBy wins
	s.mu.Unlock()

	if _, err := c.Write(line); err != nil {
		t.dropped.Add(1)
		s.mu.Lock()
		if s.conn == c {
			s.conn = nil
		}
		s.mu.Unlock()
		c.Close()
	}
}

// stop sets the time by which sendLoop must be done, and makes a write in
// progress give up at that time.
func (s *datagramSink) stop(by time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopBy = by
	if s.conn != nil {
		s.conn.SetWriteDeadline(by)
	}
}

func (s *datagramSink) closeConn() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}
