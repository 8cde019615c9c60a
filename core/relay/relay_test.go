package relay

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// proxy is a one-frontend proxy built on the engine: every connection
// to Addr is relayed to the server at to.
type proxy struct {
	Addr    string
	results chan Result
	in, out atomic.Int64
}

func startProxy(t *testing.T, to string, o Options) *proxy {
	t.Helper()
	e := newEngine(t, 2) // closed last: after the watch and the listener
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{Addr: ln.Addr().String(), results: make(chan Result, 100)}
	o.In, o.Out = []*atomic.Int64{&p.in}, []*atomic.Int64{&p.out}
	rl, err := Detach(ln)
	if err != nil {
		t.Fatal(err)
	}
	// Accept on the loops, as pivotd does.
	w, err := e.Watch(rl.FD(), func(on *Loop) bool {
		for {
			fd, _, err := rl.TryAccept()
			if err != nil {
				return false
			}
			_, err = e.Dial(on, netip.MustParseAddrPort(to), time.Second, fd, o, handler{func(err error) {
				if err != nil {
					Close(fd)
				}
			}, func(r Result) { p.results <- r }})
			if err != nil {
				Close(fd)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Stop()
		rl.Close()
	})
	return p
}

// acceptOne takes the test's client from rl, which it reaches within 5 s.
func acceptOne(t *testing.T, rl *Listener) (int, netip.AddrPort) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		fd, peer, err := rl.TryAccept()
		if err == nil {
			return fd, peer
		}
		if !errors.Is(err, unix.EAGAIN) || time.Now().After(deadline) {
			t.Fatalf("accepting the test client: %v", err)
		}
	}
}

// handler is a Handler made of two functions.
type handler struct {
	connected func(error)
	ended     func(Result)
}

func (h handler) Connected(err error) { h.connected(err) }
func (h handler) Ended(r Result)      { h.ended(r) }

func (p *proxy) result(t *testing.T) Result {
	t.Helper()
	select {
	case r := <-p.results:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the session did not end within 5s")
		return Result{}
	}
}

// newEngine starts n loops, closed when the test ends.
func newEngine(t *testing.T, n int) *Engine {
	t.Helper()
	e, err := New(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// server runs fn for each connection to a loopback listener.
func server(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	addr, err := serverOn(t, "tcp", "127.0.0.1", fn)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// serverOn is server on another loopback address, which may not exist.
func serverOn(t *testing.T, network, host string, fn func(net.Conn)) (string, error) {
	ln, err := net.Listen(network, host+":0")
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fn(c)
			}()
		}
	}()
	return ln.Addr().String(), nil
}

func echo(c net.Conn) { io.Copy(c, c) }

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

func TestSmallMessagesEchoInOrder(t *testing.T) {
	p := startProxy(t, server(t, echo), Options{})
	c := dial(t, p.Addr)
	buf := make([]byte, 64)
	for i := range 1000 {
		msg := bytes.Repeat([]byte{byte(i)}, 64)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(buf, msg) {
			t.Fatalf("message %d came back as %x", i, buf[:4])
		}
	}
	c.Close()
	if r := p.result(t); r.Term != "" || r.Killed {
		t.Errorf("a clean close ended as %+v", r)
	}
	if p.in.Load() != 64000 || p.out.Load() != 64000 {
		t.Errorf("counted %d in, %d out; want 64000 each", p.in.Load(), p.out.Load())
	}
}

// TestBulkBothWaysWithHalfClose sends 32 MiB (spliced) while the server
// answers with a digest only after the client's half-close: the EOF must
// be passed on once every byte is through.
func TestBulkBothWaysWithHalfClose(t *testing.T) {
	addr := server(t, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		c.Write([]byte(time.Duration(n).String()))
	})
	p := startProxy(t, addr, Options{ClientIdle: 5 * time.Second, ServerIdle: 5 * time.Second})
	c := dial(t, p.Addr)
	data := make([]byte, 32<<20)
	rand.Read(data)
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Duration(len(data)).String(); string(got) != want {
		t.Fatalf("server saw %q bytes, want %q", got, want)
	}
	if r := p.result(t); r.Term != "" {
		t.Errorf("ended as %+v", r)
	}
}

