package core

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pumpChunk bounds how many bytes one io.Copy call moves, so that the
// counters of a long transfer move while it runs (show stat) and the idle
// deadline is re-armed. io.Copy between two *net.TCPConn through an
// *io.LimitedReader still takes the kernel's splice path on Linux.
const pumpChunk = 256 << 10

// pipe is one direction of a session: bytes read from src are written to
// dst.
type pipe struct {
	dst, src *net.TCPConn
	// srcSide is 'C' when src is the client, 'S' when it is the server:
	// the first letter of the termination state when src fails.
	srcSide byte
	// idle is the longest src may stay silent (0: no limit); finIdle
	// replaces it once the other direction has ended (client-fin /
	// server-fin). There is no write deadline: with splice, a write that
	// times out mid-chunk would lose what the pipe holds.
	idle, finIdle time.Duration
	// counted receives every byte moved: the session's counter, then the
	// frontend's, backend's and server's.
	counted []*atomic.Int64
	other   *pipe // the opposite direction
	done    atomic.Bool

	// rc and readFn are src's raw connection and p.readOnce, made once
	// per direction: each would be an allocation per message. The read
	// fields are readOnce's results.
	rc     syscall.RawConn
	readFn func(fd uintptr) bool
	buf    *[]byte
	n      int
	rerr   error
}

// pumpResult is how a direction ended: a clean EOF (term empty) or the
// termination state of a failure.
type pumpResult struct {
	term string
	side byte // side that failed: 'C' or 'S'
}

// pumpOneWay copies p.src to p.dst until EOF, an error or an idle timeout.
// On EOF it passes the half-close on (CloseWrite), so a client's
// shutdown(SHUT_WR) reaches the server while the answer still flows back.
//
// Deadlines are armed per chunk, not per read, so that the kernel moves
// the bytes. When one expires the kernel is asked (TCP_INFO) when each
// socket last received data: a session is idle only if neither direction
// received anything for the whole timeout, however large the chunk.
func pumpOneWay(p *pipe, results chan<- pumpResult) {
	lr := &io.LimitedReader{R: p.src}
	rc, err := p.src.SyscallConn()
	if err != nil {
		results <- pumpResult{term: string([]byte{p.srcSide, 'D'}), side: p.srcSide}
		return
	}
	p.rc, p.readFn = rc, p.readOnce
	armed := false
	for {
		idle := p.idle
		if p.other.done.Load() && p.finIdle > 0 {
			idle = p.finIdle
		}
		now := time.Now()
		if idle > 0 {
			p.src.SetReadDeadline(now.Add(idle))
			armed = true
		} else if armed {
			p.src.SetReadDeadline(time.Time{})
			armed = false
		}
		w, eof, err := p.move(lr)
		if w > 0 {
			for _, c := range p.counted {
				c.Add(w)
			}
		}
		switch {
		case err == nil && eof:
			p.dst.CloseWrite()
			p.done.Store(true)
			// The other direction now has its -fin timeout, at once.
			if o := p.other; o.finIdle > 0 && !o.done.Load() {
				o.src.SetReadDeadline(time.Now().Add(o.finIdle))
			}
			results <- pumpResult{}
			return
		case err == nil:
			continue
		case isTimeout(err):
			if w > 0 || receivedWithin(p.other.src, idle) {
				continue // the session is not idle: re-arm
			}
			results <- pumpResult{term: string([]byte{p.srcSide + 'a' - 'A', 'D'}), side: p.srcSide}
			return
		}
		side := p.srcSide
		var op *net.OpError
		if errors.Is(err, syscall.EPIPE) || errors.As(err, &op) && op.Op == "write" {
			side = otherSide(side) // writing to dst failed: dst went away
		}
		results <- pumpResult{term: string([]byte{side, 'D'}), side: side}
		return
	}
}

// copyBuf is the size of the buffers small messages are copied through.
// A read that fills one means a stream: the rest goes through splice.
const copyBuf = 16 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBuf); return &b }}

