package test

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The data path: bytes intact, half-close, idle timeouts, retries and
// redispatch, queues and connection limits.

func TestDataIntegrity(t *testing.T) {
	t.Parallel()
	const size = 8 << 20
	payload := make([]byte, size)
	rand.Read(payload)
	want := sha(payload)

	t.Run("echo both ways", func(t *testing.T) {
		t.Parallel()
		_, fe := startOneServer(t, startBackend(t, "s1"))
		c := dial(t, fe)
		if got := c.greeting(); got != "s1" {
			t.Fatalf("greeting %q; want %q", got, "s1")
		}
		errc := make(chan error, 1)
		go func() {
			_, err := c.conn.Write(payload)
			if err == nil {
				err = c.conn.CloseWrite()
			}
			errc <- err
		}()
		n, sum := c.readAllHashed(30 * time.Second)
		if err := <-errc; err != nil {
			t.Fatalf("sending: %v", err)
		}
		if n != size || sum != want {
			t.Errorf("echo: got %d bytes sha256 %s; want %d bytes sha256 %s", n, sum, size, want)
		}
	})

	t.Run("server to client", func(t *testing.T) {
		t.Parallel()
		b := startBackendFunc(t, "src", func(_ *backend, c net.Conn) { c.Write(payload) })
		_, fe := startOneServer(t, b)
		n, sum := dial(t, fe).readAllHashed(30 * time.Second)
		if n != size || sum != want {
			t.Errorf("got %d bytes sha256 %s; want %d bytes sha256 %s", n, sum, size, want)
		}
	})

	t.Run("client to server", func(t *testing.T) {
		t.Parallel()
		_, fe := startOneServer(t, startBackendFunc(t, "s1", replyAtEOFHandler))
		c := dial(t, fe)
		c.conn.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.conn.Write(payload); err != nil {
			t.Fatal(err)
		}
		c.conn.CloseWrite()
		got, err := io.ReadAll(c.r)
		if err != nil {
			t.Fatal(err)
		}
		if w := fmt.Sprintf("s1 got %d bytes sha256 %s\n", size, want); string(got) != w {
			t.Errorf("server answered %q; want %q", got, w)
		}
	})
}

func TestServerClosesFirst(t *testing.T) {
	t.Parallel()
	closer := startBackendFunc(t, "s1", closerHandler)
	sink := startBackendFunc(t, "s2", sinkHandler)
	v := vars{"fe": freeAddr(t), "closer": closer.Addr, "fe2": freeAddr(t), "sink": sink.Addr}
	startPivot(t, baseDefaults+`
listen closer
    bind $fe
    server s1 $closer
listen sink
    bind $fe2
    server s2 $sink
`, v)
	t.Run("client sees the greeting then EOF", func(t *testing.T) {
		c := dial(t, v["fe"])
		if got := c.greeting(); got != "s1" {
			t.Fatalf("greeting %q; want s1", got)
		}
		if took := c.expectEOF(3 * time.Second); took > time.Second {
			t.Errorf("EOF after %v; want it as soon as the server closed", took)
		}
	})
	t.Run("server that only reads gets every byte", func(t *testing.T) {
		c := dial(t, v["fe2"])
		c.greeting()
		const size = 4 << 20
		if _, err := c.conn.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, func() error {
			if n := sink.received.Load(); n != size {
				return fmt.Errorf("server received %d bytes; want %d", n, size)
			}
			return nil
		})
	})
}

func sha(p []byte) string {
	h := newHasher()
	h.Write(p)
	return h.sum()
}

func TestHalfClose(t *testing.T) {
	t.Parallel()
	_, fe := startOneServer(t, startBackendFunc(t, "s1", replyAtEOFHandler))
	for _, msg := range []string{"", "hello\n", "a request without newline"} {
		t.Run(fmt.Sprintf("%d bytes", len(msg)), func(t *testing.T) {
			c := dial(t, fe)
			if _, err := io.WriteString(c.conn, msg); err != nil {
				t.Fatal(err)
			}
			if err := c.conn.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			// The server sees EOF only through pivot's half-close; its
			// answer must still come back on the open direction.
			c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
			got, err := io.ReadAll(c.r)
			if err != nil {
				t.Fatalf("reading the answer: %v (got %q)", err, got)
			}
			want := fmt.Sprintf("s1 got %d bytes sha256 %s\n", len(msg), sha([]byte(msg)))
			if string(got) != want {
				t.Errorf("got %q; want %q", got, want)
			}
		})
	}
}

func TestIdleTimeouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc           string
		client, server string
	}{
		{desc: "timeout client", client: "300ms", server: "10s"},
		{desc: "timeout server", client: "10s", server: "300ms"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b := startBackend(t, "s1")
			v := vars{"fe": freeAddr(t), "s1": b.Addr, "cli": tc.client, "srv": tc.server}
			startPivot(t, `
defaults
    mode tcp
    timeout connect 1s
    timeout client $cli
    timeout server $srv
`+oneServerApp, v)
			t.Run("idle session is cut", func(t *testing.T) {
				c := dial(t, v["fe"])
				c.greeting()
				took := c.expectEOF(5 * time.Second)
				if took < 200*time.Millisecond || took > 2*time.Second {
					t.Errorf("idle session closed after %v; want about 300ms", took)
				}
			})
			t.Run("busy session is kept", func(t *testing.T) {
				c := dial(t, v["fe"])
				c.greeting()
				start := time.Now()
				for i := 0; time.Since(start) < time.Second; i++ {
					c.roundTrip(fmt.Sprintf("ping %d\n", i))
					time.Sleep(100 * time.Millisecond) // data every 100ms, under the 300ms timeout
				}
				c.roundTrip("still there\n")
			})
		})
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	// Without option redispatch the client is closed once the retries are
	// spent, and the log line says why (SC refused, sC timed out).
	for _, tc := range []struct {
		desc             string
		server           func(testing.TB) string // the unreachable server's address
		connect          string                  // timeout connect
		retries          int
		minTook, maxTook time.Duration // maxTook 0: no bound but expectEOF's
		about            string        // the expected time, for the message
		wantLog          string        // regexp for the session's log line
		logWhy           string        // what wantLog means, for the message
	}{
		{
			desc: "no redispatch: client closed", server: deadAddr, connect: "200ms", retries: 2,
			// Two retries, each after a turn-around of min(1s, timeout connect).
			minTook: 300 * time.Millisecond,
			about:   "about 400ms (2 retries 200ms apart)",
			wantLog: ` app app/s1 -?\d+/-1/\d+ 0 SC \d+/\d+/\d+/\d+/2 0/0$`, logWhy: "server s1, Tc -1, SC, 2 retries",
		},
		{
			desc: "timeout connect", server: blackholeAddr, connect: "300ms", retries: 1,
			// Two attempts of 300ms each; a timed-out attempt is retried at once.
			minTook: 500 * time.Millisecond, maxTook: 3 * time.Second,
			about:   "about 600ms (2 connect timeouts of 300ms)",
			wantLog: ` app app/s1 -?\d+/-1/\d+ 0 sC \d+/\d+/\d+/\d+/1 0/0$`, logWhy: "sC: connect timeout, 1 retry",
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			v := vars{"fe": freeAddr(t), "s1": tc.server(t), "connect": tc.connect, "retries": strconv.Itoa(tc.retries)}
			p := startPivot(t, `
defaults
    mode tcp
    log stdout format raw local0
    option tcplog
    timeout connect $connect
    timeout client 10s
    timeout server 10s
listen app
    bind $fe
    retries $retries
    server s1 $s1
`, v)
			c := dial(t, v["fe"])
			took := c.expectEOF(10 * time.Second)
			if took < tc.minTook || (tc.maxTook > 0 && took > tc.maxTook) {
				t.Errorf("client closed after %v; want %s", took, tc.about)
			}
			line := waitLine(t, p.Stdout, 5*time.Second, fmt.Sprintf(`:%d \[`, c.localPort()))
			if !matches(tc.wantLog, line) {
				t.Errorf("log line %q; want it to match %q (%s)", line, tc.wantLog, tc.logWhy)
			}
		})
	}
	t.Run("redispatch: served by the live server", func(t *testing.T) {
		t.Parallel()
		live := startBackend(t, "s2")
		v := vars{"fe": freeAddr(t), "dead": deadAddr(t), "live": live.Addr}
		startPivot(t, `
defaults
    mode tcp
    timeout connect 200ms
    timeout client 10s
    timeout server 10s
listen app
    bind $fe
    retries 2
    option redispatch
    server s1 $dead
    server s2 $live
`, v)
		got := map[string]int{}
		for i := range 6 {
			name, err := tryWho(v["fe"])
			if err != nil {
				t.Fatalf("connection %d: %v; want it served by s2 after redispatch", i+1, err)
			}
			got[name]++
		}
		if got["s2"] != 6 {
			t.Errorf("got %v; want all 6 connections served by s2", got)
		}
	})
}

