// Package test holds pivot's end-to-end tests: they build pivotd once,
// start it with inline configurations against real TCP backends on
// 127.0.0.1, and assert only what a user sees on the wire, in the logs and
// in the exit status.
package test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pivotdBin and pivotctlBin are the binaries the tests run, built once.
var pivotdBin, pivotctlBin string

// repoRoot is the module root, where ./cmd/pivotd and docs/ live.
var repoRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(wd)
}()

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pivot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test:", err)
		os.Exit(2)
	}
	pivotdBin = filepath.Join(dir, "pivotd")
	pivotctlBin = filepath.Join(dir, "pivotctl")
	for bin, pkg := range map[string]string{pivotdBin: "./cmd/pivotd", pivotctlBin: "./cmd/pivotctl"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "test: building %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(2)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitFor retries try until it returns nil or d passes, then fails the test
// with try's last error.
func waitFor(t testing.TB, d time.Duration, try func() error) {
	t.Helper()
	var err error
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if err = try(); err == nil {
			return
		}
	}
	t.Fatalf("after %v: %v", d, err)
}

// ioTimeout bounds every read a test expects to succeed.
const ioTimeout = 5 * time.Second

// ---------------------------------------------------------------------------
// Backends

// backend is a TCP server on 127.0.0.1 that a test can stop and start again
// on the same port, to play a server that dies and comes back.
type backend struct {
	t      testing.TB
	Name   string
	Addr   string // 127.0.0.1:PORT, fixed for the backend's life
	handle func(b *backend, c net.Conn)

	accepted atomic.Int64 // connections accepted, health checks included
	received atomic.Int64 // bytes read by handlers that count them

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// startBackend starts a server that greets each connection with "NAME\n"
// and then echoes every byte back.
func startBackend(t testing.TB, name string) *backend {
	t.Helper()
	return startBackendFunc(t, name, echoHandler)
}

// startBackendFunc starts a server whose connections are handled by h; the
// connection is closed when h returns.
func startBackendFunc(t testing.TB, name string, h func(b *backend, c net.Conn)) *backend {
	t.Helper()
	b := &backend{t: t, Name: name, handle: h, conns: map[net.Conn]bool{}}
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

func echoHandler(b *backend, c net.Conn) {
	if _, err := io.WriteString(c, b.Name+"\n"); err != nil {
		return
	}
	io.Copy(c, c)
}

// silentHandler accepts and never answers; it reads until the peer closes.
func silentHandler(b *backend, c net.Conn) {
	countBytes(b, c)
}

// countBytes reads c until EOF or an error, counting in b.received as it
// goes.
func countBytes(b *backend, c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		b.received.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// sinkHandler greets, then reads and counts every byte without answering.
func sinkHandler(b *backend, c net.Conn) {
	if _, err := io.WriteString(c, b.Name+"\n"); err != nil {
		return
	}
	countBytes(b, c)
}

// closerHandler greets and closes at once.
func closerHandler(b *backend, c net.Conn) {
	io.WriteString(c, b.Name+"\n")
}

// replyAtEOFHandler reads until the client's half-close, then answers
// "NAME got N bytes sha256 HEX\n" and closes.
func replyAtEOFHandler(b *backend, c net.Conn) {
	h := newHasher()
	n, err := io.Copy(h, c)
	b.received.Add(n)
	if err != nil {
		return
	}
	fmt.Fprintf(c, "%s got %d bytes sha256 %s\n", b.Name, n, h.sum())
}

// Start listens again on the backend's address (a free one the first time).
func (b *backend) Start() {
	b.t.Helper()
	addr := b.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for end := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ln, err = net.Listen("tcp", addr); err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		b.t.Fatalf("backend %s: listen %s: %v", b.Name, addr, err)
	}
	b.mu.Lock()
	b.ln = ln
	b.Addr = ln.Addr().String()
	b.mu.Unlock()
	b.wg.Add(1)
	go b.acceptLoop(ln)
}

func (b *backend) acceptLoop(ln net.Listener) {
	defer b.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b.accepted.Add(1)
		b.mu.Lock()
		b.conns[c] = true
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.handle(b, c)
			c.Close()
			b.mu.Lock()
			delete(b.conns, c)
			b.mu.Unlock()
		}()
	}
}

