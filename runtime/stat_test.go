package runtime

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"pivot/core"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// checked fills the columns of a server with an enabled L4 check.
func checked(r core.StatRow, num core.CheckStatus, health int64) core.StatRow {
	r.HasCheck, r.CheckShown = true, true
	r.CheckNum, r.CheckStatus, r.CheckDesc = num, num.Code(), num.Desc()
	r.CheckRise, r.CheckFall, r.CheckHealth = 2, 2, health
	r.CheckState = 0x6
	return r
}

// server returns a running, unchecked server of proxy app (id 3).
func server(id int, name string) core.StatRow {
	return core.StatRow{
		Type: core.RowServer, Proxy: "app", Name: name, ProxyID: 3, ID: id, Mode: "tcp",
		Status: "no check", Weight: 1, UWeight: 1, IWeight: 1, Act: 1, LastChg: 70,
		LastSess: -1, Throttle: -1, OpState: core.OpRunning, CheckNum: core.CheckInit,
		Addr: "127.0.0.1:2100" + string(rune('0'+id)), IP: "127.0.0.1", Port: 21000 + int64(id),
	}
}

// fixture is a small configuration in every state the formats care
// about: a frontend with one listener, a backend with servers UP, DOWN
// 1/2, MAINT, DRAIN, unchecked with maxconn and maxqueue, backup, warming
// up and initializing, and a backend without servers.
func fixture() []core.StatRow {
	up := checked(server(1, "up1"), core.CheckL4OK, 3)
	up.Status, up.SCur, up.SMax, up.STot, up.BIn, up.BOut, up.LBTot, up.Connect = "UP", 1, 2, 5, 140, 260, 5, 5
	up.ConnsMax = 2
	up.Rate, up.RateMax, up.LastSess, up.TTime, up.TTimeMax, up.CTime, up.CTimeMax = 1, 2, 4, 3, 12, 1, 2

	down := checked(server(2, "down1"), core.CheckL4Con, 1)
	down.Status, down.OpState, down.ChkFail, down.ChkDown, down.Downtime, down.LastChg = "DOWN 1/2", core.OpStopped, 3, 1, 30, 30
	down.LastChk, down.ECon = `refused, then "reset"`, 2

	maint := checked(server(3, "m1"), core.CheckL4OK, 0)
	maint.CheckShown, maint.CheckState = false, 0xe
	maint.Status, maint.OpState, maint.AdminBits, maint.Downtime = "MAINT", core.OpStopped, core.AdminForcedMaint, 70

	drain := checked(server(4, "d1"), core.CheckL4OK, 3)
	drain.Status, drain.AdminBits, drain.LastChg = "DRAIN", core.AdminForcedDrain, 0
	drain.CheckStatus, drain.CheckState = "* L4OK", 0x7 // a check runs now

	nc := server(5, "nc1")
	nc.SLim, nc.QLimit, nc.Weight, nc.UWeight, nc.IWeight = 10, 5, 20, 20, 20
	nc.CheckNum, nc.CheckHealth = core.CheckInit, 2

	backup := checked(server(6, "b1"), core.CheckL4OK, 3)
	backup.Status, backup.Act, backup.Bck, backup.Backup = "UP", 0, 1, true

	slow := checked(server(7, "ss1"), core.CheckL4OK, 3)
	slow.Status, slow.OpState, slow.Throttle, slow.LastChg = "UP", core.OpStarting, 40, 6

	ini := checked(server(8, "ini1"), core.CheckInit, 2)
	ini.Status, ini.CheckFall, ini.IP, ini.FQDN = "UP 1/3", 3, "", "db.example"
	ini.CheckPort, ini.CheckAddr = 5432, "127.0.0.2"

	return []core.StatRow{
		{Type: core.RowFrontend, Proxy: "fe", Name: "FRONTEND", ProxyID: 2, Mode: "tcp", Status: "OPEN",
			SCur: 1, SMax: 2, SLim: 500, STot: 5, BIn: 140, BOut: 260, RateLim: 100, Rate: 1, RateMax: 2,
			ConnRate: 1, ConnRateMax: 2, ConnTot: 6, EReq: 1},
		{Type: core.RowListener, Proxy: "fe", Name: "l1", ProxyID: 2, ID: 1, Mode: "tcp", Status: "OPEN",
			SCur: 1, SMax: 2, STot: 5, BIn: 140, BOut: 260, Addr: "127.0.0.1:20001"},
		up, down, maint, drain, nc, backup, slow, ini,
		{Type: core.RowBackend, Proxy: "app", Name: "BACKEND", ProxyID: 3, Mode: "tcp", Status: "UP",
			SCur: 1, SMax: 2, SLim: 50, STot: 5, BIn: 140, BOut: 260, ECon: 2, LBTot: 5, Connect: 7,
			Weight: 23, UWeight: 23, Act: 5, Bck: 1, LastChg: 70, ChkDown: 0, LastSess: 4, Algo: "roundrobin",
			Rate: 1, RateMax: 2, TTime: 3, TTimeMax: 12, CTime: 1, CTimeMax: 2},
		{Type: core.RowBackend, Proxy: "empty", Name: "BACKEND", ProxyID: 4, Mode: "tcp", Status: "UP",
			SLim: 1, LastChg: 70, LastSess: -1, Algo: "leastconn"},
	}
}