// TestClientDoneBeforeConnect: what a client sent and its half-close,
// both waiting before the server was even dialled, reach the server
// (read at once when the connect completes, before the client's socket
// is registered), and the answer comes back.
func TestClientDoneBeforeConnect(t *testing.T) {
	for _, size := range []int{64, 64 << 10} { // a message; more than the loop's buffer (splice)
		data := make([]byte, size)
		rand.Read(data)
		addr := server(t, func(c net.Conn) {
			got, _ := io.ReadAll(c)
			if bytes.Equal(got, data) {
				c.Write([]byte("intact"))
			} else {
				fmt.Fprintf(c, "%d bytes, not the %d sent", len(got), len(data))
			}
		})
		c, fd := acceptedClient(t)
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		c.CloseWrite()
		ended := make(chan Result, 1)
		_, err := newEngine(t, 1).Dial(nil, netip.MustParseAddrPort(addr), time.Second, fd, Options{}, handler{
			func(err error) {
				if err != nil {
					t.Errorf("connect: %v", err)
					Close(fd)
				}
			},
			func(r Result) { ended <- r }})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(c); err != nil || string(got) != "intact" {
			t.Fatalf("%d bytes: the server answered %q (%v)", size, got, err)
		}
		select {
		case r := <-ended:
			if r.Term != "" {
				t.Errorf("%d bytes: ended as %+v", size, r)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d bytes: the session did not end within 5s", size)
		}
	}
}

// TestServerToClientStream checks a large answer to a slow reader: held
// bytes wait for the client without loss.
func TestServerToClientStream(t *testing.T) {
	data := make([]byte, 8<<20)
	rand.Read(data)
	addr := server(t, func(c net.Conn) { c.Write(data) })
	p := startProxy(t, addr, Options{})
	c := dial(t, p.Addr)
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for got.Len() < len(data) {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
		if got.Len() < 1<<20 {
			time.Sleep(time.Millisecond) // a slow reader first: the proxy must hold
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("got %d bytes, not the %d sent", got.Len(), len(data))
	}
}

// TestPipeCount: a direction gets a pipe only while fewer than maxpipes
// are held; one given back is kept spare and taken again first.
func TestPipeCount(t *testing.T) {
	var pc pipeCount
	pc.limit.Store(1)
	l, err := newLoop(&pc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.stop()
	var d1, d2 dir
	count := func(step string, used, free int64) {
		t.Helper()
		if u, f := pc.used.Load(), pc.free.Load(); u != used || f != free {
			t.Errorf("%s: %d held and %d spare, want %d and %d", step, u, f, used, free)
		}
	}
	if !d1.takePipe(l) {
		t.Fatal("no pipe for the first direction")
	}
	if d2.takePipe(l) {
		t.Error("a second pipe with maxpipes 1")
	}
	count("one taken, one refused", 1, 0)
	d1.releasePipe(l)
	count("given back", 0, 1)
	if !d2.takePipe(l) || d2.pipe != d1.pipe {
		t.Error("the spare pipe was not taken again")
	}
	count("the spare taken", 1, 0)
	d2.releasePipe(l)
}

// TestMaxPipesStreamsCopy: streams that find every pipe held copy
// through the loop's buffer instead, and arrive intact; at most maxpipes
// pipes were ever made.
func TestMaxPipesStreamsCopy(t *testing.T) {
	e := newEngine(t, 1)
	e.SetMaxPipes(1)
	sums := make(chan string, 4)
	addr := server(t, func(c net.Conn) {
		got, _ := io.ReadAll(c)
		sums <- fmt.Sprintf("%x", sha256.Sum256(got))
	})
	data := make([]byte, 4<<20)
	rand.Read(data)
	want := fmt.Sprintf("%x", sha256.Sum256(data))
	var ends []chan Result
	for range 4 {
		_, c, connected, ended := relayOne(t, e, addr, time.Second)
		if err := <-connected; err != nil {
			t.Fatal(err)
		}
		go func() {
			c.Write(data)
			c.CloseWrite()
		}()
		ends = append(ends, ended)
	}
	for range 4 {
		if got := <-sums; got != want {
			t.Fatalf("a stream arrived altered (sha256 %s)", got)
		}
	}
	for _, ended := range ends {
		select {
		case r := <-ended:
			if r.Term != "" {
				t.Errorf("a stream ended as %+v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a stream did not end within 5s")
		}
	}
	if limit, used, spare := e.Pipes(); limit != 1 || used != 0 || spare > 1 {
		t.Errorf("after the streams: maxpipes %d, %d pipes held and %d spare; want 1, 0 and at most 1", limit, used, spare)
	}
}

func TestIdleTimeoutNamesTheSide(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"client", Options{ClientIdle: 100 * time.Millisecond, ServerIdle: time.Hour}, "cD"},
		{"server", Options{ClientIdle: time.Hour, ServerIdle: 100 * time.Millisecond}, "sD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, server(t, echo), tc.o)
			start := time.Now() // before the session begins: its timeout cannot come sooner
			c := dial(t, p.Addr)
			if r := p.result(t); r.Term != tc.want {
				t.Errorf("ended as %+v, want %s", r, tc.want)
			}
			if took := time.Since(start); took < 100*time.Millisecond {
				t.Errorf("timed out after %v, before its 100ms", took)
			}
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Error("the client's connection is still open")
			}
		})
	}
}

