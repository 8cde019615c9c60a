package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The load generators. Each runs against one address for a fixed time
// and reports what it measured; the servers behind every target are the
// same in-process echo and sink servers, so a difference between targets
// is the proxy's.

// msgSize is the request and response size of the request/response and
// connection-rate workloads.
const msgSize = 64

// bulk streams data over n connections for d and returns the throughput
// in MB/s, measured where it arrives: at the sink behind the target.
func bulk(addr string, n int, d time.Duration, sink *server) (float64, error) {
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			c.SetWriteDeadline(deadline)
			for {
				if _, err := c.Write(buf); err != nil {
					var ne net.Error
					if !(errors.As(err, &ne) && ne.Timeout()) {
						errs <- err
					}
					return
				}
			}
		}()
	}
	// Skip the first tenth: connections ramp up.
	time.Sleep(d / 10)
	start, t0 := sink.received.Load(), time.Now()
	time.Sleep(time.Until(deadline))
	got, t1 := sink.received.Load(), time.Now()
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return float64(got-start) / t1.Sub(t0).Seconds() / 1e6, nil
}

// latencies collects request durations and summarises them.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(part []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, part...)
	l.mu.Unlock()
}

// quantile is the q-quantile in microseconds.
func (l *latencies) quantile(q float64) float64 {
	if len(l.all) == 0 {
		return 0
	}
	i := min(int(q*float64(len(l.all))), len(l.all)-1)
	return float64(l.all[i]) / float64(time.Microsecond)
}

// rrResult is a request/response run: requests per second and latency
// quantiles in µs.
type rrResult struct {
	rps, p50, p99, p999 float64
}

// requestResponse keeps n connections each sending a 64-byte request and
// waiting for its 64-byte echo, for d.
func requestResponse(addr string, n int, d time.Duration) (rrResult, error) {
	var lat latencies
	var total atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return rrResult{}, err
		}
		defer c.Close()
		conns[i] = c
	}
	start := time.Now()
	deadline := start.Add(d)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := make([]byte, msgSize), make([]byte, msgSize)
			own := make([]time.Duration, 0, 1<<16)
			for {
				t := time.Now()
				if !t.Before(deadline) {
					break
				}
				c.SetDeadline(t.Add(5 * time.Second))
				if _, err := c.Write(req); err != nil {
					firstErr.CompareAndSwap(nil, err)
					break
				}
				if _, err := io.ReadFull(c, resp); err != nil {
					firstErr.CompareAndSwap(nil, err)
					break
				}
				own = append(own, time.Since(t))
			}
			total.Add(int64(len(own)))
			lat.add(own)
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return rrResult{}, err
	}
	slices.Sort(lat.all)
	return rrResult{
		rps: float64(total.Load()) / time.Since(start).Seconds(),
		p50: lat.quantile(0.5), p99: lat.quantile(0.99), p999: lat.quantile(0.999),
	}, nil
}

// connRate runs n clients that each connect, exchange 64 bytes and close,
// in a loop, for d; it returns connections per second and how many were
// made. Clients use source addresses across 127.0.0.0/8 so that closed
// connections waiting in TIME_WAIT do not exhaust one address's ports.
func connRate(addr string, n int, d time.Duration) (float64, int64, error) {
	var total atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, msgSize)
			for k := 0; time.Now().Before(deadline); k++ {
				src := &net.TCPAddr{IP: net.IPv4(127, byte(1+i%8), byte(k>>8), byte(1+k%250))}
				dialer := net.Dialer{LocalAddr: src, Timeout: 5 * time.Second}
				c, err := dialer.Dial("tcp", addr)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Write(buf)
				if err == nil {
					_, err = io.ReadFull(c, buf)
				}
				c.Close()
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, 0, fmt.Errorf("after %d connections: %w", total.Load(), err)
	}
	return float64(total.Load()) / time.Since(start).Seconds(), total.Load(), nil
}

// idleConns opens n connections through addr, waits until the server
// behind has them all, and returns them (the caller closes them).
func idleConns(addr string, n int, backend *server) ([]net.Conn, error) {
	before := backend.open.Load()
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			closeAll(conns)
			ents, _ := os.ReadDir("/proc/self/fd")
			return nil, fmt.Errorf("after %d connections (%d descriptors open here, %d on the server): %w", len(conns), len(ents), backend.open.Load(), err)
		}
		conns = append(conns, c)
	}
	for end := time.Now().Add(30 * time.Second); backend.open.Load()-before < int64(n); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			closeAll(conns)
			return nil, fmt.Errorf("only %d of %d connections reached the server", backend.open.Load()-before, n)
		}
	}
	return conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