func TestWriteStatGolden(t *testing.T) {
	tests := []struct {
		file      string
		args      string
		sensitive bool
	}{
		{"stat.csv", "", true},
		{"stat_user.csv", "", false},
		{"stat_up.csv", "up", true},
		{"stat_nomaint.csv", "no-maint", true},
		{"stat_typed.txt", "typed", true},
		{"stat_typed_desc.txt", "typed desc", true},
		{"stat_json.txt", "json", true},
		{"stat_servers_of_3.csv", "3 4 -1", true},
		{"stat_app_server_2_typed.txt", "app 4 2 typed", true},
		{"stat_backends.csv", "domain proxy -1 2 -1", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			req, err := parseShowStat(strings.Fields(tt.args))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := writeStat(&b, fixture(), req, tt.sensitive); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, b.Bytes())
		})
	}
}

// Listener rows are hidden by writeStat (pivot has no `option
// socket-stats`); their format is still HAProxy's.
func TestListenerRowFormat(t *testing.T) {
	rows := fixture()[:2]
	for _, format := range []string{"", "typed"} {
		req, _ := parseShowStat(strings.Fields(format))
		var b bytes.Buffer
		if err := writeStatRows(&b, rows, req, true, true); err != nil {
			t.Fatal(err)
		}
		golden(t, "stat_listener"+map[string]string{"": ".csv", "typed": "_typed.txt"}[format], b.Bytes())
	}
}

func TestWriteStatHidesListeners(t *testing.T) {
	var b bytes.Buffer
	writeStat(&b, fixture(), statRequest{}, true)
	if strings.Contains(b.String(), "\nfe,l1,") {
		t.Errorf("show stat printed a listener row:\n%s", b.String())
	}
}

// The static part of HAProxy 2.6.12's header (runtime-api.md, 4.2).
const header2612 = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,"

// The module columns Debian's 2.6.12 build prints after "-" (4.2).
const modules2612 = "ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,"

func TestStatHeaderIsHAProxy2612(t *testing.T) {
	if got, want := statHeader, header2612+modules2612+"\n"; got != want {
		t.Errorf("header:\ngot  %q\nwant %q", got, want)
	}
	// Every row has as many fields as the header.
	var b bytes.Buffer
	writeStat(&b, fixture(), statRequest{}, true)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for _, l := range lines[1:] {
		if n, want := strings.Count(l, ","), strings.Count(header2612+modules2612, ","); n != want && !strings.Contains(l, `"`) {
			t.Errorf("row has %d commas; want %d: %q", n, want, l)
		}
	}
}

