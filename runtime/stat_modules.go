package runtime

import (
	"strconv"
	"strings"

	"pivot/core"
)

// moduleFields are the columns HAProxy 2.6 prints after "-": those of
// its SSL, HTTP/2 and HTTP/1 stats modules, as Debian's build registers
// them. pivot relays TCP only, so their values are 0 — which is exactly
// what HAProxy prints for a TCP proxy, HTTP health checks aside — and
// printing them keeps
// `show stat` byte-identical to HAProxy's for tools that compare or index
// the whole line. In typed and JSON output their position is one less
// than their CSV index, since "-" is not a field there.
var moduleFields = func() []typedField {
	var list []typedField
	add := func(tags string, names ...string) {
		for _, n := range names {
			list = append(list, typedField{name: n, tags: tags, typ: "u64", desc: "pivot relays TCP: 0, but for the HTTP/1 traffic of HTTP health checks"})
		}
	}
	add("MCP", "ssl_sess", "ssl_reused_sess", "ssl_failed_handshake",
		"h2_headers_rcvd", "h2_data_rcvd", "h2_settings_rcvd", "h2_rst_stream_rcvd", "h2_goaway_rcvd",
		"h2_detected_conn_protocol_errors", "h2_detected_strm_protocol_errors", "h2_rst_stream_resp", "h2_goaway_resp")
	add("MGP", "h2_open_connections", "h2_backend_open_streams")
	add("MCP", "h2_total_connections", "h2_backend_total_streams")
	add("MGP", "h1_open_connections", "h1_open_streams")
	add("MCP", "h1_total_connections", "h1_total_streams", "h1_bytes_in", "h1_bytes_out",
		"h1_spliced_bytes_in", "h1_spliced_bytes_out")
	return list
}()

// moduleValue is module column i of row r: the HTTP/1 columns count a
// backend's HTTP health checks, as HAProxy counts them; the rest is 0.
func moduleValue(i int, r *core.StatRow) int64 {
	switch moduleFields[i].name {
	case "h1_total_connections", "h1_total_streams":
		return r.H1Conns
	case "h1_bytes_in":
		return r.H1BytesIn
	case "h1_bytes_out":
		return r.H1BytesOut
	}
	return 0
}

// moduleApplies reports whether module column i has a value on a row of
// type t: the SSL module's three on every row, the HTTP ones on frontends
// and backends only.
func moduleApplies(i int, t core.RowType) bool {
	return i < 3 || t == core.RowFrontend || t == core.RowBackend
}

// moduleHeader is the part of the CSV header after "-,".
var moduleHeader = func() string {
	var b strings.Builder
	for _, f := range moduleFields {
		b.WriteString(f.name + ",")
	}
	return b.String()
}()

// appendModuleCSV appends a row's cells after "-,".
func appendModuleCSV(b []byte, r *core.StatRow) []byte {
	for i := range moduleFields {
		if moduleApplies(i, r.Type) {
			b = strconv.AppendInt(b, moduleValue(i, r), 10)
		}
		b = append(b, ',')
	}
	return b
}
