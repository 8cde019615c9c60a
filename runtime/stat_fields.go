package runtime

import "pivot/core"

// Positions of the static `show stat` columns, as HAProxy 2.6.12 numbers
// them. The CSV index and the typed-output position are the same for all
// of them.
const (
	stPxname = iota
	stSvname
	stQcur
	stQmax
	stScur
	stSmax
	stSlim
	stStot
	stBin
	stBout
	stDreq
	stDresp
	stEreq
	stEcon
	stEresp
	stWretr
	stWredis
	stStatus
	stWeight
	stAct
	stBck
	stChkfail
	stChkdown
	stLastchg
	stDowntime
	stQlimit
	stPid
	stIid
	stSid
	stThrottle
	stLbtot
	stTracked
	stType
	stRate
	stRateLim
	stRateMax
	stCheckStatus
	stCheckCode
	stCheckDuration
	stHrsp1xx
	stHrsp2xx
	stHrsp3xx
	stHrsp4xx
	stHrsp5xx
	stHrspOther
	stHanafail
	stReqRate
	stReqRateMax
	stReqTot
	stCliAbrt
	stSrvAbrt
	stCompIn
	stCompOut
	stCompByp
	stCompRsp
	stLastsess
	stLastChk
	stLastAgt
	stQtime
	stCtime
	stRtime
	stTtime
	stAgentStatus
	stAgentCode
	stAgentDuration
	stCheckDesc
	stAgentDesc
	stCheckRise
	stCheckFall
	stCheckHealth
	stAgentRise
	stAgentFall
	stAgentHealth
	stAddr
	stCookie
	stMode
	stAlgo
	stConnRate
	stConnRateMax
	stConnTot
	stIntercepted
	stDcon
	stDses
	stWrew
	stConnect
	stReuse
	stCacheLookups
	stCacheHits
	stSrvIcur
	stSrvIlim
	stQtimeMax
	stCtimeMax
	stRtimeMax
	stTtimeMax
	stEint
	stIdleConnCur
	stSafeConnCur
	stUsedConnCur
	stNeedConnEst
	stUweight
	stAggServerStatus
	stAggServerCheckStatus
	stAggCheckStatus

	numStatFields // 103: the static part of a 2.6.12 header
)

// A typedField describes one column of `show stat` or one line of `show info`.
//
// tags are the three letters the typed output prints (origin, nature,
// scope: see tagWords) and typ its value type: s32, s64, u32, u64 or str.
// desc is pivot's own one-line description, shown by the `desc` modifier.
type typedField struct {
	name string
	tags string
	typ  string
	desc string
}

