package runtime

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"pivot/core"
)

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

// writeServersState prints `show servers state [<backend>]` (see
// core.WriteServersState).
func writeServersState(w io.Writer, rows []core.StatRow, backend string) error {
	servers, err := serverRows(rows, backend)
	if err != nil {
		return err
	}
	core.WriteServersState(w, servers)
	return nil
}

// writeServersConn prints `show servers conn [<backend>]`. pivot keeps
// no idle server connections: each session holds its own, so the pool
// columns are 0 and the idle limit is -1 (none). purge_delay is
// HAProxy's default pool-purge-delay, 5000 ms; there is one idle count
// per thread (threads, show info's Nbthread).
func writeServersConn(w io.Writer, rows []core.StatRow, backend string, threads int) error {
	servers, err := serverRows(rows, backend)
	if err != nil {
		return err
	}
	idle := strings.Repeat(" 0", threads)
	var b strings.Builder
	fmt.Fprintf(&b, "# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[%d]\n", threads)
	for _, r := range servers {
		used := usedMax(&r)
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

// orDash is s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