// CloseListener stops accepting (new connections and health checks are
// refused) but keeps the connections already open.
func (b *backend) CloseListener() {
	b.mu.Lock()
	ln := b.ln
	b.ln = nil
	b.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// Stop kills the server: the listener and every open connection close.
func (b *backend) Stop() {
	b.CloseListener()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// Active is the number of connections open on the server now.
func (b *backend) Active() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// Accepted is the number of connections the server has accepted.
func (b *backend) Accepted() int64 { return b.accepted.Load() }

// Port is the backend's port number.
func (b *backend) Port() string {
	_, p, _ := net.SplitHostPort(b.Addr)
	return p
}

// deadAddr returns a 127.0.0.1 address where nothing listens: connecting
// to it is refused.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// freeAddr returns a 127.0.0.1 address free for pivotd to bind: a port
// below 32768, outside the kernel's ephemeral range (so no outgoing
// connection takes it meanwhile), never handed out twice in one run.
func freeAddr(t testing.TB) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		port := 20000 + rand.IntN(12768)
		if portsUsed[port] {
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		portsUsed[port] = true
		return addr
	}
	t.Fatal("no free port below 32768")
	return ""
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// blackholeAddr returns a listening address whose accept queue is full and
// never drained, so that new SYNs are dropped and connecting times out.
func blackholeAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the accept queue until a connect times out.
	for i := 0; i < 16; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatalf("could not fill the accept queue of %s", addr)
	return ""
}

// ---------------------------------------------------------------------------
// pivotd

// syncBuffer collects a child's output; safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the complete lines written so far.
func (s *syncBuffer) lines() []string {
	text := s.String()
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	} else {
		return nil
	}
	return strings.Split(text, "\n")
}

// vars are the $NAME placeholders of a configuration.
type vars map[string]string

// expand replaces $NAME by vars[NAME], longest names first so that $s10
// is not read as $s1 followed by 0. Other $ and ${...} are left alone.
func expand(text string, v vars) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, "$"+k, v[k])
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// pivot is a running pivotd.
type pivot struct {
	t       testing.TB
	cmd     *exec.Cmd
	Config  string // path of the (first) configuration file
	Stdout  *syncBuffer
	Stderr  *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// pivotOpts start a pivotd with more than one inline configuration.
type pivotOpts struct {
	args []string // extra arguments before the -f ones
	env  []string // extra environment variables
	// paths, when set, are passed as -f instead of a file written from
	// the configuration text.
	paths []string
	// noWait skips waiting for the binds (for a start that must fail).
	noWait bool
	// bin runs this pivotd binary instead of the one built for the tests.
	bin string
}

// startPivot writes cfg (with $NAME placeholders expanded) to a temporary
// file, runs pivotd -f on it and waits until every bind address listens.
// At cleanup it sends SIGTERM and requires exit status 0 within 5s.
func startPivot(t testing.TB, cfg string, v vars) *pivot {
	t.Helper()
	return startPivotOpts(t, expand(cfg, v), pivotOpts{})
}

func startPivotOpts(t testing.TB, cfg string, o pivotOpts) *pivot {
	t.Helper()
	p := &pivot{t: t, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, done: make(chan struct{})}
	paths := o.paths
	if paths == nil {
		p.Config = filepath.Join(t.TempDir(), "pivot.cfg")
		if err := os.WriteFile(p.Config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = []string{p.Config}
	} else {
		p.Config = paths[0]
	}
	args := slices.Clone(o.args)
	for _, path := range paths {
		args = append(args, "-f", path)
	}
	p.cmd = exec.Command(or(o.bin, pivotdBin), args...)
	p.cmd.Stdout, p.cmd.Stderr = p.Stdout, p.Stderr
	p.cmd.Env = append(os.Environ(), o.env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.cleanup)
	if o.noWait {
		return p
	}
	binds := bindAddrs(cfg)
	if o.paths != nil {
		binds = nil
		for _, path := range o.paths {
			binds = append(binds, bindAddrsOfPath(t, path)...)
		}
	}
	waitFor(t, 10*time.Second, func() error {
		if p.exited() {
			return fmt.Errorf("pivotd exited during start-up (%v); stderr:\n%s", p.waitErr, p.Stderr)
		}
		for _, a := range binds {
			if !listening(a) {
				return fmt.Errorf("pivotd does not listen on %s yet; stderr:\n%s", a, p.Stderr)
			}
		}
		return nil
	})
	return p
}

func bindAddrsOfPath(t testing.TB, path string) []string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{path}
	if st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*.cfg"))
	}
	var binds []string
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			continue
		}
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		binds = append(binds, bindAddrs(string(text))...)
	}
	return binds
}

