package ctl

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Row types of `show stat`, as in its `type` column.
const (
	TypeFrontend = 0
	TypeBackend  = 1
	TypeServer   = 2
	TypeListener = 3
)

// StatRow is one line of `show stat`: a frontend, a backend, a server or a
// listener. Values are kept as the daemon wrote them and read by column
// name, never by position, because HAProxy adds columns between versions.
// The zero StatRow has no fields; every getter then returns its zero value.
type StatRow struct {
	// Socket names the daemon the row came from. ParseStatCSV leaves it
	// empty; callers that merge several daemons set it.
	Socket string
	// Fields maps a column name (pxname, svname, scur, ...) to its raw value.
	Fields map[string]string
	// Columns is the header of the answer the row came from, in order. Rows
	// of one answer share it.
	Columns []string
}

// Str returns the raw value of column col, or "" when the column is absent
// or empty.
func (r StatRow) Str(col string) string { return r.Fields[col] }

// Has tells whether the answer had column col (even if empty in this row).
func (r StatRow) Has(col string) bool {
	_, ok := r.Fields[col]
	return ok
}

// Int returns column col as an integer, or 0 when it is absent, empty or
// not a number. Values above the int64 range (HAProxy's u64 -1 in
// check_duration) also give 0; use IntOK to tell.
func (r StatRow) Int(col string) int64 {
	n, _ := r.IntOK(col)
	return n
}

// IntOK returns column col as an integer and whether it held one.
func (r StatRow) IntOK(col string) (int64, bool) {
	n, err := strconv.ParseInt(r.Fields[col], 10, 64)
	return n, err == nil
}

// Proxy returns the pxname column: the frontend or backend name.
func (r StatRow) Proxy() string { return r.Fields["pxname"] }

// Name returns the svname column: FRONTEND, BACKEND, a server or a listener.
func (r StatRow) Name() string { return r.Fields["svname"] }

// Type returns the type column (TypeFrontend ... TypeListener), or, for an
// answer without that column, a guess from svname.
func (r StatRow) Type() int {
	if n, ok := r.IntOK("type"); ok {
		return int(n)
	}
	switch r.Name() {
	case "FRONTEND":
		return TypeFrontend
	case "BACKEND":
		return TypeBackend
	}
	return TypeServer
}

// ParseStatCSV reads the CSV answer of `show stat`: a header line starting
// with "# " that names the columns, then one line per object. Every field,
// the last one too, is followed by a comma in HAProxy's output; the empty
// trailing column is dropped. Fields quoted with `"` may hold commas,
// quotes and newlines. The answer's final empty line is optional. Short rows
// leave their missing columns absent; extra values beyond the header are
// ignored.
func ParseStatCSV(r io.Reader) ([]StatRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("show stat: empty answer")
	}
	if err != nil {
		return nil, fmt.Errorf("show stat: header: %w", err)
	}
	if len(header) == 0 || !strings.HasPrefix(header[0], "# ") {
		return nil, fmt.Errorf("show stat: answer is not CSV with a \"# \" header: %q", firstLine(strings.Join(header, ",")))
	}
	header[0] = strings.TrimPrefix(header[0], "# ")
	var cols []string
	index := make([]int, 0, len(header)) // header position of cols[i]
	seen := map[string]bool{}
	for i, name := range header {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		cols = append(cols, name)
		index = append(index, i)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("show stat: header names no column")
	}
	var rows []StatRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("show stat: %w", err)
		}
		f := make(map[string]string, len(cols))
		for i, name := range cols {
			if index[i] < len(rec) {
				f[name] = rec[index[i]]
			}
		}
		rows = append(rows, StatRow{Fields: f, Columns: cols})
	}
}

// statColumns returns the union of the rows' columns, in order of first
// appearance.
func statColumns(rows []StatRow) []string {
	var cols []string
	seen := map[string]bool{}
	for _, r := range rows {
		for _, c := range r.Columns {
			if !seen[c] {
				seen[c] = true
				cols = append(cols, c)
			}
		}
	}
	return cols
}

func hasSocket(rows []StatRow) bool {
	for _, r := range rows {
		if r.Socket != "" {
			return true
		}
	}
	return false
}