// statFields lists the static columns in CSV order.
var statFields = [numStatFields]typedField{
	stPxname:               {"pxname", "KNS", "str", "Name of the proxy (frontend, backend or listen section)"},
	stSvname:               {"svname", "KNS", "str", "FRONTEND, BACKEND, or the name of the server or listener"},
	stQcur:                 {"qcur", "MGP", "u32", "Connections waiting in the queue"},
	stQmax:                 {"qmax", "MMP", "u32", "Most connections ever waiting in the queue"},
	stScur:                 {"scur", "MGP", "u32", "Sessions open now"},
	stSmax:                 {"smax", "MMP", "u32", "Most sessions ever open at once"},
	stSlim:                 {"slim", "CLP", "u32", "Session limit: maxconn, or fullconn on a backend"},
	stStot:                 {"stot", "MCP", "u64", "Sessions since start"},
	stBin:                  {"bin", "MCP", "u64", "Bytes received from clients"},
	stBout:                 {"bout", "MCP", "u64", "Bytes sent to clients"},
	stDreq:                 {"dreq", "MCP", "u64", "Requests refused by rules"},
	stDresp:                {"dresp", "MCP", "u64", "Responses refused by rules"},
	stEreq:                 {"ereq", "MCP", "u64", "Errors on the client side"},
	stEcon:                 {"econ", "MCP", "u64", "Failed connections to servers"},
	stEresp:                {"eresp", "MCP", "u64", "Errors on the server side"},
	stWretr:                {"wretr", "MCP", "u64", "Connection attempts retried"},
	stWredis:               {"wredis", "MCP", "u64", "Sessions sent to another server after a failure"},
	stStatus:               {"status", "SGP", "str", "State of the object"},
	stWeight:               {"weight", "MaP", "u32", "Effective weight (backend: sum over the servers in use)"},
	stAct:                  {"act", "SGP", "u32", "Active server (backend: active servers in use)"},
	stBck:                  {"bck", "SGP", "u32", "Backup server (backend: backup servers in use)"},
	stChkfail:              {"chkfail", "MCP", "u64", "Failed health checks"},
	stChkdown:              {"chkdown", "MCP", "u64", "Transitions to DOWN"},
	stLastchg:              {"lastchg", "MAP", "u32", "Seconds since the last state change"},
	stDowntime:             {"downtime", "MCP", "u32", "Seconds spent DOWN in total"},
	stQlimit:               {"qlimit", "CGS", "u32", "Queue limit of the server (maxqueue)"},
	stPid:                  {"pid", "KGP", "u32", "Process number, always 1"},
	stIid:                  {"iid", "KGS", "u32", "Numeric id of the proxy"},
	stSid:                  {"sid", "KGS", "u32", "Numeric id of the server or listener in its proxy"},
	stThrottle:             {"throttle", "MaP", "u32", "Share of the weight given during slowstart, in percent"},
	stLbtot:                {"lbtot", "MCP", "u64", "Times chosen by load balancing"},
	stTracked:              {"tracked", "CNS", "str", "Server whose state this one follows"},
	stType:                 {"type", "CGS", "u32", "Object type: 0 frontend, 1 backend, 2 server, 3 listener"},
	stRate:                 {"rate", "MRP", "u32", "Sessions over the last second"},
	stRateLim:              {"rate_lim", "CLP", "u32", "Session rate limit"},
	stRateMax:              {"rate_max", "MMP", "u32", "Highest session rate seen"},
	stCheckStatus:          {"check_status", "MOP", "str", "Result of the last health check"},
	stCheckCode:            {"check_code", "MOP", "u32", "Layer 7 code of the last health check"},
	stCheckDuration:        {"check_duration", "MDP", "u64", "Duration of the last health check, in ms"},
	stHrsp1xx:              {"hrsp_1xx", "MCP", "u64", "HTTP 1xx responses"},
	stHrsp2xx:              {"hrsp_2xx", "MCP", "u64", "HTTP 2xx responses"},
	stHrsp3xx:              {"hrsp_3xx", "MCP", "u64", "HTTP 3xx responses"},
	stHrsp4xx:              {"hrsp_4xx", "MCP", "u64", "HTTP 4xx responses"},
	stHrsp5xx:              {"hrsp_5xx", "MCP", "u64", "HTTP 5xx responses"},
	stHrspOther:            {"hrsp_other", "MCP", "u64", "HTTP responses with another code"},
	stHanafail:             {"hanafail", "MCP", "u64", "Failures seen by traffic observation"},
	stReqRate:              {"req_rate", "MRP", "u32", "HTTP requests over the last second"},
	stReqRateMax:           {"req_rate_max", "MMP", "u32", "Highest HTTP request rate seen"},
	stReqTot:               {"req_tot", "MCP", "u64", "HTTP requests since start"},
	stCliAbrt:              {"cli_abrt", "MCP", "u64", "Transfers cut by the client"},
	stSrvAbrt:              {"srv_abrt", "MCP", "u64", "Transfers cut by the server"},
	stCompIn:               {"comp_in", "MCP", "u64", "Bytes fed to the HTTP compressor"},
	stCompOut:              {"comp_out", "MCP", "u64", "Bytes produced by the HTTP compressor"},
	stCompByp:              {"comp_byp", "MCP", "u64", "Bytes that skipped the HTTP compressor"},
	stCompRsp:              {"comp_rsp", "MCP", "u64", "HTTP responses compressed"},
	stLastsess:             {"lastsess", "MAP", "s32", "Seconds since a session was last assigned, -1 if never"},
	stLastChk:              {"last_chk", "MOP", "str", "Details of the last health check"},
	stLastAgt:              {"last_agt", "MOP", "str", "Details of the last agent check"},
	stQtime:                {"qtime", "MaP", "u32", "Recent average time spent queued, in ms"},
	stCtime:                {"ctime", "MaP", "u32", "Recent average time to connect to a server, in ms"},
	stRtime:                {"rtime", "MaP", "u32", "Recent average HTTP response time, in ms"},
	stTtime:                {"ttime", "MaP", "u32", "Recent average session duration, in ms"},
	stAgentStatus:          {"agent_status", "MOP", "str", "Result of the last agent check"},
	stAgentCode:            {"agent_code", "MOP", "u32", "Code of the last agent check"},
	stAgentDuration:        {"agent_duration", "MDP", "u64", "Duration of the last agent check, in ms"},
	stCheckDesc:            {"check_desc", "MOP", "str", "Meaning of check_status"},
	stAgentDesc:            {"agent_desc", "MOP", "str", "Meaning of agent_status"},
	stCheckRise:            {"check_rise", "CGS", "u32", "Successful checks needed to go UP"},
	stCheckFall:            {"check_fall", "CGS", "u32", "Failed checks needed to go DOWN"},
	stCheckHealth:          {"check_health", "CGS", "u32", "Health counter of the check"},
	stAgentRise:            {"agent_rise", "CGS", "u32", "Successful agent checks needed to go UP"},
	stAgentFall:            {"agent_fall", "CGS", "u32", "Failed agent checks needed to go DOWN"},
	stAgentHealth:          {"agent_health", "CGS", "u32", "Health counter of the agent check"},
	stAddr:                 {"addr", "CGS", "str", "Address and port"},
	stCookie:               {"cookie", "CNS", "str", "Persistence cookie"},
	stMode:                 {"mode", "CGS", "str", "Proxy mode"},
	stAlgo:                 {"algo", "CGS", "str", "Load balancing algorithm"},
	stConnRate:             {"conn_rate", "MRP", "u32", "Connections accepted over the last second"},
	stConnRateMax:          {"conn_rate_max", "MMP", "u32", "Highest connection rate seen"},
	stConnTot:              {"conn_tot", "MCP", "u64", "Connections accepted since start"},
	stIntercepted:          {"intercepted", "MCP", "u64", "HTTP requests answered by the proxy itself"},
	stDcon:                 {"dcon", "MCP", "u64", "Connections refused by tcp-request connection rules"},
	stDses:                 {"dses", "MCP", "u64", "Sessions refused by tcp-request session rules"},
	stWrew:                 {"wrew", "MCP", "u64", "Failed HTTP header rewrites"},
	stConnect:              {"connect", "MCP", "u64", "Connection attempts to servers"},
	stReuse:                {"reuse", "MCP", "u64", "Server connections reused"},
	stCacheLookups:         {"cache_lookups", "MCP", "u64", "HTTP cache lookups"},
	stCacheHits:            {"cache_hits", "MCP", "u64", "HTTP cache hits"},
	stSrvIcur:              {"srv_icur", "MGP", "u32", "Idle server connections ready for reuse"},
	stSrvIlim:              {"src_ilim", "CLP", "u32", "Limit of idle server connections"},
	stQtimeMax:             {"qtime_max", "MMP", "u32", "Longest time spent queued, in ms"},
	stCtimeMax:             {"ctime_max", "MMP", "u32", "Longest time to connect to a server, in ms"},
	stRtimeMax:             {"rtime_max", "MMP", "u32", "Longest HTTP response time, in ms"},
	stTtimeMax:             {"ttime_max", "MMP", "u32", "Longest session, in ms"},
	stEint:                 {"eint", "MCP", "u64", "Internal errors"},
	stIdleConnCur:          {"idle_conn_cur", "MGP", "u32", "Idle server connections not safe to reuse"},
	stSafeConnCur:          {"safe_conn_cur", "MGP", "u32", "Idle server connections safe to reuse"},
	stUsedConnCur:          {"used_conn_cur", "MGP", "u32", "Server connections in use"},
	stNeedConnEst:          {"need_conn_est", "MGP", "u32", "Estimate of the server connections needed"},
	stUweight:              {"uweight", "MaP", "u32", "Weight set by the operator or configuration (backend: sum)"},
	stAggServerStatus:      {"agg_server_status", "MGP", "u32", "Summary of the servers' states, for exporters"},
	stAggServerCheckStatus: {"agg_server_check_status", "MGP", "u32", "Older name of agg_server_status"},
	stAggCheckStatus:       {"agg_check_status", "MGP", "u32", "Summary of the servers' check results, for exporters"},
}

// statTags returns the tags of column i on a row of type t. HAProxy tags
// four columns differently on BACKEND rows: act and bck are status values
// on a server but gauges on a backend, and a backend's rates are gauges.
func statTags(i int, t core.RowType) string {
	if t == core.RowBackend {
		switch i {
		case stAct, stBck, stRate, stRateMax:
			return "MGP"
		}
	}
	return statFields[i].tags
}

// tagWords spells each tag letter out for JSON output.
var tagWords = [3]map[byte]string{
	{'M': "Metric", 'S': "Status", 'K': "Key", 'C': "Config", 'P': "Product"},
	{'A': "Age", 'a': "Avg", 'C': "Counter", 'D': "Duration", 'G': "Gauge", 'L': "Limit",
		'M': "Max", 'm': "Min", 'N': "Name", 'O': "Output", 'R': "Rate", 'T': "Time"},
	{'C': "Cluster", 'P': "Process", 'S': "Service", 's': "System"},
}

// tagWord is the JSON word of the tag letter at position i (0 origin,
// 1 nature, 2 scope) of tags.
func tagWord(tags string, i int) string {
	if w, ok := tagWords[i][tags[i]]; ok {
		return w
	}
	return "Unknown"
}