// TestTrafficKeepsSessionAlive: messages every 30 ms keep a 100 ms
// timeout from firing.
func TestTrafficKeepsSessionAlive(t *testing.T) {
	p := startProxy(t, server(t, echo), Options{ClientIdle: 100 * time.Millisecond, ServerIdle: 100 * time.Millisecond})
	c := dial(t, p.Addr)
	buf := make([]byte, 1)
	for range 10 {
		time.Sleep(30 * time.Millisecond)
		c.Write([]byte("x"))
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("cut while active: %v", err)
		}
	}
}

func TestServerResetIsServerSide(t *testing.T) {
	addr := server(t, func(c net.Conn) {
		c.Read(make([]byte, 1))
		c.(*net.TCPConn).SetLinger(0)
	})
	p := startProxy(t, addr, Options{})
	c := dial(t, p.Addr)
	c.Write([]byte("x"))
	if r := p.result(t); r.Term != "SD" || r.Side != 'S' {
		t.Errorf("ended as %+v, want SD", r)
	}
}

// acceptedClient connects a new test client to a listener of its own and
// accepts it as pivotd does: the client's end, and the accepted socket.
func acceptedClient(t *testing.T) (*net.TCPConn, int) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, ln.Addr().String())
	rl, err := Detach(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	fd, _ := acceptOne(t, rl)
	return c, fd
}

// relayOne accepts one connection from a new client and dials addr for
// it; it returns the session, the client's end and the two outcomes.
func relayOne(t *testing.T, e *Engine, addr string, timeout time.Duration) (*Session, *net.TCPConn, chan error, chan Result) {
	t.Helper()
	c, fd := acceptedClient(t)
	connected, ended := make(chan error, 1), make(chan Result, 1)
	s, err := e.Dial(nil, netip.MustParseAddrPort(addr), timeout, fd, Options{}, handler{
		func(err error) {
			if err != nil {
				Close(fd)
			}
			connected <- err
		},
		func(r Result) { ended <- r }})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, connected, ended
}

