package core

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"pivot/core/config"
)

// The runtime state file keeps what operators change at runtime (admin
// states, weights, addresses, health forced from the CLI, added and
// deleted servers, frontend states and limits) across restarts and
// crashes. Its body is HAProxy's server state format (`show servers
// state`, version 1), so HAProxy can load it and pivot can load one HAProxy
// wrote; what that format cannot hold follows as "#pivot" lines, which
// HAProxy skips as comments.

// ServersStateHeader begins `show servers state` and state files: the
// format version, then the column names.
const ServersStateHeader = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"

// WriteServersState writes the header and one line per server row, as
// `show servers state` prints them. pivot has no SRV records or TLS, so
// those columns hold their "none" values; a backend id is never forced
// at runtime.
func WriteServersState(w io.Writer, servers []StatRow) {
	var b strings.Builder
	b.WriteString(ServersStateHeader)
	for _, r := range servers {
		fmt.Fprintf(&b, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d %d %d %d %s %d %s %d %d %s %s %d\n",
			r.ProxyID, r.Proxy, r.ID, r.Name, orDash(r.IP),
			r.OpState, r.AdminBits, r.UWeight, r.IWeight, r.LastChg,
			r.CheckNum, checkResult(r), r.CheckHealth, r.CheckState, r.AgentState,
			0, b2i(r.ForcedID), // bk_f_forced_id, srv_f_forced_id
			orDash(r.FQDN), r.Port, "-", 0, // srvrecord, srv_use_ssl
			r.CheckPort, orDash(r.CheckAddr), orDash(r.AgentAddr), r.AgentPort)
	}
	io.WriteString(w, b.String())
}

// checkResult is the state file's check result: unknown (0) while a check
// runs, as HAProxy resets it when one starts.
func checkResult(r StatRow) int {
	if r.CheckState&0x1 != 0 {
		return 0
	}
	return r.CheckNum.Result()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stateFile writes the state file. Writers serialize on mu; a write
// replaces the file whole (write, fsync, rename, fsync the directory), so
// a crash leaves the old state or the new one, never a mix.
type stateFile struct {
	path string
	mu   sync.Mutex
	soon chan struct{} // coalesces the saves checks ask for
	// off: the file belongs to the pivotd that took over (handover).
	off bool
}

// disable stops every later write.
func (s *stateFile) disable() {
	s.mu.Lock()
	s.off = true
	s.mu.Unlock()
}

// saveState writes the state file now; operator commands call it before
// they answer, so that nothing they changed can be lost by a crash.
func (c *Core) saveState() {
	if c.state == nil {
		return
	}
	c.state.mu.Lock()
	defer c.state.mu.Unlock()
	if c.state.off {
		return
	}
	if err := writeAtomically(c.state.path, c.stateSnapshot()); err != nil {
		c.diag.Warning(fmt.Sprintf("state file %s: %v; the runtime state is not saved", c.state.path, err))
	}
}

// saveStateSoon asks the saver goroutine for a write: health checks
// change states often, and a burst of changes is written once.
func (c *Core) saveStateSoon() {
	if c.state == nil {
		return
	}
	select {
	case c.state.soon <- struct{}{}:
	default:
	}
}

// stateSaver writes the state file when checks ask, until the core stops.
func (c *Core) stateSaver() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.state.soon:
			c.saveState()
		}
	}
}

// stateSnapshot is the state file's content.
func (c *Core) stateSnapshot() []byte {
	var b bytes.Buffer
	var servers []StatRow
	for _, r := range c.Stats() {
		if r.Type == RowServer {
			servers = append(servers, r)
		}
	}
	WriteServersState(&b, servers)
	for _, be := range c.backendsInOrder() {
		be.mu.Lock()
		for _, s := range be.servers {
			if s.dynamic {
				fmt.Fprintf(&b, "#pivot add-server %s %d %s\n", be.name, s.id, config.FormatServer(s.initial))
			}
			if s.cfgMaxconn != s.initial.MaxConn {
				fmt.Fprintf(&b, "#pivot server %s %s maxconn %d\n", be.name, s.name, s.cfgMaxconn)
			}
		}
		for _, name := range be.deletedNames {
			fmt.Fprintf(&b, "#pivot del-server %s %s\n", be.name, name)
		}
		be.mu.Unlock()
	}
	for _, p := range c.top().proxies {
		if f := p.fe; f != nil {
			f.mu.Lock()
			st := f.state
			f.mu.Unlock()
			fmt.Fprintf(&b, "#pivot frontend %s %s maxconn %d\n", f.name, frontendStateWords[st], f.slots.limit.Load())
		}
	}
	fmt.Fprintf(&b, "#pivot global maxconn %d rate-limit-connections %d rate-limit-sessions %d\n",
		c.global.limit.Load(), c.rateLimit.Load(), c.sessRateLimit.Load())
	return b.Bytes()
}