// bindAddrs lists the addresses of the bind lines of a configuration.
func bindAddrs(cfg string) []string {
	var addrs []string
	for _, line := range strings.Split(cfg, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "bind" {
			addrs = append(addrs, strings.Split(f[1], ",")...)
		}
	}
	return addrs
}

// listening reports whether some socket is in LISTEN state on addr's
// port, read from /proc so that no connection disturbs the balancing.
func listening(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	want := fmt.Sprintf(":%04X", n)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				return true
			}
		}
	}
	return false
}

func (p *pivot) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Pid is the daemon's process id.
func (p *pivot) Pid() int { return p.cmd.Process.Pid }

// signal sends sig to the daemon.
func (p *pivot) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits up to d for the daemon to exit and returns its exit status
// (-1 if killed by a signal); it fails the test if it does not exit.
func (p *pivot) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("pivotd did not exit within %v; stderr:\n%s", d, p.Stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *pivot) cleanup() {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if code := p.cmd.ProcessState.ExitCode(); code != 0 {
				p.t.Errorf("pivotd exited with status %d after SIGTERM; want 0 (%v)", code, p.waitErr)
			}
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			p.t.Errorf("pivotd did not exit within 5s of SIGTERM")
		}
	}
	if p.t.Failed() {
		p.t.Logf("pivotd stdout:\n%s", p.Stdout)
		p.t.Logf("pivotd stderr:\n%s", p.Stderr)
	}
}

// waitLine waits until a complete line of buf matches re and returns it.
func waitLine(t testing.TB, buf *syncBuffer, d time.Duration, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	var got string
	waitFor(t, d, func() error {
		for _, l := range buf.lines() {
			if rx.MatchString(l) {
				got = l
				return nil
			}
		}
		return fmt.Errorf("no line matches %q in:\n%s", re, buf)
	})
	return got
}

