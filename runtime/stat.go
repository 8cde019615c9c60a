package runtime

import (
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"pivot/core"
)

// statFormat is how `show stat` and `show info` print their fields.
type statFormat int

const (
	formatCSV   statFormat = iota // show stat: CSV; show info: "Name: value"
	formatTyped                   // one "<position>.<name>...:<tags>:<type>:<value>" line per field
	formatJSON                    // one line of JSON
)

// statRequest is a parsed `show stat` command line:
//
//	show stat [domain proxy|resolvers] [{<iid>|<proxy>} <type> <sid>] [typed|json] [desc] [up|no-maint]
//
// Its zero value asks for every row in CSV.
type statRequest struct {
	format    statFormat
	desc      bool // add each field's description (typed output only)
	up        bool // hide servers in maintenance and servers down for good
	noMaint   bool // hide servers in maintenance
	resolvers bool // the resolvers domain: pivot has none, so only a header

	// bound is set when the object filter was given. proxy is its first
	// word, looked up as a proxy name first; proxyNum is that word read as
	// C's atoi reads it, used when no proxy has that name. -1 means all.
	bound    bool
	proxy    string
	proxyNum int
	typeMask int // 1<<core.RowType bits; -1 all
	sid      int // server or listener id; -1 all
}

var (
	errStatDomain = errors.New("Invalid statistics domain.")
	errNoProxy    = errors.New("No such proxy.")
)

// parseShowStat reads the words after "show stat" the way HAProxy 2.6
// does. Any three words after the optional domain are the object filter,
// even modifiers: `show stat typed json desc` filters on a proxy named
// "typed" and fails with "No such proxy.". Unknown modifiers are ignored,
// and of typed and json the last one wins.
func parseShowStat(args []string) (statRequest, error) {
	var req statRequest
	if len(args) > 0 && args[0] == "domain" {
		switch wordAt(args, 1) {
		case "proxy":
		case "resolvers":
			req.resolvers = true
		default:
			return statRequest{}, errStatDomain
		}
		args = args[2:]
	}
	if wordAt(args, 0) != "" && wordAt(args, 1) != "" && wordAt(args, 2) != "" {
		req.bound = true
		req.proxy, req.proxyNum = args[0], cAtoi(args[0])
		req.typeMask, req.sid = cAtoi(args[1]), cAtoi(args[2])
		args = args[3:]
	}
	for _, a := range args {
		switch a {
		case "typed":
			req.format = formatTyped
		case "json":
			req.format = formatJSON
		case "desc":
			req.desc = true
		case "up":
			req.up = true
		case "no-maint":
			req.noMaint = true
		}
	}
	return req, nil
}

// wordAt returns args[i], or "" past the end.
func wordAt(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// cAtoi reads s as C's atoi does on a 64-bit Linux: leading white space,
// an optional sign, then digits up to the first other byte; no digits
// give 0. strtol saturates at the int64 limits and the cast to int keeps
// the low 32 bits, so HAProxy sees "99999999999999999999" as -1.
func cAtoi(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n uint64
	over := false
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + uint64(s[i]-'0')
		if n > math.MaxInt64 {
			over = true
			break
		}
	}
	var v int64
	switch {
	case over && neg:
		v = math.MinInt64
	case over:
		v = math.MaxInt64
	case neg:
		v = -int64(n)
	default:
		v = int64(n)
	}
	return int(int32(v))
}

// statHeader is the CSV header: the 2.6.12 static columns, the "-"
// column that ends the static part, then the stats modules' columns
// (see moduleFields).
var statHeader = func() string {
	var b strings.Builder
	b.WriteString("# ")
	for _, f := range statFields {
		b.WriteString(f.name)
		b.WriteByte(',')
	}
	b.WriteString("-," + moduleHeader + "\n")
	return b.String()
}()

// resolversHeader is the CSV header of `show stat domain resolvers`.
// pivot resolves names once, at start, and has no resolvers section, so
// that domain has no rows.
const resolversHeader = "# id,pid,sent,send_error,valid,update,cname,cname_error,any_err,nx,timeout,refused,other,invalid,too_big,truncated,outdated,\n"

// writeStat prints `show stat` for rows, which core.Stats returns in
// HAProxy's order. showSensitive fills addr, cookie and algo; HAProxy
// does so only on sockets whose configured level is operator or admin.
//
// Listener rows are never printed: HAProxy shows them only for frontends
// with `option socket-stats`, which pivot does not support, so hiding
// them gives the same output as HAProxy for the same configuration.
func writeStat(w io.Writer, rows []core.StatRow, req statRequest, showSensitive bool) error {
	if req.resolvers {
		switch req.format {
		case formatCSV:
			io.WriteString(w, resolversHeader)
		case formatJSON:
			io.WriteString(w, "[]\n")
		}
		return nil
	}
	return writeStatRows(w, rows, req, showSensitive, false)
}

