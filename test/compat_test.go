package test

// The compatibility suite: the same configuration, the same backends and
// the same admin commands are given to the real HAProxy 2.6 and to pivotd,
// and their answers must be the same bytes once what must differ (ports of
// each daemon's own frontends, socket paths, dates, timings, pointers) has
// been normalised. A mismatch prints both answers.
//
// Deliberate differences, not compared (pivot refuses where HAProxy 2.6
// accepts nonsense, or the value is pivot's own by design):
//   - set server B/S addr IP port 70000 (pivot: error; HAProxy stores 4464)
//   - set maxconn server B/S -5 (pivot: error; HAProxy stores 4294967291)
//   - set maxconn frontend F abc|0 (pivot: "Integer value expected." /
//     "Value out of range."; HAProxy accepts 0)
//   - an over-long command line (pivot: an error line then close; HAProxy
//     closes silently)
//   - set server B/S ssl ... (pivot: not supported)
//   - add server with a host name that does not resolve (pivot: error;
//     HAProxy registers a server without an address), with a bare
//     `weight` (pivot: error; HAProxy reads it as 0), with an unknown
//     keyword HAProxy has but pivot does not (suggestions come from
//     pivot's own keywords)
//   - help descriptions (only the usage column of shared rows is compared)
//     and the field descriptions of show stat typed desc
//   - show sess after the fixed part (ptr, proto, src, fe, be, srv)
//   - show info values, and its Name field ("pivot")
//   - wait (HAProxy 2.6 has no such command)
//
// Normalised (see compatNormalise): socket directory → $DIR, each daemon's
// frontend addresses → $FE_<n>, dates → DATE, 0x pointers → 0xPTR, the
// volatile show stat columns of compatVolatile and compatSigned, the
// srv_time_since_last_change column of show servers state, and whether a
// check is running at that instant ("* " in check_status, the running bit
// and reset result of show servers state).

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// compatHaproxy returns the path of haproxy, or skips the test (fails it
// under CI=true, where .ci/run installs it).
func compatHaproxy(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("haproxy")
	if err != nil {
		for _, p := range []string{"/usr/sbin/haproxy", "/usr/local/sbin/haproxy"} {
			if _, serr := os.Stat(p); serr == nil {
				return p
			}
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxy is not installed (CI=true): %v", err)
		}
		t.Skipf("haproxy is not installed, skipping the compatibility suite: %v", err)
	}
	return path
}

// ---------------------------------------------------------------------------
// compatAddr is freeAddr: a port below the ephemeral range, never handed
// out twice in this process.
func compatAddr(t testing.TB) string { return freeAddr(t) }

// ---------------------------------------------------------------------------
// Daemons

// compatDaemon is one of the two daemons under comparison.
type compatDaemon struct {
	Name string            // "haproxy" or "pivotd"
	Dir  string            // holds the sockets (and the config)
	FE   map[string]string // frontend placeholder (FE1...) → its address
}

// Sock is the path of a socket: "admin", "oper" or "user".
func (d *compatDaemon) Sock(level string) string { return filepath.Join(d.Dir, level+".sock") }

// compatPair is HAProxy and pivotd started from the same configuration.
type compatPair struct {
	t        testing.TB
	Hap, Piv *compatDaemon
}

// haproxyProc is a HAProxy a test started, in the foreground.
type haproxyProc struct {
	cmd  *exec.Cmd
	out  *syncBuffer   // what it printed
	done chan struct{} // closed once it has exited
}

// startHAProxy runs bin on the configuration file cfg, killed with the
// test binary if that dies; when the test ends it is stopped (SIGTERM,
// SIGKILL after 5 s) and, if the test failed, what it printed is logged.
func startHAProxy(t testing.TB, bin, cfg string) *haproxyProc {
	t.Helper()
	h := &haproxyProc{cmd: exec.Command(bin, "-db", "-f", cfg), out: &syncBuffer{}, done: make(chan struct{})}
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		if !h.stop() {
			h.cmd.Process.Kill()
			<-h.done
		}
		if t.Failed() {
			t.Logf("haproxy output:\n%s", h.out)
		}
	})
	return h
}