// matchingLines returns the complete lines of buf matching re.
func matchingLines(buf *syncBuffer, re string) []string {
	rx := regexp.MustCompile(re)
	var out []string
	for _, l := range buf.lines() {
		if rx.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// runPivotd runs pivotd to completion (for -c) and returns its output and
// exit status.
func runPivotd(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(pivotdBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Env = append(os.Environ(), env...)
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("pivotd %q did not exit within 10s; stderr:\n%s", args, e.String())
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// writeFile writes text to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ---------------------------------------------------------------------------
// Clients

// client is a connection to a frontend.
type client struct {
	t    testing.TB
	conn *net.TCPConn
	r    *bufio.Reader
}

// dial connects to addr and closes the connection at cleanup.
func dial(t testing.TB, addr string) *client {
	t.Helper()
	return dialFrom(t, "", addr)
}

// dialerFrom is a dialer with the ioTimeout that connects from the local
// IP address local ("" for any).
func dialerFrom(local string) *net.Dialer {
	d := &net.Dialer{Timeout: ioTimeout}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	return d
}

// dialFrom connects to addr from the local IP address local ("" for any).
func dialFrom(t testing.TB, local, addr string) *client {
	t.Helper()
	d := dialerFrom(local)
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c.(*net.TCPConn), r: bufio.NewReader(c)}
}

// greeting reads the server's greeting line and returns its name.
func (c *client) greeting() string {
	c.t.Helper()
	s, err := c.tryGreeting(ioTimeout)
	if err != nil {
		c.t.Fatalf("reading the greeting: %v", err)
	}
	return s
}

// tryGreeting reads one line within d.
func (c *client) tryGreeting(d time.Duration) (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	defer c.conn.SetReadDeadline(time.Time{})
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// roundTrip sends msg and requires the same bytes back (echo servers).
func (c *client) roundTrip(msg string) {
	c.t.Helper()
	if err := c.tryRoundTrip(msg); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) tryRoundTrip(msg string) error {
	c.conn.SetDeadline(time.Now().Add(ioTimeout))
	defer c.conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(c.conn, msg); err != nil {
		return fmt.Errorf("sending %q: %v", msg, err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c.r, buf); err != nil {
		return fmt.Errorf("reading the echo of %q: %v", msg, err)
	}
	if string(buf) != msg {
		return fmt.Errorf("echo: got %q; want %q", buf, msg)
	}
	return nil
}

// expectEOF requires the connection to be closed by the other side within
// d, with no data (or with an RST), and returns how long that took.
func (c *client) expectEOF(d time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	c.conn.SetReadDeadline(start.Add(d))
	defer c.conn.SetReadDeadline(time.Time{})
	buf := make([]byte, 512)
	n, err := c.r.Read(buf)
	took := time.Since(start)
	switch {
	case n > 0:
		c.t.Fatalf("got %q; want the connection closed", buf[:n])
	case isTimeout(err):
		c.t.Fatalf("connection still open after %v; want it closed", d)
	case err == nil:
		c.t.Fatalf("read returned nothing and no error")
	}
	return took
}

// expectSilence requires no data and no close for d.
func (c *client) expectSilence(d time.Duration) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(d))
	defer c.conn.SetReadDeadline(time.Time{})
	buf := make([]byte, 512)
	n, err := c.r.Read(buf)
	switch {
	case n > 0:
		c.t.Fatalf("got %q within %v; want nothing yet", buf[:n], d)
	case !isTimeout(err):
		c.t.Fatalf("read within %v: %v; want the connection open and silent", d, err)
	}
}

// close closes the client connection.
func (c *client) close() { c.conn.Close() }

// localPort is the client's own port, as logs show it.
func (c *client) localPort() int { return c.conn.LocalAddr().(*net.TCPAddr).Port }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// who connects to addr, reads the greeting (the name of the server that
// answered) and closes.
func who(t testing.TB, addr string) string {
	t.Helper()
	s, err := tryWho(addr)
	if err != nil {
		t.Fatalf("connection to %s: %v", addr, err)
	}
	return s
}

// tryWho is who without failing the test.
func tryWho(addr string) (string, error) {
	return tryWhoFrom("", addr)
}

func tryWhoFrom(local, addr string) (string, error) {
	d := dialerFrom(local)
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("no greeting: %v", err)
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// sequence makes n sequential connections and returns who answered each.
func sequence(t testing.TB, addr string, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = who(t, addr)
	}
	return out
}

// tally counts the answers of sequence.
func tally(seq []string) map[string]int {
	m := map[string]int{}
	for _, s := range seq {
		m[s]++
	}
	return m
}

// waitServes polls until a connection to addr is answered by want.
func waitServes(t testing.TB, addr, want string, d time.Duration) {
	t.Helper()
	waitFor(t, d, func() error {
		got, err := tryWho(addr)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("answered by %q; want %q", got, want)
		}
		return nil
	})
}

// hasher is a sha256 that reports its sum in hex.
type hasher struct{ hash.Hash }

func newHasher() *hasher { return &hasher{sha256.New()} }

func (h *hasher) sum() string { return hex.EncodeToString(h.Sum(nil)) }

// baseDefaults is the defaults section most tests start from: every
// timeout set, so that pivotd does not warn, and short enough to fail fast.
const baseDefaults = `
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
`

// matches reports whether s matches the regular expression re.
func matches(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// ---------------------------------------------------------------------------
// Shortcuts for the common set-ups and checks

// oneServerApp is the smallest proxy: listen app on $fe, one server $s1.
// Tests whose point is the configuration spell it out instead.
const oneServerApp = `
listen app
    bind $fe
    server s1 $s1
`

// startOneServer starts pivotd with baseDefaults and oneServerApp in front
// of b, and returns it with its frontend address.
func startOneServer(t testing.TB, b *backend) (p *pivot, fe string) {
	t.Helper()
	fe = freeAddr(t)
	return startPivot(t, baseDefaults+oneServerApp, vars{"fe": fe, "s1": b.Addr}), fe
}

// tcplogStdout, appended to a defaults section, logs each session in
// HAProxy's tcplog format on pivotd's stdout.
const tcplogStdout = `    log stdout format raw local0
    option tcplog
`

// oneSession connects to addr, reads the greeting, round-trips each msg
// (echo servers), closes, and returns the greeting and the client's port,
// by which logs name the session.
func oneSession(t testing.TB, addr string, msgs ...string) (greeting string, port int) {
	t.Helper()
	c := dial(t, addr)
	greeting = c.greeting()
	for _, m := range msgs {
		c.roundTrip(m)
	}
	port = c.localPort()
	c.close()
	return greeting, port
}

// readAllHashed reads until EOF within d and returns the byte count and
// the sha256 of what it read; it fails the test on any other error.
func (c *client) readAllHashed(d time.Duration) (n int64, sum string) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(d))
	defer c.conn.SetReadDeadline(time.Time{})
	h := newHasher()
	n, err := io.Copy(h, c.r)
	if err != nil {
		c.t.Fatalf("reading: %v after %d bytes", err, n)
	}
	return n, h.sum()
}

// waitActive waits until b has exactly want open connections (pivot frees
// a server's slot once the client closed).
func waitActive(t testing.TB, b *backend, want int) {
	t.Helper()
	waitFor(t, 3*time.Second, func() error {
		if n := b.Active(); n != want {
			return fmt.Errorf("%s has %d open connections; want %d", b.Name, n, want)
		}
		return nil
	})
}

// waitIdle is waitActive under its older name.
func waitIdle(t testing.TB, b *backend, want int) {
	t.Helper()
	waitActive(t, b, want)
}

// refused reports whether connecting to addr is refused.
func refused(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return errors.New("connection accepted; want it refused")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	return nil
}

// softStop sends SIGUSR1 and waits until fe refuses new connections.
func (p *pivot) softStop(fe string) {
	p.t.Helper()
	p.signal(syscall.SIGUSR1)
	waitFor(p.t, 3*time.Second, func() error { return refused(fe) })
}

// expectExit0 waits up to d for the daemon to exit and reports an error
// unless its status is 0; after says what made it exit, for the message.
func (p *pivot) expectExit0(d time.Duration, after string) {
	p.t.Helper()
	if code := p.wait(d); code != 0 {
		p.t.Errorf("exit status %d%s; want 0\nstderr:\n%s", code, after, p.Stderr)
	}
}

// expectConfigValid runs pivotd -c with -f for each path and requires
// status 0 and "Configuration file is valid" on stdout.
func expectConfigValid(t testing.TB, env []string, paths ...string) {
	t.Helper()
	args := []string{"-c"}
	for _, p := range paths {
		args = append(args, "-f", p)
	}
	stdout, stderr, code := runPivotd(t, env, args...)
	if code != 0 || !strings.Contains(stdout, "Configuration file is valid") {
		t.Errorf("status %d, stdout %q; want 0 and valid\nstderr:\n%s", code, stdout, stderr)
	}
}

// holder keeps connections to a frontend open, filed by the server that
// greeted each, to load servers for leastconn and first.
type holder struct {
	t    testing.TB
	addr string
	by   map[string][]*client
}

func newHolder(t testing.TB, addr string) *holder {
	return &holder{t: t, addr: addr, by: map[string][]*client{}}
}

// hold opens one more connection and returns the server that greeted it.
func (h *holder) hold() string {
	h.t.Helper()
	c := dial(h.t, h.addr)
	name := c.greeting()
	h.by[name] = append(h.by[name], c)
	return name
}

// holdSorted opens n connections and returns who greeted them, sorted.
func (h *holder) holdSorted(n int) []string {
	h.t.Helper()
	var names []string
	for range n {
		names = append(names, h.hold())
	}
	slices.Sort(names)
	return names
}

// release closes the oldest connection held on server name.
func (h *holder) release(name string) {
	cs := h.by[name]
	cs[0].close()
	h.by[name] = cs[1:]
}

// releaseAll closes every connection held on server name.
func (h *holder) releaseAll(name string) {
	for _, c := range h.by[name] {
		c.close()
	}
	h.by[name] = nil
}

// clients runs n goroutines that each call try in a loop (at most
// 100,000 times) until stop, counting successes and failures: the load
// a change must not disturb.
type clients struct {
	done      atomic.Bool
	ok, fails atomic.Int64
	first     atomic.Value // the first error
	wg        sync.WaitGroup
}

func startClients(n int, try func() error) *clients {
	l := &clients{}
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for k := 0; !l.done.Load() && k < 100000; k++ {
				if err := try(); err != nil {
					l.fails.Add(1)
					l.first.CompareAndSwap(nil, err)
				} else {
					l.ok.Add(1)
				}
			}
		}()
	}
	return l
}

// stop ends the loops and returns the first error (nil if none).
func (l *clients) stop() error {
	l.done.Store(true)
	l.wg.Wait()
	err, _ := l.first.Load().(error)
	return err
}
