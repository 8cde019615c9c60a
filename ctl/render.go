package ctl

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// TableOptions changes what RenderStatTable shows. The zero value shows
// frontends and backends with their servers.
type TableOptions struct {
	// NoFrontends leaves the frontend table out (pivotctl does when a
	// backend or server filter is given).
	NoFrontends bool
}

// table is a borderless table in the style of `kubectl get`: upper-case
// headers, columns separated by two spaces, no rules, no trailing blanks.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	*tablewriter.Table
}

// Render writes the table to its writer, trailing blanks removed.
func (t *table) Render() error {
	if err := t.Table.Render(); err != nil {
		return err
	}
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(t.buf.String(), "\n") {
		nl := strings.HasSuffix(line, "\n")
		out.WriteString(strings.TrimRight(line, " \n"))
		if nl {
			out.WriteByte('\n')
		}
	}
	_, err := t.w.Write(out.Bytes())
	return err
}

func newTable(w io.Writer, header []string) *table {
	t := &table{w: w}
	t.Table = tablewriter.NewTable(&t.buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off, ShowHeader: tw.Off},
				Lines:      tw.Lines{ShowTop: tw.Off, ShowBottom: tw.Off, ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "  ", Overwrite: true}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(header)
	return t
}

// RenderStatTable writes `show stat` rows as tables for people: first the
// frontends, then one block of lines per backend, its servers in the
// daemon's order followed by the BACKEND total line. When rows come from
// several daemons (Socket set), a SOCKET column comes first.
//
// Server columns: STATUS as the daemon words it; WEIGHT (effective);
// ROLE active/backup (for the BACKEND line: active and backup servers up);
// CUR, MAX, TOTAL sessions; QUEUE current/max; IN and OUT bytes; ERRORS =
// connection + response errors (econ+eresp); LAST CHECK = check status and
// duration; CHANGED = time since the last state change.
func RenderStatTable(w io.Writer, rows []StatRow, opts TableOptions) error {
	withSocket := hasSocket(rows)
	var fes, bes []StatRow
	for _, r := range rows {
		switch r.Type() {
		case TypeFrontend:
			fes = append(fes, r)
		case TypeBackend, TypeServer:
			bes = append(bes, r)
		}
	}
	wrote := false
	if len(fes) > 0 && !opts.NoFrontends {
		h := []string{"FRONTEND", "STATUS", "CUR", "MAX", "LIMIT", "TOTAL", "IN", "OUT", "ERRORS", "DENIED"}
		t := newTable(w, prependSocket(withSocket, h))
		for _, r := range fes {
			t.Append(socketCell(withSocket, r.Socket, []string{
				r.Proxy(), r.Str("status"),
				num(r, "scur"), num(r, "smax"), num(r, "slim"), num(r, "stot"),
				bytesHuman(r, "bin"), bytesHuman(r, "bout"),
				num(r, "ereq"), sum(r, "dreq", "dcon", "dses"),
			}))
		}
		if err := t.Render(); err != nil {
			return err
		}
		wrote = true
	}
	if len(bes) > 0 {
		if wrote {
			fmt.Fprintln(w)
		}
		h := []string{"BACKEND", "SERVER", "STATUS", "WEIGHT", "ROLE", "CUR", "MAX", "TOTAL", "QUEUE", "IN", "OUT", "ERRORS", "LAST CHECK", "CHANGED"}
		t := newTable(w, prependSocket(withSocket, h))
		prev := ""
		for _, r := range bes {
			key := r.Socket + "\x00" + r.Proxy()
			be, sock := r.Proxy(), r.Socket
			if key == prev {
				be, sock = "", "" // grouped: name the backend on its first line only
			}
			prev = key
			t.Append(socketCell(withSocket, sock, []string{
				be, r.Name(), r.Str("status"), num(r, "weight"), role(r),
				num(r, "scur"), num(r, "smax"), num(r, "stot"),
				num(r, "qcur") + "/" + num(r, "qmax"),
				bytesHuman(r, "bin"), bytesHuman(r, "bout"),
				sum(r, "econ", "eresp"), lastCheck(r), since(r, "lastchg"),
			}))
		}
		if err := t.Render(); err != nil {
			return err
		}
		wrote = true
	}
	if !wrote {
		fmt.Fprintln(w, "no frontend, backend or server")
	}
	return nil
}