// move waits until p.src has something to read, holding neither buffer
// nor pipe while it waits, then moves it to p.dst: what one read returns
// through a pooled buffer, and, when that read filled the buffer (a
// stream), up to pumpChunk more with splice.
//
// Why: an io.Copy that waits for data holds a splice pipe (two
// descriptors) per direction for as long as the session is idle — 6
// descriptors and ~23 KB per idle session against HAProxy's 2 and ~3.4 KB
// (docs/performance.md) — and a 64-byte message costs two splices
// through a pipe where one read and one write do.
func (p *pipe) move(lr *io.LimitedReader) (moved int64, eof bool, err error) {
	if err := p.rc.Read(p.readFn); err != nil {
		return 0, false, err // deadline, or the connection was closed
	}
	buf, n, rerr := p.buf, p.n, p.rerr
	p.buf, p.rerr = nil, nil
	defer copyBufs.Put(buf)
	switch {
	case rerr != nil:
		return 0, false, rerr
	case n == 0:
		return 0, true, nil
	}
	if _, err := p.dst.Write((*buf)[:n]); err != nil {
		return 0, false, err
	}
	if n < copyBuf {
		return int64(n), false, nil
	}
	// A stream: splice what the socket holds now (at most pumpChunk), so
	// that the splice never waits, pipe in hand, for data to come.
	waiting := 0
	p.rc.Control(func(fd uintptr) { waiting, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	if waiting <= 0 {
		return int64(n), false, nil
	}
	lr.N = int64(min(waiting, pumpChunk))
	m, err := io.Copy(p.dst, lr)
	return int64(n) + m, err == nil && lr.N > 0, err
}

// readOnce is move's read: one non-blocking read into a pooled buffer,
// taken only once there is something to read.
func (p *pipe) readOnce(fd uintptr) bool {
	b := copyBufs.Get().(*[]byte)
	m, e := unix.Read(int(fd), *b)
	if e == unix.EAGAIN {
		copyBufs.Put(b)
		return false // nothing yet: wait on the poller, holding nothing
	}
	p.buf, p.n = b, max(m, 0)
	if e != nil {
		p.rerr = os.NewSyscallError("read", e)
	}
	return true
}

// awaitDrain waits for the last direction, p, to end once the other has
// ended cleanly. p's reader has an idle deadline but its writer has none
// (a spliced write that times out would lose the bytes in flight), so
// while it runs the kernel is asked how far the receiving side has
// acknowledged: if it takes nothing for idle while data waits for it,
// the session is cut with that side's timeout, as HAProxy's timeout
// client and server also bound writes.
func awaitDrain(p *pipe, idle time.Duration, results <-chan pumpResult) pumpResult {
	if idle <= 0 {
		return <-results
	}
	tick := time.NewTicker(max(idle/4, 50*time.Millisecond))
	defer tick.Stop()
	last, since := uint64(0), time.Now()
	for {
		select {
		case r := <-results:
			return r
		case now := <-tick.C:
			acked, waiting, ok := sendProgress(p.dst)
			if !ok || acked != last || !waiting {
				last, since = acked, now
				continue
			}
			if now.Sub(since) < idle {
				continue
			}
			side := otherSide(p.srcSide) // the side that does not read
			p.src.Close()
			p.dst.Close()
			<-results
			return pumpResult{term: string([]byte{side + 'a' - 'A', 'D'}), side: side}
		}
	}
}

// sendProgress reports how many bytes the peer of c has acknowledged and
// whether sent or unsent data still waits for it.
func sendProgress(c *net.TCPConn) (acked uint64, waiting, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false, false
	}
	var info *unix.TCPInfo
	rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if err != nil || info == nil {
		return 0, false, false
	}
	return info.Bytes_acked, info.Notsent_bytes > 0 || info.Unacked > 0, true
}

// receivedWithin reports whether the kernel received data on c less than
// d ago (false when it cannot tell, or d is zero).
func receivedWithin(c *net.TCPConn, d time.Duration) bool {
	if d <= 0 {
		return false
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var info *unix.TCPInfo
	rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	return err == nil && info != nil && time.Duration(info.Last_data_recv)*time.Millisecond < d
}

func otherSide(b byte) byte {
	if b == 'C' {
		return 'S'
	}
	return 'C'
}

// relay moves bytes both ways between the client and conn until both
// directions end, and returns the termination state.
func (s *session) relay(conn *net.TCPConn, srv *Server) string {
	c := s.fe.core
	be := s.be
	cfg := be.conf()
	clientIdle, serverIdle := c.clientTimeout(s.fe.conf()), c.serverTimeout(cfg)
	if t := c.tunnelTimeout(cfg); t > 0 {
		clientIdle, serverIdle = t, t
	}
	up := &pipe{
		dst: conn, src: s.client, srcSide: 'C',
		idle: clientIdle, finIdle: s.fe.conf().Timeouts.ClientFin,
		counted: []*atomic.Int64{&s.in, &s.fe.cnt.In, &be.cnt.In, &srv.cnt.In},
	}
	down := &pipe{
		dst: s.client, src: conn, srcSide: 'S',
		idle: serverIdle, finIdle: cfg.Timeouts.ServerFin,
		counted: []*atomic.Int64{&s.out, &s.fe.cnt.Out, &be.cnt.Out, &srv.cnt.Out},
	}
	up.other, down.other = down, up
	results := make(chan pumpResult, 2)
	go pumpOneWay(up, results)
	go pumpOneWay(down, results)

	first := <-results
	var second pumpResult
	switch {
	case first.term != "":
		// One side failed: abort both so the other direction ends now.
		s.client.Close()
		conn.Close()
		second = <-results
	case up.done.Load():
		second = awaitDrain(down, clientIdle, results)
	default:
		second = awaitDrain(up, serverIdle, results)
	}
	res := first
	if res.term == "" {
		res = second
	}
	switch {
	case s.killedBy.Load() != 0:
		return "" // the caller words it from the kill's cause
	case res.term == "":
		return "--"
	case res.side == 'C':
		be.cnt.CliAbrt.Add(1)
		srv.cnt.CliAbrt.Add(1)
	default:
		be.cnt.SrvAbrt.Add(1)
		srv.cnt.SrvAbrt.Add(1)
		be.cnt.Eresp.Add(1)
		srv.cnt.Eresp.Add(1)
	}
	return res.term
}