// writeAtomically replaces path with data so that a reader, or a restart
// after a crash, sees the old content or the new one.
func writeAtomically(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// restoreState applies a state file at startup, before any listener
// opens or check runs. A missing file is a first start. Anything wrong
// in it is reported with its line and skipped: a damaged state file never
// stops pivotd, the configuration then decides.
func (c *Core) restoreState() {
	data, err := os.ReadFile(c.state.path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		c.diag.Alert(fmt.Sprintf("state file %s: %v; starting from the configuration", c.state.path, err))
		return
	}
	lines := strings.Split(string(data), "\n")
	if strings.TrimSpace(lines[0]) != "1" {
		c.diag.Alert(fmt.Sprintf("state file %s: not a server state file (version %q, want 1); starting from the configuration", c.state.path, firstWords(lines[0])))
		return
	}
	warn := func(n int, format string, a ...any) {
		c.diag.Warning(fmt.Sprintf("state file %s:%d: %s; line ignored", c.state.path, n, fmt.Sprintf(format, a...)))
	}
	// Servers are deleted, then added, first, so that the state lines
	// find the servers as they were.
	for _, kind := range []string{"del-server", "add-server"} {
		for i, l := range lines {
			f := strings.Fields(l)
			if len(f) < 4 || f[0] != "#pivot" || f[1] != kind {
				continue
			}
			var err error
			if kind == "del-server" {
				err = c.restoreDeletedServer(f[2], f[3])
			} else if len(f) < 5 {
				err = fmt.Errorf("want: #pivot add-server BACKEND ID server NAME ADDR ...")
			} else {
				err = c.restoreAddedServer(f[2], f[3], strings.SplitN(l, " ", 5)[4])
			}
			if err != nil {
				warn(i+1, "%v", err)
			}
		}
	}
	for i, l := range lines[1:] {
		n := i + 2
		f := strings.Fields(l)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#") && f[0] != "#pivot":
		case f[0] == "#pivot":
			if err := c.restorePivotLine(f); err != nil {
				warn(n, "%v", err)
			}
		default:
			if err := c.restoreServerLine(f); err != nil {
				warn(n, "%v", err)
			}
		}
	}
}

func firstWords(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// restoreAddedServer adds again a server added at runtime, with the id
// it had: line is its server line as config.FormatServer wrote it.
func (c *Core) restoreAddedServer(backend, id, line string) error {
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 {
		return fmt.Errorf("added server id %q", id)
	}
	cfg, err := config.Parse("state", []byte("backend "+backend+"\n    "+line+"\n"))
	if err != nil || len(cfg.Proxies) != 1 || len(cfg.Proxies[0].Servers) != 1 {
		return fmt.Errorf("added server %q: %v", line, err)
	}
	sc := *cfg.Proxies[0].Servers[0]
	sc.ID = n
	return c.addServer(backend, sc, false)
}

// restoreDeletedServer deletes again a configured server that was
// deleted at runtime.
func (c *Core) restoreDeletedServer(backend, name string) error {
	b, err := c.Backend(backend)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.serverLocked(name)
	if s == nil {
		return nil // already gone from the configuration too
	}
	if len(s.trackers) > 0 {
		return fmt.Errorf("server %s/%s is tracked: not deleted", backend, name)
	}
	s.deleted = true
	b.deletedNames = append(b.deletedNames, name)
	b.servers = slices.DeleteFunc(b.servers, func(x *Server) bool { return x == s })
	b.publishLocked(b.lastChange)
	return nil
}

// restoreServerLine applies one server line: admin state (the operator's
// causes only; configuration and tracking decide the others), weight,
// address and port, check address and port, checks and agents disabled,
// and the operational state with its health count.
func (c *Core) restoreServerLine(f []string) error {
	if len(f) < 19 {
		return fmt.Errorf("%d fields, want at least 19", len(f))
	}
	num := func(i int) (int, error) {
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return 0, fmt.Errorf("field %d (%s): %q is not a number", i+1, stateColumns[i], f[i])
		}
		return n, nil
	}
	var v [25]int
	for _, i := range []int{5, 6, 7, 12, 18} {
		n, err := num(i)
		if err != nil {
			return err
		}
		v[i] = n
	}
	b, err := c.Backend(f[1])
	if err != nil {
		return fmt.Errorf("no backend %q", f[1])
	}
	if b.conf().LoadServerState == "none" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.serverLocked(f[3])
	if s == nil {
		return fmt.Errorf("backend %q has no server %q", f[1], f[3])
	}
	if v[7] < 0 || v[7] > config.MaxWeight {
		return fmt.Errorf("weight %d out of range", v[7])
	}
	if v[18] < 0 || v[18] > 65535 {
		return fmt.Errorf("port %d out of range", v[18])
	}
	op := Op(v[5])
	if op > OpStopping {
		return fmt.Errorf("operational state %d unknown", v[5])
	}
	now := b.lastChange
	if f[4] != "-" {
		if ip, err := netip.ParseAddr(f[4]); err == nil {
			ip = ip.Unmap()
			old := s.addr.Load()
			if ip != old.ip || v[18] != old.port {
				s.addr.Store(newServerAddr(ip.String(), ip, v[18]))
			}
		}
	}
	if len(f) >= 23 {
		if p, err := strconv.Atoi(f[21]); err == nil && p > 0 && p <= 65535 {
			s.check.port = p
		}
		if f[22] != "-" {
			s.check.addr = f[22]
		}
	}
	// A check or agent the operator disabled (`disable health|agent`)
	// stays disabled: configured (0x2) but not enabled (0x4).
	for _, c := range []struct {
		field int
		st    *checkState
	}{{13, &s.check}, {14, &s.agent}} {
		if bits, err := strconv.Atoi(f[c.field]); err == nil && c.st.configured && bits&0x2 != 0 && bits&0x4 == 0 {
			c.st.enabled = false
		}
	}
	s.uweight = v[7]
	admin := s.admin&^(AdminForcedMaint|AdminForcedDrain) | Admin(v[6])&(AdminForcedMaint|AdminForcedDrain)
	if s.admin&AdminConfigMaint != 0 && admin&AdminForcedMaint == 0 {
		admin &^= AdminConfigMaint // made ready since: the maintenance is lifted
	}
	s.admin = admin
	// Maintenance pauses an enabled check, as entering it does at run
	// time (show servers state's 0x8); a lifted `disabled` unpauses it.
	s.check.paused = admin.Maint() && (s.check.enabled || s.admin&AdminConfigMaint != 0)
	switch {
	case admin.Maint():
		s.op = OpStopped
		s.check.health = 0
	case s.check.enabled && b.probe.IsRoleCheck():
		// Whatever the file says, a role is proven by a check after
		// the start before any connection (it may have changed while
		// pivotd was down): the server stays down, one success away.
	case s.track == nil:
		s.op = op
		if health := v[12]; health >= 0 && health <= s.check.full() {
			s.check.health = health
		}
	}
	if s.op == OpStopped && s.downSince.IsZero() {
		s.downSince = now
	} else if s.op != OpStopped {
		s.downSince = time.Time{}
	}
	b.publishLocked(now)
	return nil
}