func prependSocket(on bool, h []string) []string {
	if !on {
		return h
	}
	return append([]string{"SOCKET"}, h...)
}

// socketCell puts the socket cell in front of cells when the table has a
// SOCKET column.
func socketCell(on bool, socket string, cells []string) []string {
	if !on {
		return cells
	}
	return append([]string{socket}, cells...)
}

// num returns a numeric column as written, "-" when empty.
func num(r StatRow, col string) string {
	if v := r.Str(col); v != "" {
		return v
	}
	return "-"
}

// sum adds numeric columns; "-" when none has a value.
func sum(r StatRow, cols ...string) string {
	var n int64
	any := false
	for _, c := range cols {
		if v, ok := r.IntOK(c); ok {
			n += v
			any = true
		}
	}
	if !any {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

// role is "active" or "backup" for a server; for a BACKEND line, the number
// of active and backup servers that are up, e.g. "2 act, 1 bck".
func role(r StatRow) string {
	if r.Type() == TypeBackend {
		return fmt.Sprintf("%s act, %s bck", num(r, "act"), num(r, "bck"))
	}
	switch {
	case r.Str("bck") == "1":
		return "backup"
	case r.Str("act") == "1":
		return "active"
	}
	return "-"
}

// lastCheck is the check status with its duration, e.g. "L4OK 0ms" or
// "* L7OK 3ms" while a check runs; "-" without a check.
func lastCheck(r StatRow) string {
	st := r.Str("check_status")
	if st == "" {
		return "-"
	}
	if d, ok := r.IntOK("check_duration"); ok && d >= 0 {
		return fmt.Sprintf("%s %dms", st, d)
	}
	return st
}

// since renders a number of seconds as a short duration: 45s, 3m12s, 5h3m,
// 12d4h. "-" when empty.
func since(r StatRow, col string) string {
	s, ok := r.IntOK(col)
	if !ok || s < 0 {
		return "-"
	}
	return HumanSeconds(s)
}

// HumanSeconds renders seconds as a short duration with at most two units:
// 45s, 3m12s, 5h3m, 12d4h.
func HumanSeconds(s int64) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
}

func bytesHuman(r StatRow, col string) string {
	n, ok := r.IntOK(col)
	if !ok {
		return "-"
	}
	return HumanBytes(n)
}

// HumanBytes renders a byte count with binary units: 512B, 1.5KiB, 20.0MiB.
func HumanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		f /= 1024
		if f < 1024 || u == "PiB" {
			return fmt.Sprintf("%.1f%s", f, u)
		}
	}
	return strconv.FormatInt(n, 10) // unreachable
}

// RenderSessions writes sessions as a table: ID, PROTO, SOURCE, FRONTEND,
// AGE, with a SOCKET column first when socket names are given (one per
// session, same order).
func RenderSessions(w io.Writer, sessions []Session, sockets []string) error {
	withSocket := len(sockets) == len(sessions) && len(sockets) > 0
	h := []string{"ID", "PROTO", "SOURCE", "FRONTEND", "BACKEND", "SERVER", "AGE"}
	if withSocket {
		h = append([]string{"SOCKET"}, h...)
	}
	t := newTable(w, h)
	for i, s := range sessions {
		row := []string{s.ID, s.Proto, s.Src, s.Frontend, s.Backend, s.Server, orDash(s.Age)}
		if withSocket {
			row = append([]string{sockets[i]}, row...)
		}
		t.Append(row)
	}
	return t.Render()
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