// stop asks HAProxy to end (SIGTERM) and reports whether it did within
// 5 s.
func (h *haproxyProc) stop() bool {
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// compatGlobal is the global section every scenario starts with: the three
// sockets of the transcripts, a fixed maxconn (HAProxy's default depends
// on ulimit) and maxpipes (HAProxy's default depends on the proxies'
// splice options, which pivot does without).
const compatGlobal = `
global
    maxconn 4096
    maxpipes 64
    stats socket $DIR/admin.sock mode 600 level admin
    stats socket $DIR/oper.sock mode 600 level operator
    stats socket $DIR/user.sock mode 600 level user
` + baseDefaults

// startCompat starts HAProxy and pivotd on cfg. In cfg, $DIR is each
// daemon's socket directory, $FE1…$FE9 each daemon's own frontend
// addresses (one per placeholder used), and v the shared ones (backends).
func startCompat(t testing.TB, cfg string, v vars) *compatPair {
	t.Helper()
	bin := compatHaproxy(t)
	p := &compatPair{t: t}
	var fes []string
	for i := 1; i <= 9; i++ {
		if strings.Contains(cfg, fmt.Sprintf("$FE%d", i)) {
			fes = append(fes, fmt.Sprintf("FE%d", i))
		}
	}
	mk := func(name string) (*compatDaemon, string) {
		dir, err := os.MkdirTemp("", "compat-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		d := &compatDaemon{Name: name, Dir: dir, FE: map[string]string{}}
		all := vars{"DIR": dir}
		for k, val := range v {
			all[k] = val
		}
		for _, fe := range fes {
			d.FE[fe] = compatAddr(t)
			all[fe] = d.FE[fe]
		}
		return d, expand(cfg, all)
	}
	var hcfg, pcfg string
	p.Hap, hcfg = mk("haproxy")
	p.Piv, pcfg = mk("pivotd")

	// HAProxy, in the foreground, killed with us if the test binary dies.
	path := filepath.Join(p.Hap.Dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(hcfg), 0o644); err != nil {
		t.Fatal(err)
	}
	hap := startHAProxy(t, bin, path)
	out, done := hap.out, hap.done
	binds := bindAddrs(hcfg)
	waitFor(t, 10*time.Second, func() error {
		select {
		case <-done:
			return fmt.Errorf("haproxy exited during start-up:\n%s", out)
		default:
		}
		for _, a := range binds {
			if !listening(a) {
				return fmt.Errorf("haproxy does not listen on %s yet:\n%s", a, out)
			}
		}
		for _, l := range []string{"admin", "oper", "user"} {
			if got, err := compatTrySend(p.Hap.Sock(l), "show cli level\n"); err != nil || got == "" {
				return fmt.Errorf("haproxy socket %s: %q %v", l, got, err)
			}
		}
		return nil
	})

	startPivot(t, pcfg, nil)
	waitFor(t, 10*time.Second, func() error {
		for _, l := range []string{"admin", "oper", "user"} {
			if got, err := compatTrySend(p.Piv.Sock(l), "show cli level\n"); err != nil || got == "" {
				return fmt.Errorf("pivotd socket %s: %q %v", l, got, err)
			}
		}
		return nil
	})
	return p
}

// Both runs f on each daemon.
func (p *compatPair) Both(f func(d *compatDaemon) string) (hap, piv string) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); hap = f(p.Hap) }()
	go func() { defer wg.Done(); piv = f(p.Piv) }()
	wg.Wait()
	return hap, piv
}

// ---------------------------------------------------------------------------
// Admin socket

// compatTrySend writes data as is on a new connection to the Unix socket
// sock, half-closes, and reads the answer to EOF (printf | socat).
func compatTrySend(sock, data string) (string, error) {
	c, err := net.DialTimeout("unix", sock, ioTimeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c, data); err != nil {
		return "", err
	}
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	return string(b), err
}

// send sends one command line (LF added) and returns the whole answer.
func send(t testing.TB, sock, line string) string {
	t.Helper()
	return sendRaw(t, sock, line+"\n")
}

// sendRaw sends data unchanged; a reset after a complete answer is not an
// error (HAProxy closes with unread bytes in some cases).
func sendRaw(t testing.TB, sock, data string) string {
	t.Helper()
	got, err := compatTrySend(sock, data)
	if err != nil && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("%s: sending %q: %v (got %q)", sock, data, err, got)
	}
	return got
}

