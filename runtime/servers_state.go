package runtime

import (
	"errors"
	"fmt"
	"io"
	goruntime "runtime"
	"strings"

	"pivot/core"
)

// serversStateHeader is the header of `show servers state` and of state
// files: format version 1, then the 25 column names.
const serversStateHeader = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"

var errNoBackend = errors.New("Can't find backend.")

// hasBackend reports whether a backend named name is among rows.
func hasBackend(rows []core.StatRow, name string) bool {
	for _, r := range rows {
		if r.Type == core.RowBackend && r.Proxy == name {
			return true
		}
	}
	return false
}

// serverRows returns the server rows of backend, or of all backends if
// backend is "".
func serverRows(rows []core.StatRow, backend string) ([]core.StatRow, error) {
	if backend != "" && !hasBackend(rows, backend) {
		return nil, errNoBackend
	}
	var out []core.StatRow
	for _, r := range rows {
		if r.Type == core.RowServer && (backend == "" || r.Proxy == backend) {
			out = append(out, r)
		}
	}
	return out, nil
}

// orDash is s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeServersState prints `show servers state [<backend>]`, one line
// per server, in the format a server-state-file is read in. pivot has
// no agent checks, SRV records or TLS, so those columns hold their
// "none" values; a backend id is never forced at runtime.
func writeServersState(w io.Writer, rows []core.StatRow, backend string) error {
	servers, err := serverRows(rows, backend)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(serversStateHeader)
	for _, r := range servers {
		fmt.Fprintf(&b, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d %d %d %d %s %d %s %d %d %s %s %d\n",
			r.ProxyID, r.Proxy, r.ID, r.Name, orDash(r.IP),
			r.OpState, r.AdminBits, r.UWeight, r.IWeight, r.LastChg,
			r.CheckNum, checkResult(r), r.CheckHealth, r.CheckState, 0, // agent state
			0, b2i(r.ForcedID), // bk_f_forced_id, srv_f_forced_id
			orDash(r.FQDN), r.Port, "-", 0, // srvrecord, srv_use_ssl
			r.CheckPort, orDash(r.CheckAddr), "-", 0) // agent addr and port
	}
	io.WriteString(w, b.String())
	return nil
}

// writeServersConn prints `show servers conn [<backend>]`. pivot keeps
// no idle server connections: each session holds its own, so the pool
// columns are 0 and the idle limit is -1 (none). purge_delay is
// HAProxy's default pool-purge-delay, 5000 ms; there is one idle count
// per thread, as many as show info's Nbthread.
func writeServersConn(w io.Writer, rows []core.StatRow, backend string) error {
	servers, err := serverRows(rows, backend)
	if err != nil {
		return err
	}
	threads := goruntime.GOMAXPROCS(0)
	idle := strings.Repeat(" 0", threads)
	var b strings.Builder
	fmt.Fprintf(&b, "# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[%d]\n", threads)
	for _, r := range servers {
		used := usedMax(r)
		fmt.Fprintf(&b, "%s/%s %d/%d %s %d - 5000 %d %d %d 0 0 -1 0%s\n",
			r.Proxy, r.Name, r.ProxyID, r.ID, orDash(r.IP), r.Port, r.SCur, used, used, idle)
	}
	io.WriteString(w, b.String())
	return nil
}

// writeBackendList prints `show backend`: every proxy with a backend
// side (backend and listen sections), in configuration order.
func writeBackendList(w io.Writer, rows []core.StatRow) {
	var b strings.Builder
	b.WriteString("# name\n")
	for _, r := range rows {
		if r.Type == core.RowBackend {
			b.WriteString(r.Proxy)
			b.WriteByte('\n')
		}
	}
	io.WriteString(w, b.String())
}

// b2i is 1 for true, as HAProxy prints flags.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkResult is the state file's check result: unknown (0) while a check
// runs, as HAProxy resets it when one starts.
func checkResult(r core.StatRow) int {
	if r.CheckState&0x1 != 0 {
		return 0
	}
	return r.CheckNum.Result()
}
