package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The control plane: how fast the admin socket answers, alone and under
// load, and whether a change obeys at once.

// adminRun sends one command to an admin socket and returns the answer.
func adminRun(sock, cmd string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// timed runs cmd n times and returns the durations, sorted.
func timed(sock, cmd string, n int, check func(string) error) ([]time.Duration, error) {
	var d []time.Duration
	for range n {
		t := time.Now()
		out, err := adminRun(sock, cmd)
		if err == nil {
			err = check(out)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		d = append(d, time.Since(t))
	}
	slices.Sort(d)
	return d, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// showStatTime is the median time to get a whole `show stat`, whose
// configuration has a backend of 1,000 servers.
func showStatTime(t *target, n int) (float64, error) {
	d, err := timed(t.sock, "show stat", n, func(out string) error {
		if c := strings.Count(out, "\nmany,"); c < 1000 {
			return fmt.Errorf("%d rows of backend many, want 1001", c)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return ms(d[len(d)/2]), nil
}

// pacedLoad opens rate connections per second to addr (connect, 64
// bytes each way, close) until stop closes; it returns how many it made.
func pacedLoad(addr string, rate int, stop <-chan struct{}) func() int64 {
	tokens := make(chan struct{}, rate)
	var made atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(tokens)
		interval := time.Second / time.Duration(rate)
		next := time.Now()
		for {
			select {
			case <-stop:
				return
			default:
			}
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			select {
			case tokens <- struct{}{}:
			default: // the workers are behind: the rate is what they manage
			}
		}
	}()
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, msgSize)
			k := 0
			for range tokens {
				k++
				src := &net.TCPAddr{IP: net.IPv4(127, byte(10+i%8), byte(k>>8), byte(1+k%250))}
				d := net.Dialer{LocalAddr: src, Timeout: 2 * time.Second}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					continue
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Write(buf); err == nil {
					if _, err := io.ReadFull(c, buf); err == nil {
						made.Add(1)
					}
				}
				c.Close()
			}
		}()
	}
	return func() int64 { wg.Wait(); return made.Load() }
}

// setServerUnderLoad times `set server` answers while 5,000 connections
// per second go through the target; it returns the p50 and p99 in ms and
// the connection rate reached.
func setServerUnderLoad(t *target, d time.Duration) (p50, p99, rate float64, err error) {
	stop := make(chan struct{})
	start := time.Now()
	wait := pacedLoad(t.echo, 5000, stop)
	time.Sleep(200 * time.Millisecond)
	var lat []time.Duration
	for time.Since(start) < d {
		l, err := timed(t.sock, "set server many/s1 weight 1", 1, func(out string) error {
			if strings.TrimSpace(out) != "" {
				return fmt.Errorf("answer %q", out)
			}
			return nil
		})
		if err != nil {
			close(stop)
			wait()
			return 0, 0, 0, err
		}
		lat = append(lat, l...)
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	made := wait()
	slices.Sort(lat)
	return ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), float64(made) / time.Since(start).Seconds(), nil
}

// maintObeys puts flip/s1 in maintenance while clients connect in a loop
// and returns how many connections that started after the command
// answered still reached s1 (must be 0), and how long after the answer
// the last connection reached it (in-flight ones included), in ms.
func maintObeys(t *target) (late int64, last float64, err error) {
	defer adminRun(t.sock, "set server flip/s1 state ready")
	var answered atomic.Int64 // unix ns; 0 until the command answered
	var lateCount, lastA atomic.Int64
	var failed atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				began := time.Now().UnixNano()
				c, err := net.DialTimeout("tcp", t.flip, 2*time.Second)
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				name, _ := bufio.NewReader(c).ReadString('\n')
				c.Close()
				if name != "A\n" {
					continue
				}
				now := time.Now().UnixNano()
				for {
					old := lastA.Load()
					if now <= old || lastA.CompareAndSwap(old, now) {
						break
					}
				}
				if a := answered.Load(); a != 0 && began > a {
					lateCount.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if out, err := adminRun(t.sock, "set server flip/s1 state maint"); err != nil || strings.TrimSpace(out) != "" {
		close(stop)
		wg.Wait()
		return 0, 0, fmt.Errorf("set server flip/s1 state maint: %q %v", out, err)
	}
	at := time.Now().UnixNano()
	answered.Store(at)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if e, ok := failed.Load().(error); ok {
		return 0, 0, e
	}
	return lateCount.Load(), max(0, float64(lastA.Load()-at)/1e6), nil
}