func TestParseShowStat(t *testing.T) {
	tests := []struct {
		args    string
		want    statRequest
		wantErr string
	}{
		{"", statRequest{}, ""},
		{"typed", statRequest{format: formatTyped}, ""},
		{"json", statRequest{format: formatJSON}, ""},
		{"json typed", statRequest{format: formatTyped}, ""},
		{"typed json", statRequest{format: formatJSON}, ""},
		{"desc", statRequest{desc: true}, ""},
		{"up", statRequest{up: true}, ""},
		{"no-maint", statRequest{noMaint: true}, ""},
		{"up no-maint", statRequest{up: true, noMaint: true}, ""},
		{"bogus", statRequest{}, ""},
		{"typed desc", statRequest{format: formatTyped, desc: true}, ""},
		// Three words are the object filter, whatever they are.
		{"-1 -1 -1", statRequest{bound: true, proxy: "-1", proxyNum: -1, typeMask: -1, sid: -1}, ""},
		{"3 4 -1", statRequest{bound: true, proxy: "3", proxyNum: 3, typeMask: 4, sid: -1}, ""},
		{"app 4 2 typed up", statRequest{bound: true, proxy: "app", typeMask: 4, sid: 2, format: formatTyped, up: true}, ""},
		{"typed json desc", statRequest{bound: true, proxy: "typed", typeMask: 0, sid: 0}, ""},
		{"3abc 1x +2", statRequest{bound: true, proxy: "3abc", proxyNum: 3, typeMask: 1, sid: 2}, ""},
		{"99999999999999999999 -1 -1", statRequest{bound: true, proxy: "99999999999999999999", proxyNum: -1, typeMask: -1, sid: -1}, ""},
		{"4294967299 -1 -1", statRequest{bound: true, proxy: "4294967299", proxyNum: 3, typeMask: -1, sid: -1}, ""},
		// Two words are not a filter: unknown modifiers.
		{"3 4", statRequest{}, ""},
		{"domain proxy", statRequest{}, ""},
		{"domain proxy 3 2 -1 json", statRequest{bound: true, proxy: "3", proxyNum: 3, typeMask: 2, sid: -1, format: formatJSON}, ""},
		{"domain resolvers", statRequest{resolvers: true}, ""},
		{"domain dns", statRequest{}, "Invalid statistics domain."},
		{"domain", statRequest{}, "Invalid statistics domain."},
		{"domain PROXY", statRequest{}, "Invalid statistics domain."},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			got, err := parseShowStat(strings.Fields(tt.args))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseShowStat(%q): err %v; want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseShowStat(%q): %v", tt.args, err)
			}
			if got != tt.want {
				t.Errorf("parseShowStat(%q) = %+v; want %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestWriteStatFilter(t *testing.T) {
	tests := []struct {
		args    string
		want    []string // pxname,svname of the rows printed
		wantErr string
	}{
		{"-1 -1 -1", []string{"fe,FRONTEND", "app,up1", "app,down1", "app,m1", "app,d1", "app,nc1", "app,b1", "app,ss1", "app,ini1", "app,BACKEND", "empty,BACKEND"}, ""},
		{"3 2 -1", []string{"app,BACKEND"}, ""},
		{"app 4 2", []string{"app,down1"}, ""},
		{"app 6 2", []string{"app,down1", "app,BACKEND"}, ""}, // sid does not apply to BACKEND
		{"2 1 -1", []string{"fe,FRONTEND"}, ""},
		{"2 8 -1", nil, ""}, // listeners hidden
		{"99 -1 -1", nil, ""},
		{"-5 -1 -1", nil, ""},
		{"app xx -1", nil, ""},
		{"3abc 1 -1", nil, ""},
		{"4 -1 -1", []string{"empty,BACKEND"}, ""},
		{"nosuch 4 -1", nil, "No such proxy."},
		{"0 -1 -1", nil, "No such proxy."},
		{"typed desc up", nil, "No such proxy."},
		{"up", []string{"fe,FRONTEND", "app,up1", "app,down1", "app,d1", "app,nc1", "app,b1", "app,ss1", "app,ini1", "app,BACKEND", "empty,BACKEND"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			req, err := parseShowStat(strings.Fields(tt.args))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			err = writeStat(&b, fixture(), req, true)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || b.Len() != 0 {
					t.Fatalf("err %v, output %q; want only %q", err, b.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(b.String(), "\n")[1:] {
				if f := strings.SplitN(l, ",", 3); len(f) == 3 {
					got = append(got, f[0]+","+f[1])
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("rows %q; want %q", got, tt.want)
			}
		})
	}
}

func TestEmptyDumps(t *testing.T) {
	tests := []struct{ args, want string }{
		{"99 -1 -1 typed", ""},
		{"99 -1 -1 json", "[]\n"},
		{"99 -1 -1", statHeader},
		{"domain resolvers", resolversHeader},
		{"domain resolvers typed", ""},
		{"domain resolvers json", "[]\n"},
	}
	for _, tt := range tests {
		req, _ := parseShowStat(strings.Fields(tt.args))
		var b bytes.Buffer
		if err := writeStat(&b, fixture(), req, true); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("show stat %s = %q; want %q", tt.args, b.String(), tt.want)
		}
	}
}

func TestCSVQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text: ok", "plain text: ok"},
		{"a,b", `"a,b"`},
		{`say "hi"`, `"say ""hi"""`},
		{"two\nlines", "\"two\nlines\""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := csvQuote(tt.in); got != tt.want {
			t.Errorf("csvQuote(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzStatArgs(f *testing.F) {
	for _, s := range []string{"", "typed", "json desc", "-1 -1 -1", "app 4 2 up", "domain proxy 3 2 -1 json",
		"domain resolvers", "domain x", "99999999999999999999 -9 +7", "\x00 \xff -"} {
		f.Add(s)
	}
	rows := fixture()
	f.Fuzz(func(t *testing.T, line string) {
		req, err := parseShowStat(strings.Fields(line))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := writeStat(&b, rows, req, true); err != nil && err != errNoProxy {
			t.Fatalf("show stat %q: unexpected error %v", line, err)
		}
	})
}

func fixedInfo() core.Info {
	return core.Info{
		Pid: 4242, Started: time.Unix(1795417051, 0), Uptime: 26*time.Hour + 3*time.Minute + 54*time.Second,
		Nbthread: 2, Ulimit: 20000, Maxconn: 9981, HardMaxconn: 9981,
		CurrConns: 3, CumConns: 410, ConnRate: 2, ConnRateMax: 9, ConnRateLimit: 100,
		SessRate: 2, SessRateMax: 8, Listeners: 4, DroppedLogs: 1, BytesOut: 61226,
		MaxPipes: 2495, PipesUsed: 2, PipesFree: 1,
	}
}

func TestWriteInfoGolden(t *testing.T) {
	for _, tt := range []struct{ file, args string }{
		{"info.txt", ""},
		{"info_desc.txt", "desc"},
		{"info_typed.txt", "typed"},
		{"info_typed_desc.txt", "desc typed float"},
		{"info_json.txt", "typed json desc"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			writeInfo(&b, fixedInfo(), parseShowInfo(strings.Fields(tt.args)), "1.0.0", "2026/11/23", "vm")
			golden(t, tt.file, b.Bytes())
		})
	}
}

func TestParseShowInfo(t *testing.T) {
	tests := []struct {
		args string
		want infoRequest
	}{
		{"", infoRequest{}},
		{"typed", infoRequest{format: formatTyped}},
		{"json", infoRequest{format: formatJSON}},
		{"json typed", infoRequest{format: formatTyped}},
		{"desc float json", infoRequest{format: formatJSON, desc: true}},
		{"nonsense", infoRequest{}},
	}
	for _, tt := range tests {
		if got := parseShowInfo(strings.Fields(tt.args)); got != tt.want {
			t.Errorf("parseShowInfo(%q) = %+v; want %+v", tt.args, got, tt.want)
		}
	}
}

func TestSchemaGolden(t *testing.T) {
	var b bytes.Buffer
	writeSchemaJSON(&b)
	golden(t, "schema.json", b.Bytes())
	if !strings.Contains(b.String(), `"Avg", "Unknown"]`) {
		t.Error(`schema lost HAProxy's space in "Avg", "Unknown"`)
	}
}

func TestServersGolden(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(2))
	rows := fixture()
	var b bytes.Buffer
	for _, be := range []string{"", "app", "empty"} {
		if err := writeServersState(&b, rows, be); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "servers_state.txt", b.Bytes())
	b.Reset()
	for _, be := range []string{"", "empty"} {
		if err := writeServersConn(&b, rows, be, 2); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "servers_conn.txt", b.Bytes())
	b.Reset()
	writeBackendList(&b, rows)
	golden(t, "backend.txt", b.Bytes())
}

func TestServersUnknownBackend(t *testing.T) {
	for _, be := range []string{"nosuch", "fe", "3", "#3"} {
		var b bytes.Buffer
		for name, write := range map[string]func() error{
			"state": func() error { return writeServersState(&b, fixture(), be) },
			"conn":  func() error { return writeServersConn(&b, fixture(), be, 2) },
		} {
			if err := write(); err == nil || err.Error() != "Can't find backend." || b.Len() != 0 {
				t.Errorf("show servers %s %s: err %v, output %q; want only \"Can't find backend.\"", name, be, err, b.String())
			}
		}
	}
}

// BenchmarkShowStat measures the CSV of a backend of 1,000 servers, the
// size pivot-bench times through the socket.
func BenchmarkShowStat(b *testing.B) {
	var rows []core.StatRow
	for i := range 1000 {
		rows = append(rows, checked(server(i+1, fmt.Sprintf("s%d", i+1)), core.CheckL4OK, 3))
	}
	req, err := parseShowStat(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := writeStat(io.Discard, rows, req, true); err != nil {
			b.Fatal(err)
		}
	}
}