// frontendStateWords are the frontend states as the state file words them.
var frontendStateWords = map[FrontendState]string{FrontendOpen: "open", FrontendPaused: "paused", FrontendStopped: "stopped"}

var frontendStateByWord = map[string]FrontendState{"open": FrontendOpen, "paused": FrontendPaused, "stopped": FrontendStopped}

// stateColumns names the fields of a server line, for error messages.
var stateColumns = strings.Fields(strings.TrimPrefix(strings.SplitN(ServersStateHeader, "\n", 3)[1], "# "))

// restorePivotLine applies a frontend or global line.
func (c *Core) restorePivotLine(f []string) error {
	switch f[1] {
	case "add-server", "del-server":
		return nil // applied first
	case "frontend":
		if len(f) != 6 || f[4] != "maxconn" {
			return fmt.Errorf("want: #pivot frontend NAME STATE maxconn N")
		}
		fe, err := c.Frontend(f[2])
		if err != nil {
			return fmt.Errorf("no frontend %q", f[2])
		}
		st, ok := frontendStateByWord[f[3]]
		if !ok {
			return fmt.Errorf("frontend state %q unknown", f[3])
		}
		n, err := strconv.Atoi(f[5])
		if err != nil || n < 0 {
			return fmt.Errorf("maxconn %q", f[5])
		}
		fe.mu.Lock()
		fe.state = st
		fe.mu.Unlock()
		if n > 0 {
			fe.slots.setLimit(n)
		}
		return nil
	case "server":
		if len(f) != 6 || f[4] != "maxconn" {
			return fmt.Errorf("want: #pivot server BACKEND NAME maxconn N")
		}
		n, err := strconv.Atoi(f[5])
		if err != nil || n < 0 {
			return fmt.Errorf("maxconn %q", f[5])
		}
		b, err := c.Backend(f[2])
		if err != nil {
			return fmt.Errorf("no backend %q", f[2])
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		s := b.serverLocked(f[3])
		if s == nil {
			return fmt.Errorf("backend %q has no server %q", f[2], f[3])
		}
		s.cfgMaxconn = n
		b.publishLocked(b.lastChange)
		return nil
	case "global":
		if len(f) != 8 || f[2] != "maxconn" || f[4] != "rate-limit-connections" || f[6] != "rate-limit-sessions" {
			return fmt.Errorf("want: #pivot global maxconn N rate-limit-connections N rate-limit-sessions N")
		}
		var v [3]int
		for i, j := range []int{3, 5, 7} {
			n, err := strconv.Atoi(f[j])
			if err != nil || n < 0 {
				return fmt.Errorf("%s %q", f[j-1], f[j])
			}
			v[i] = n
		}
		if v[0] > 0 {
			c.global.setLimit(v[0])
		}
		c.rateLimit.Store(int64(v[1]))
		c.sessRateLimit.Store(int64(v[2]))
		return nil
	}
	return fmt.Errorf("unknown #pivot line %q", f[1])
}