func TestServerQueue(t *testing.T) {
	t.Parallel()
	// One slot: a second client waits in the queue for up to $queue.
	const app = `
listen app
    bind $fe
    timeout queue $queue
    server s1 $s1 maxconn 1
`
	t.Run("queued until a slot frees", func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, "s1")
		v := vars{"fe": freeAddr(t), "s1": b.Addr, "queue": "10s"}
		startPivot(t, baseDefaults+app, v)
		first := dial(t, v["fe"])
		first.greeting()
		second := dial(t, v["fe"])
		second.expectSilence(300 * time.Millisecond)
		if n := b.Active(); n != 1 {
			t.Errorf("server has %d connections while the second client waits; want 1 (maxconn 1)", n)
		}
		first.close()
		if got, err := second.tryGreeting(ioTimeout); err != nil || got != "s1" {
			t.Fatalf("queued client after the first left: got %q, %v; want greeting s1", got, err)
		}
		second.roundTrip("served\n")
	})
	t.Run("timeout queue", func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, "s1")
		v := vars{"fe": freeAddr(t), "s1": b.Addr, "queue": "300ms"}
		p := startPivot(t, baseDefaults+tcplogStdout+app, v)
		first := dial(t, v["fe"])
		first.greeting()
		second := dial(t, v["fe"])
		took := second.expectEOF(5 * time.Second)
		if took < 200*time.Millisecond || took > 2*time.Second {
			t.Errorf("queued client closed after %v; want about 300ms", took)
		}
		first.roundTrip("first still served\n")
		line := waitLine(t, p.Stdout, 5*time.Second, fmt.Sprintf(`:%d \[`, second.localPort()))
		if want := ` app app/<NOSRV> \d+/-1/\d+ 0 sQ `; !matches(want, line) {
			t.Errorf("log line %q; want it to match %q", line, want)
		}
	})
}

func TestFrontendMaxconn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		cfg  string // sections before the backend; $fe and $fe2 are free addresses
		// second is where the second client connects; the first and the
		// third connect to $fe.
		second string
	}{
		{desc: "frontend maxconn", second: "fe", cfg: `
frontend fe
    bind $fe
    maxconn 2
    default_backend be
`},
		{desc: "frontend maxconn over two binds", second: "fe2", cfg: `
frontend fe
    bind $fe
    bind $fe2
    maxconn 2
    default_backend be
`},
		{desc: "global maxconn", second: "fe2", cfg: `
global
    maxconn 2
` + baseDefaults + `
frontend fe
    bind $fe
    default_backend be
frontend fe2
    bind $fe2
    default_backend be
`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b := startBackend(t, "s1")
			v := vars{"fe": freeAddr(t), "fe2": freeAddr(t), "s1": b.Addr}
			cfg := tc.cfg
			if !strings.Contains(cfg, "defaults") {
				cfg = baseDefaults + cfg
			}
			p := startPivot(t, cfg+`
backend be
    server s1 $s1
`, v)
			a := dial(t, v["fe"])
			a.greeting()
			bc := dial(t, v[tc.second])
			if got, err := bc.tryGreeting(ioTimeout); err != nil {
				t.Fatalf("second client (on %s): %v; want it served (limit 2)\nstderr:\n%s", v[tc.second], err, p.Stderr)
			} else if got != "s1" {
				t.Fatalf("second client greeted by %q; want s1", got)
			}
			c := dial(t, v["fe"])
			c.expectSilence(300 * time.Millisecond)
			a.close()
			if got, err := c.tryGreeting(ioTimeout); err != nil || got != "s1" {
				t.Fatalf("third client (on %s) after the first left: got %q, %v; want greeting s1", v["fe"], got, err)
			}
			c.roundTrip("ok\n")
			bc.roundTrip("ok\n")
		})
	}
}

// TestGlobalMaxconnSharedByFrontends checks that a free slot under the
// global limit goes to whichever frontend has a client waiting: with
// `maxconn 1`, sequential clients of two frontends are all served.
func TestGlobalMaxconnSharedByFrontends(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "s1")
	v := vars{"fe": freeAddr(t), "fe2": freeAddr(t), "s1": b.Addr}
	p := startPivot(t, `
global
    maxconn 1
`+baseDefaults+`
frontend fe
    bind $fe
    default_backend be
frontend fe2
    bind $fe2
    default_backend be
backend be
    server s1 $s1
`, v)
	for i := range 4 {
		for _, fe := range []string{"fe", "fe2"} {
			c := dial(t, v[fe])
			if _, err := c.tryGreeting(2 * time.Second); err != nil {
				t.Fatalf("client %d of %s (%s), alone: %v; want it served (global maxconn 1, nothing else running)\nstderr:\n%s", i+1, fe, v[fe], err, p.Stderr)
			}
			c.close()
			waitActive(t, b, 0)
		}
	}
}