// compatPrompt is an interactive session: one line at a time, each answer
// read up to its prompt "\n> " (or EOF).
type compatPrompt struct {
	c net.Conn
	r *bufio.Reader
}

func compatDialPrompt(t testing.TB, sock string) *compatPrompt {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &compatPrompt{c: c, r: bufio.NewReader(c)}
}

// Do sends line+LF and returns what arrives up to and including the next
// "\n> ", or up to EOF ("<EOF>" appended), or up to a 1 s silence
// ("<SILENCE>" appended).
func (s *compatPrompt) Do(line string) string {
	s.c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(s.c, line+"\n"); err != nil {
		return "<WRITE ERROR>"
	}
	var b strings.Builder
	s.c.SetReadDeadline(time.Now().Add(time.Second))
	for {
		ch, err := s.r.ReadByte()
		if err != nil {
			if isTimeout(err) {
				b.WriteString("<SILENCE>")
			} else {
				b.WriteString("<EOF>")
			}
			return b.String()
		}
		b.WriteByte(ch)
		if strings.HasSuffix(b.String(), "\n> ") {
			return b.String()
		}
	}
}

// ---------------------------------------------------------------------------
// Normalisation

// compatVolatile are the show stat columns whose value depends on timing:
// any non-empty value becomes "#" (lastsess keeps -1, "never").
var compatVolatile = map[string]bool{
	"lastchg": true, "downtime": true, "check_duration": true, "agent_duration": true,
	"lastsess": true, "last_agt": false,
	"rate": true, "conn_rate": true, "req_rate": true,
	"qtime": true, "ctime": true, "rtime": true, "ttime": true,
	"qtime_max": true, "ctime_max": true, "rtime_max": true, "ttime_max": true,
}

// compatSigned are the columns where only zero versus not zero is
// compared: maxima that a closing session may or may not still count in.
var compatSigned = map[string]bool{
	"smax": true, "rate_max": true, "conn_rate_max": true, "req_rate_max": true,
	"need_conn_est": true,
	// HTTP health checks so far: how many ran depends on timing.
	"h1_total_connections": true, "h1_total_streams": true, "h1_bytes_in": true, "h1_bytes_out": true,
}

var (
	compatDateRE = regexp.MustCompile(`\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(\.\d{3})?`)
	compatPtrRE  = regexp.MustCompile(`0x[0-9a-f]{4,}`)
	// compatDescRE is the description `show stat typed desc` ends each
	// line with: pivot words its own.
	compatDescRE  = regexp.MustCompile(`(?m):"(?:[^"\\]|\\.)*"$`)
	compatTypedRE = regexp.MustCompile(`(?m)^([A-Z]\.\d+\.\d+\.\d+\.)([a-z_0-9]+)(\.\d+:[^:]*:[a-z0-9]+:)(.*)$`)
	compatJSONRE  = regexp.MustCompile(`"name":"([a-z_0-9]+)"\}(.*?)"value":\{"type":"([a-z0-9]+)","value":(-?\d+|"(?:[^"\\]|\\.)*")\}`)
)

// compatNormalise rewrites an answer of d so that the other daemon's
// answer can be compared byte for byte.
func compatNormalise(d *compatDaemon, s string) string {
	s = strings.ReplaceAll(s, d.Dir, "$DIR")
	fes := make([]string, 0, len(d.FE))
	for k := range d.FE {
		fes = append(fes, k)
	}
	slices.Sort(fes)
	for _, k := range fes {
		s = strings.ReplaceAll(s, d.FE[k], "$"+k)
		_, port, _ := net.SplitHostPort(d.FE[k])
		s = regexp.MustCompile(`\b`+port+`\b`).ReplaceAllString(s, "$"+k+"_PORT")
	}
	s = compatDateRE.ReplaceAllString(s, "DATE")
	s = compatPtrRE.ReplaceAllString(s, "0xPTR")
	s = compatNormCSV(s)
	s = compatNormServersState(s)
	s = compatDescRE.ReplaceAllString(s, `:"DESC"`)
	s = compatTypedRE.ReplaceAllStringFunc(s, func(m string) string {
		g := compatTypedRE.FindStringSubmatch(m)
		return g[1] + g[2] + g[3] + compatCell(g[2], g[4])
	})
	s = compatJSONRE.ReplaceAllStringFunc(s, func(m string) string {
		g := compatJSONRE.FindStringSubmatch(m)
		v := g[4]
		if strings.HasPrefix(v, `"`) {
			uq, err := strconv.Unquote(v)
			if err == nil {
				if nv := compatCell(g[1], uq); nv != uq {
					v = strconv.Quote(nv)
				}
			}
		} else if nv := compatCell(g[1], v); nv != v {
			v = strconv.Quote(nv)
		}
		return `"name":"` + g[1] + `"}` + g[2] + `"value":{"type":"` + g[3] + `","value":` + v + `}`
	})
	return s
}