// WriteStatCSV writes rows in HAProxy's `show stat` CSV format: a "# "
// header, a comma after every field, quotes only where needed, and no
// terminating empty line. When any row has a Socket, a first column named
// "socket" holds it.
func WriteStatCSV(w io.Writer, rows []StatRow) error {
	cols := statColumns(rows)
	withSocket := hasSocket(rows)
	var b bytes.Buffer
	header := cols
	if withSocket {
		header = append([]string{"socket"}, cols...)
	}
	for i, c := range header {
		if i == 0 {
			c = "# " + c // quoted with the name if the name needs it
		}
		b.WriteString(csvField(c))
		b.WriteByte(',')
	}
	b.WriteByte('\n')
	for _, r := range rows {
		if withSocket {
			b.WriteString(csvField(r.Socket))
			b.WriteByte(',')
		}
		for _, c := range cols {
			b.WriteString(csvField(r.Fields[c]))
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// csvField quotes s the way HAProxy does: only when it holds a comma, a
// quote, CR or LF, doubling inner quotes.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// Columns whose values are text even when they look like numbers.
var textColumns = map[string]bool{
	"pxname": true, "svname": true, "status": true, "tracked": true,
	"check_status": true, "last_chk": true, "last_agt": true,
	"agent_status": true, "check_desc": true, "agent_desc": true,
	"addr": true, "cookie": true, "mode": true, "algo": true, "-": true,
}

// WriteStatJSON writes rows as a JSON array with one object per row. Keys
// are the column names in the daemon's order; empty values are left out, as
// HAProxy's own `show stat json` does. Numbers are JSON numbers, text
// columns (pxname, svname, status, addr, check_desc, ...) are strings. When
// any row has a Socket, each object starts with a "socket" key.
func WriteStatJSON(w io.Writer, rows []StatRow) error {
	objs := make([]json.RawMessage, 0, len(rows))
	for _, r := range rows {
		var b bytes.Buffer
		b.WriteByte('{')
		first := true
		add := func(k string, v []byte) {
			if !first {
				b.WriteByte(',')
			}
			first = false
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			b.Write(v)
		}
		if r.Socket != "" {
			v, _ := json.Marshal(r.Socket)
			add("socket", v)
		}
		for _, c := range r.Columns {
			v := r.Fields[c]
			if v == "" {
				continue
			}
			if !textColumns[c] && isJSONInteger(v) {
				add(c, []byte(v))
				continue
			}
			vb, _ := json.Marshal(v)
			add(c, vb)
		}
		b.WriteByte('}')
		objs = append(objs, b.Bytes())
	}
	out, err := json.MarshalIndent(objs, "", "  ")
	if err != nil {
		return err
	}
	out = append(out, '\n')
	_, err = w.Write(out)
	return err
}

// isJSONInteger accepts an optional minus sign and decimal digits without a
// leading zero, which JSON takes as a number of any size.
func isJSONInteger(s string) bool {
	d := strings.TrimPrefix(s, "-")
	if d == "" || len(d) > 1 && d[0] == '0' {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// StatFilter selects rows of `show stat`. Its zero value keeps every row.
type StatFilter struct {
	// Backends keeps the server and BACKEND rows of these proxies (and
	// drops frontends and listeners). Empty keeps all proxies.
	Backends []string
	// Servers keeps only server rows with one of these names; a name may be
	// written B/S to name the backend too. Empty keeps all servers and the
	// BACKEND rows.
	Servers []string
}

// Filter returns the rows that f keeps, in order. It returns a
// *NotFoundError when a backend or server named in f matches no row, so a
// typo is not mistaken for an empty backend.
func (f StatFilter) Filter(rows []StatRow) ([]StatRow, error) {
	if len(f.Backends) == 0 && len(f.Servers) == 0 {
		return rows, nil
	}
	wantBe := map[string]bool{}
	for _, b := range f.Backends {
		wantBe[b] = true
	}
	foundBe := map[string]bool{}
	foundSrv := map[string]bool{}
	var out []StatRow
	for _, r := range rows {
		t := r.Type()
		if t != TypeServer && t != TypeBackend {
			continue
		}
		if len(wantBe) > 0 && !wantBe[r.Proxy()] {
			continue
		}
		foundBe[r.Proxy()] = true
		if len(f.Servers) == 0 {
			out = append(out, r)
			continue
		}
		if t != TypeServer {
			continue
		}
		for _, s := range f.Servers {
			be, name, qualified := strings.Cut(s, "/")
			if !qualified {
				name, be = s, ""
			}
			if name == r.Name() && (be == "" || be == r.Proxy()) {
				foundSrv[s] = true
				out = append(out, r)
				break
			}
		}
	}
	for _, b := range f.Backends {
		if !foundBe[b] {
			return nil, &NotFoundError{Kind: "backend", Name: b}
		}
	}
	for _, s := range f.Servers {
		if !foundSrv[s] {
			return nil, &NotFoundError{Kind: "server", Name: s}
		}
	}
	return out, nil
}