// writeStatRows prints the rows that req selects, listener rows only if
// listeners is set.
func writeStatRows(w io.Writer, rows []core.StatRow, req statRequest, showSensitive, listeners bool) error {
	iid := -1
	if req.bound {
		iid = proxyID(rows, req.proxy, req.proxyNum)
		if iid == 0 {
			return errNoProxy
		}
	}
	counts := countServers(rows)
	shown := func(r *core.StatRow) bool {
		return (listeners || r.Type != core.RowListener) && req.selects(r, iid)
	}
	env := func(r *core.StatRow) statEnv {
		return statEnv{sensitive: showSensitive, filtered: req.up || req.noMaint, servers: counts[r.ProxyID]}
	}
	if req.format == formatCSV {
		// CSV is written row by row: an object is ~5 KB of cells, and
		// collecting them first cost 16 MB and 14.7 ms for a backend of
		// 1,000 servers (BenchmarkShowStat), against ~1 ms streamed.
		csv := csvWriter{w: w, b: make([]byte, 0, 40<<10)}
		csv.b = append(csv.b, statHeader...)
		for i := range rows {
			if r := &rows[i]; shown(r) {
				cells := statCells(r, env(r))
				csv.row(&cells, r)
			}
		}
		csv.flush()
		return nil
	}
	var objs []statObject
	for i := range rows {
		if r := &rows[i]; shown(r) {
			objs = append(objs, statObject{row: r, cells: statCells(r, env(r))})
		}
	}
	if req.format == formatTyped {
		writeStatTyped(w, objs, req.desc)
	} else {
		writeStatJSON(w, objs)
	}
	return nil
}

// proxyID resolves the first word of the object filter: a proxy's name,
// else a number. 0 means no such proxy.
func proxyID(rows []core.StatRow, name string, num int) int {
	for _, r := range rows {
		if r.Proxy == name {
			return r.ProxyID
		}
	}
	return num
}

// selects reports whether row r is printed, iid being the resolved proxy
// filter (-1 all).
func (req statRequest) selects(r *core.StatRow, iid int) bool {
	if req.bound {
		if iid != -1 && r.ProxyID != iid {
			return false
		}
		if req.typeMask&(1<<r.Type) == 0 {
			return false
		}
		if (r.Type == core.RowServer || r.Type == core.RowListener) && req.sid != -1 && r.ID != req.sid {
			return false
		}
	}
	if r.Type != core.RowServer {
		return true
	}
	if (req.up || req.noMaint) && r.AdminBits.Maint() {
		return false
	}
	if req.up && r.OpState == core.OpStopped && (!r.HasCheck || r.CheckHealth == 0) {
		return false // down for good: no check to bring it back, or health at the bottom
	}
	return true
}

// serverCount is what a BACKEND row needs to know about its servers.
type serverCount struct {
	total int // all servers
	up    int // servers not stopped (maintenance stops them)
}

func countServers(rows []core.StatRow) map[int]serverCount {
	counts := make(map[int]serverCount)
	for _, r := range rows {
		if r.Type != core.RowServer {
			continue
		}
		c := counts[r.ProxyID]
		c.total++
		if r.OpState != core.OpStopped && !r.AdminBits.Maint() {
			c.up++
		}
		counts[r.ProxyID] = c
	}
	return counts
}

// statObject is one row ready to print: its cells in column order.
type statObject struct {
	row   *core.StatRow
	cells [numStatFields]cell
}

// A cell is one field of one row. An unset cell does not apply to the
// row: it is empty in CSV and left out of typed and JSON output. A set
// string cell may still be empty (last_chk with no details).
type cell struct {
	set bool
	str string
	num int64
}

func cellNum(n int64) cell  { return cell{set: true, num: n} }
func cellStr(s string) cell { return cell{set: true, str: s} }

// cellNumIf is cellNum(n) when ok, else an unset cell.
func cellNumIf(ok bool, n int64) cell {
	if !ok {
		return cell{}
	}
	return cellNum(n)
}

// format prints c as a value of type typ, without CSV quoting.
func (c cell) format(typ string) string {
	if typ == "str" {
		return c.str
	}
	return string(c.appendNum(nil, typ))
}

// appendNum appends c's number as a value of type typ (not "str").
func (c cell) appendNum(b []byte, typ string) []byte {
	switch typ {
	case "u32":
		return strconv.AppendUint(b, uint64(uint32(c.num)), 10)
	case "s32":
		return strconv.AppendInt(b, int64(int32(c.num)), 10)
	case "u64":
		return strconv.AppendUint(b, uint64(c.num), 10)
	}
	return strconv.AppendInt(b, c.num, 10)
}

// csvWriter writes show stat's CSV rows, in pieces of about 32 KB, from
// one buffer: numbers are appended to it, never made into strings. For a
// backend of 1,000 servers (BenchmarkShowStat) a string per cell and a
// strings.Builder per piece took 2.5-3.2 ms and allocated 2 MB; this
// takes 0.8-1.2 ms and its one 40 KB buffer.
type csvWriter struct {
	w io.Writer
	b []byte
}

func (c *csvWriter) row(cells *[numStatFields]cell, r *core.StatRow) {
	for i := range cells {
		if cl := &cells[i]; cl.set {
			if typ := statFields[i].typ; typ == "str" {
				c.b = appendCSV(c.b, cl.str)
			} else {
				c.b = cl.appendNum(c.b, typ)
			}
		}
		c.b = append(c.b, ',')
	}
	c.b = append(c.b, "-,"...)
	c.b = appendModuleCSV(c.b, r)
	c.b = append(c.b, '\n')
	if len(c.b) > 32<<10 { // stream big dumps
		c.flush()
	}
}

func (c *csvWriter) flush() {
	c.w.Write(c.b)
	c.b = c.b[:0]
}

// csvQuote wraps s in double quotes, doubling the ones inside, when it
// holds a comma, a quote or a line break; HAProxy leaves anything else raw.
func csvQuote(s string) string { return string(appendCSV(nil, s)) }

// needsQuotes reports whether s holds a comma, a quote or a line break:
// a loop over the bytes, where strings.ContainsAny built its set of
// characters again for every cell (a quarter of BenchmarkShowStat).
func needsQuotes(s string) bool {
	for i := range len(s) {
		switch s[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// appendCSV appends s, quoted as csvQuote does.
func appendCSV(b []byte, s string) []byte {
	if !needsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := range len(s) {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