func TestKill(t *testing.T) {
	e := newEngine(t, 1)
	s, _, connected, ended := relayOne(t, e, server(t, echo), 0)
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
	s.Kill()
	s.Kill()
	select {
	case r := <-ended:
		if !r.Killed {
			t.Errorf("ended as %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("kill did not end the session")
	}
}

func TestConnectRefused(t *testing.T) {
	e := newEngine(t, 1)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, _, connected, _ := relayOne(t, e, addr, 0)
	if err := <-connected; !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("connect to a closed port: %v, want ECONNREFUSED", err)
	}
}

// unanswered returns a loopback address whose SYNs go unanswered: a
// listener whose backlog is full and that never accepts.
func unanswered(t *testing.T) string {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	rc, _ := ln.SyscallConn()
	rc.Control(func(fd uintptr) { unix.Listen(int(fd), 0) })
	for range 8 { // fill the backlog
		if c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return ln.Addr().String()
}

// TestConnectTimeout: the loop gives up a connect at its deadline, with
// a timeout error.
func TestConnectTimeout(t *testing.T) {
	e := newEngine(t, 1)
	addr := unanswered(t)
	start := time.Now()
	_, _, connected, _ := relayOne(t, e, addr, 200*time.Millisecond)
	if err := <-connected; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connect ended with %v, want a timeout", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 2*time.Second {
		t.Errorf("timed out after %v, want ~200ms", took)
	}
}

func TestKillWhileConnecting(t *testing.T) {
	e := newEngine(t, 1)
	s, _, connected, _ := relayOne(t, e, unanswered(t), 0)
	s.Kill()
	select {
	case err := <-connected:
		if !errors.Is(err, ErrKilled) {
			t.Fatalf("connect ended with %v, want ErrKilled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("kill did not end the connect")
	}
}

// TestPick: a session stays on the loop that accepted it unless another
// loop has fewer sessions by more than one.
func TestPick(t *testing.T) {
	e := newEngine(t, 2)
	a, b := e.loops[0], e.loops[1]
	for _, c := range []struct {
		a, b int64
		want *Loop
	}{
		{0, 0, a}, {1, 0, a}, {2, 0, b}, {5, 4, a}, {6, 4, b}, {0, 9, a},
	} {
		a.sessions.Store(c.a)
		b.sessions.Store(c.b)
		if got := e.pick(a); got != c.want {
			t.Errorf("accepted on a with %d and %d sessions: went to loop %p; want %p", c.a, c.b, got, c.want)
		}
	}
	a.sessions.Store(0)
	b.sessions.Store(0)
	if e.pick(nil) == e.pick(nil) {
		t.Error("without an accepting loop, the loops do not take turns")
	}
}

// TestTryAcceptPeer: the client's address and port, as the kernel gave
// them, the port it connected to, and Nagle off (inherited from the
// listening socket), over IPv4 and IPv6.
func TestTryAcceptPeer(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		host := map[string]string{"tcp4": "127.0.0.1", "tcp6": "[::1]"}[network]
		ln, err := net.Listen(network, host+":0")
		if err != nil {
			t.Logf("%s: %v (no loopback for it here)", network, err)
			continue
		}
		rl, err := Detach(ln.(*net.TCPListener))
		if err != nil {
			t.Fatal(err)
		}
		defer rl.Close()
		c, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fd, peer := acceptOne(t, rl)
		port := LocalPort(fd)
		nodelay, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
		Close(fd)
		if err != nil || nodelay == 0 {
			t.Errorf("%s: accepted socket's TCP_NODELAY %d (%v); want it inherited from the listener", network, nodelay, err)
		}
		if want := ln.Addr().(*net.TCPAddr).Port; port != want {
			t.Errorf("%s: LocalPort %d; want %d", network, port, want)
		}
		if want := c.LocalAddr().(*net.TCPAddr).AddrPort(); peer != want {
			t.Errorf("%s: peer %v; want %v", network, peer, want)
		}
	}
}

// TestDialAddressFamilies: a server's IPv4, IPv4-mapped and IPv6
// addresses are each reached over the family they name, the mapped one
// over IPv4 (the connect writes the socket address itself).
func TestDialAddressFamilies(t *testing.T) {
	// whereAmI answers with the address the connection reached.
	whereAmI := func(network, host string) (string, bool) {
		addr, err := serverOn(t, network, host, func(c net.Conn) { io.WriteString(c, c.LocalAddr().String()) })
		if err != nil {
			t.Logf("%s: %v (no loopback for it here)", network, err)
		}
		return addr, err == nil
	}
	v4, _ := whereAmI("tcp4", "127.0.0.1")
	_, port, _ := net.SplitHostPort(v4)
	cases := map[string]string{ // dialled → reached
		v4:                           v4,
		"[::ffff:127.0.0.1]:" + port: v4,
	}
	if v6, ok := whereAmI("tcp6", "[::1]"); ok {
		cases[v6] = v6
	}
	for to, want := range cases {
		p := startProxy(t, to, Options{})
		got, err := io.ReadAll(dial(t, p.Addr))
		if err != nil || string(got) != want {
			t.Errorf("relaying to %s reached %q (%v); want %s", to, got, err, want)
		}
	}
}