// compatCell normalises one show stat value of column col.
func compatCell(col, v string) string {
	switch {
	case v == "":
		return v
	case compatVolatile[col]:
		if col == "lastsess" && v == "-1" {
			return v
		}
		return "#"
	case compatSigned[col]:
		if v == "0" {
			return v
		}
		return "+"
	case col == "check_status" || col == "agent_status":
		return strings.TrimPrefix(v, "* ")
	}
	return v
}

// compatNormCSV normalises the rows following each "# pxname," header.
func compatNormCSV(s string) string {
	lines := strings.Split(s, "\n")
	var cols []string
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "# pxname,"):
			cols = strings.Split(strings.TrimPrefix(l, "# "), ",")
		case l == "" || strings.HasPrefix(l, "#"):
			cols = nil
		case cols != nil:
			cells := strings.Split(l, ",")
			for j := range cells {
				if j < len(cols) {
					cells[j] = compatCell(cols[j], cells[j])
				}
			}
			lines[i] = strings.Join(cells, ",")
		}
	}
	return strings.Join(lines, "\n")
}

// compatNormServersState blanks srv_time_since_last_change.
func compatNormServersState(s string) string {
	lines := strings.Split(s, "\n")
	idx, res, st, ag := -1, -1, -1, -1
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "# be_id "):
			cols := strings.Fields(strings.TrimPrefix(l, "# "))
			idx = slices.Index(cols, "srv_time_since_last_change")
			res = slices.Index(cols, "srv_check_result")
			st = slices.Index(cols, "srv_check_state")
			ag = slices.Index(cols, "srv_agent_state")
		case l == "":
			idx = -1
		case idx >= 0:
			f := strings.Split(l, " ")
			if idx < len(f) {
				f[idx] = "#"
			}
			// Whether a check runs at that instant (state bit 0x1, the
			// result reset to unknown meanwhile) is a matter of timing:
			// the result is compared as the last status implies it.
			if st < len(f) && res < len(f) && res > 0 {
				if n, err := strconv.Atoi(f[st]); err == nil {
					f[st] = strconv.Itoa(n &^ 1)
				}
				f[res] = compatCheckResult(f[res-1])
			}
			if ag > 0 && ag < len(f) {
				if n, err := strconv.Atoi(f[ag]); err == nil {
					f[ag] = strconv.Itoa(n &^ 1)
				}
			}
			lines[i] = strings.Join(f, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// compatCheckResult is the check result a check status (its number)
// implies: passed, conditionally passed, unknown or failed.
func compatCheckResult(status string) string {
	switch status {
	case "6", "9", "15":
		return "3"
	case "16":
		return "4"
	case "0", "1":
		return "0"
	}
	return "2"
}

// ---------------------------------------------------------------------------
// Scenarios

// compatStep is one row of a scenario: what is sent, to which socket, and
// how the answers are compared.
type compatStep struct {
	desc string
	sock string // admin (default), oper, user
	cmd  string // one line, LF added
	raw  string // sent as is instead of cmd
	// first compares only the first line (unknown-command answers, whose
	// list of suggestions is HAProxy's own).
	first bool
	// do replaces sending: an action run on both daemons, returning the
	// text to compare (traffic, held sessions...).
	do func(t *testing.T, p *compatPair, d *compatDaemon) string
}

// compatReadOnly reports whether a command is asked again, for up to a
// second, while the answers differ: counters are updated as sessions end.
func compatReadOnly(cmd string) bool {
	return strings.HasPrefix(cmd, "show stat") || strings.HasPrefix(cmd, "show servers state")
}

// run runs the steps in order as subtests; both daemons get each step.
func (p *compatPair) run(t *testing.T, steps []compatStep) {
	t.Helper()
	for i, st := range steps {
		name := st.desc
		if name == "" {
			name = st.cmd
			if name == "" {
				name = fmt.Sprintf("%q", st.raw)
			}
		}
		t.Run(fmt.Sprintf("%02d %s", i, name), func(t *testing.T) { p.step(t, st) })
	}
}

func (p *compatPair) step(t *testing.T, st compatStep) {
	t.Helper()
	one := func(d *compatDaemon) string {
		var out string
		switch {
		case st.do != nil:
			out = st.do(t, p, d)
		case st.raw != "":
			out = sendRaw(t, d.Sock(or(st.sock, "admin")), st.raw)
		default:
			out = send(t, d.Sock(or(st.sock, "admin")), st.cmd)
		}
		if st.first {
			out, _, _ = strings.Cut(out, "\n")
		}
		return out
	}
	var hap, piv, hn, pn string
	// Read-only answers are asked again for a while: checks and agents
	// that run every 200 ms blank their description while they run, on
	// either side, and under the whole suite's load a run can last.
	deadline := time.Now().Add(3 * time.Second)
	for {
		hap, piv = p.Both(one)
		hn, pn = compatNormalise(p.Hap, hap), compatNormalise(p.Piv, piv)
		if hn == pn || st.do != nil || !compatReadOnly(st.cmd) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if hn != pn {
		msg := fmt.Sprintf("answers differ\n%s\n--- haproxy (normalised) ---\n%s\n--- pivotd (normalised) ---\n%s",
			compatDiff(hn, pn), hn, pn)
		if len(hap)+len(piv) < 1000 {
			msg += fmt.Sprintf("\n--- raw ---\nhaproxy: %q\npivotd:  %q", hap, piv)
		}
		t.Error(msg)
	}
}

// compatDiff lists the differing lines (the first five), cell by cell for
// CSV rows.
func compatDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	header := ""
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 5; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if strings.HasPrefix(x, "# pxname,") {
			header = x
		}
		if x == y {
			continue
		}
		if header != "" && strings.Count(x, ",") > 10 && strings.Count(y, ",") > 10 {
			out = append(out, fmt.Sprintf("line %d: %s", i+1, compatCSVDiff(header, x, y)))
		} else {
			out = append(out, fmt.Sprintf("line %d:\n  haproxy %q\n  pivotd  %q", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

// compatCSVDiff lists the differing cells of two CSV rows, named by the
// header when there is one.
func compatCSVDiff(header, x, y string) string {
	cols := strings.Split(strings.TrimPrefix(header, "# "), ",")
	xc, yc := strings.Split(x, ","), strings.Split(y, ",")
	var diffs []string
	for j := 0; j < max(len(xc), len(yc)); j++ {
		var a, b string
		if j < len(xc) {
			a = xc[j]
		}
		if j < len(yc) {
			b = yc[j]
		}
		if a != b {
			name := strconv.Itoa(j)
			if j < len(cols) {
				name = cols[j]
			}
			diffs = append(diffs, fmt.Sprintf("%s: haproxy %q pivotd %q", name, a, b))
		}
	}
	row, _, _ := strings.Cut(x, ",")
	if c := strings.SplitN(x, ",", 3); len(c) > 2 {
		row = c[0] + "," + c[1]
	}
	return fmt.Sprintf("row %s: %s", row, strings.Join(diffs, "; "))
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// compatSettle waits until no server of either daemon is between states
// (UP 1/2, DOWN 1/2...) and both list the same statuses; it fails with
// the last difference. A check running at that instant shows its last
// result with "* ", which is settled, but HAProxy blanks that check's
// description (last_chk, last_agt) until the result comes: a running
// check's description is not compared.
func (p *compatPair) settle(t testing.TB) {
	t.Helper()
	// statuses maps each server to its state and check results, with the
	// description of each check that is not running ("=desc").
	type status struct {
		state string
		descs []string // "" where the check runs
	}
	statuses := func(d *compatDaemon) (map[string]status, error) {
		out, err := compatTrySend(d.Sock("admin"), "show stat\n")
		if err != nil {
			return nil, err
		}
		lines := strings.Split(out, "\n")
		cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
		st, cs, lc := slices.Index(cols, "status"), slices.Index(cols, "check_status"), slices.Index(cols, "last_chk")
		as, la := slices.Index(cols, "agent_status"), slices.Index(cols, "last_agt")
		if st < 0 || cs < 0 || lc < 0 || as < 0 || la < 0 {
			return nil, fmt.Errorf("%s: show stat has no status columns: %q", d.Name, lines[0])
		}
		m := map[string]status{}
		for _, l := range lines[1:] {
			c := strings.Split(l, ",")
			if len(c) <= max(la, lc) {
				continue
			}
			if matches(`\d/\d`, c[st]) {
				return nil, fmt.Errorf("%s: %s/%s is %q %q", d.Name, c[0], c[1], c[st], c[cs])
			}
			var s status
			result := func(code, desc string) {
				s.state += " " + strings.TrimPrefix(code, "* ")
				if strings.HasPrefix(code, "* ") {
					desc = ""
				} else {
					desc = "=" + desc
				}
				s.descs = append(s.descs, desc)
			}
			s.state = c[st]
			result(c[cs], c[lc])
			if c[as] != "" { // an agent: its answer too
				s.state += " agent"
				result(c[as], c[la])
			}
			m[c[0]+"/"+c[1]] = s
		}
		return m, nil
	}
	waitFor(t, 10*time.Second, func() error {
		h, err := statuses(p.Hap)
		if err != nil {
			return err
		}
		v, err := statuses(p.Piv)
		if err != nil {
			return err
		}
		var diff []string
		for _, k := range slices.Sorted(maps.Keys(h)) {
			hs, vs := h[k], v[k]
			same := hs.state == vs.state && len(hs.descs) == len(vs.descs)
			for i := 0; same && i < len(hs.descs); i++ {
				same = hs.descs[i] == vs.descs[i] || hs.descs[i] == "" || vs.descs[i] == ""
			}
			if !same {
				diff = append(diff, fmt.Sprintf("%s: haproxy %q %q, pivotd %q %q", k, hs.state, hs.descs, vs.state, vs.descs))
			}
		}
		if len(h) != len(v) {
			diff = append(diff, fmt.Sprintf("haproxy lists %d rows, pivotd %d", len(h), len(v)))
		}
		if diff != nil {
			return fmt.Errorf("statuses differ:\n%s", strings.Join(diff, "\n"))
		}
		return nil
	})
}

// settleStep is a step that waits for compatSettle.
func settleStep() compatStep {
	return compatStep{desc: "settle", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
		if d == p.Hap {
			p.settle(t)
		}
		return ""
	}}
}

// idleStep waits until no session is open in either daemon (every row's
// scur is 0), so that a following `clear counters` cannot race a session
// whose counters are still being settled.
func idleStep() compatStep {
	return compatStep{desc: "idle", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
		waitFor(t, 5*time.Second, func() error {
			out, err := compatTrySend(d.Sock("admin"), "show stat\n")
			if err != nil {
				return err
			}
			lines := strings.Split(out, "\n")
			cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
			scur := slices.Index(cols, "scur")
			for _, l := range lines[1:] {
				if c := strings.Split(l, ","); len(c) > scur && scur >= 0 && c[scur] != "0" && c[scur] != "" {
					return fmt.Errorf("%s: %s/%s has %s sessions", d.Name, c[0], c[1], c[scur])
				}
			}
			return nil
		})
		return ""
	}}
}

// trafficStep makes n sequential connections through frontend fe of each
// daemon and compares who greeted them.
func trafficStep(fe string, n int) compatStep {
	return compatStep{desc: fmt.Sprintf("traffic %s x%d", fe, n), do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
		var out []string
		for range n {
			s, err := tryWho(d.FE[fe])
			if err != nil {
				s = "<" + strings.TrimPrefix(err.Error(), "dial tcp "+d.FE[fe]+": ") + ">"
				s = strings.ReplaceAll(s, d.FE[fe], "$"+fe)
			}
			out = append(out, s)
		}
		return strings.Join(out, " ") + "\n"
	}}
}
