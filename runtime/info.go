package runtime

import (
	"fmt"
	"io"
	"strings"
	"time"

	"pivot/core"
)

// productName is what `show info` prints as Name. HAProxy prints
// "HAProxy". pivot prints its own name, as it prints its own Version:
// a tool that branches on the product should not take pivot for an
// HAProxy build, and the fields below keep HAProxy 2.6.12's names,
// positions and formats, so a tool reading them by name works unchanged.
const productName = "pivot"

// infoRequest is a parsed `show info [typed|json] [desc] [float]`.
type infoRequest struct {
	format statFormat
	desc   bool
}

// parseShowInfo reads the words after "show info" in any order. Of typed
// and json the last wins; float and unknown words are ignored (pivot's
// values are all integers).
func parseShowInfo(args []string) infoRequest {
	var req infoRequest
	for _, a := range args {
		switch a {
		case "typed":
			req.format = formatTyped
		case "json":
			req.format = formatJSON
		case "desc":
			req.desc = true
		}
	}
	return req
}

// The `show info` fields, at HAProxy 2.6.12's positions. Positions 45 and
// 46 (zlib memory) are absent from the builds 2.6.12 is shipped in, and
// 51 (description) is printed only when set: pivot has none.
const (
	inName = iota
	inVersion
	inReleaseDate
	inNbthread
	inNbproc
	inProcessNum
	inPid
	inUptime
	inUptimeSec
	inMemmaxMB
	inPoolAllocMB
	inPoolUsedMB
	inPoolFailed
	inUlimitN
	inMaxsock
	inMaxconn
	inHardMaxconn
	inCurrConns
	inCumConns
	inCumReq
	inMaxSslConns
	inCurrSslConns
	inCumSslConns
	inMaxpipes
	inPipesUsed
	inPipesFree
	inConnRate
	inConnRateLimit
	inMaxConnRate
	inSessRate
	inSessRateLimit
	inMaxSessRate
	inSslRate
	inSslRateLimit
	inMaxSslRate
	inSslFrontendKeyRate
	inSslFrontendMaxKeyRate
	inSslFrontendSessionReusePct
	inSslBackendKeyRate
	inSslBackendMaxKeyRate
	inSslCacheLookups
	inSslCacheMisses
	inCompressBpsIn
	inCompressBpsOut
	inCompressBpsRateLim
	inZlibMemUsage
	inMaxZlibMemUsage
	inTasks
	inRunQueue
	inIdlePct
	inNode
	inDescription
	inStopping
	inJobs
	inUnstoppableJobs
	inListeners
	inActivePeers
	inConnectedPeers
	inDroppedLogs
	inBusyPolling
	inFailedResolutions
	inTotalBytesOut
	inTotalSplicedBytesOut
	inBytesOutRate
	inDebugCommandsIssued
	inCumRecvLogs
	inBuildInfo
	inMemmaxBytes
	inPoolAllocBytes
	inPoolUsedBytes
	inStartTimeSec
	inTainted

	numInfoFields
)

var infoFields = [numInfoFields]typedField{
	inName:                       {"Name", "POS", "str", "Name of the product"},
	inVersion:                    {"Version", "POS", "str", "Version of the product"},
	inReleaseDate:                {"Release_date", "POS", "str", "Date of the release"},
	inNbthread:                   {"Nbthread", "CGS", "u32", "Threads running the proxy"},
	inNbproc:                     {"Nbproc", "CGS", "u32", "Worker processes, always 1"},
	inProcessNum:                 {"Process_num", "KGP", "u32", "Number of this process, always 1"},
	inPid:                        {"Pid", "SGP", "u32", "Process id"},
	inUptime:                     {"Uptime", "MDP", "str", "Time since start, as days, hours, minutes and seconds"},
	inUptimeSec:                  {"Uptime_sec", "MDP", "u32", "Time since start, in seconds"},
	inMemmaxMB:                   {"Memmax_MB", "CLP", "u32", "Memory limit in megabytes, 0 for none"},
	inPoolAllocMB:                {"PoolAlloc_MB", "MGP", "u32", "Memory held in pools, in megabytes"},
	inPoolUsedMB:                 {"PoolUsed_MB", "MGP", "u32", "Pool memory in use, in megabytes"},
	inPoolFailed:                 {"PoolFailed", "MCP", "u32", "Pool allocations that failed"},
	inUlimitN:                    {"Ulimit-n", "CLP", "u32", "Limit on open file descriptors"},
	inMaxsock:                    {"Maxsock", "CLP", "u32", "Limit on open sockets"},
	inMaxconn:                    {"Maxconn", "CLP", "u32", "Limit on concurrent connections"},
	inHardMaxconn:                {"Hard_maxconn", "CLP", "u32", "Highest value Maxconn may take"},
	inCurrConns:                  {"CurrConns", "MGP", "u32", "Connections open now"},
	inCumConns:                   {"CumConns", "MCP", "u32", "Connections accepted since start"},
	inCumReq:                     {"CumReq", "MCP", "u32", "Requests (streams) since start"},
	inMaxSslConns:                {"MaxSslConns", "MMP", "u32", "Limit on TLS connections"},
	inCurrSslConns:               {"CurrSslConns", "MGP", "u32", "TLS connections open now"},
	inCumSslConns:                {"CumSslConns", "MCP", "u32", "TLS connections since start"},
	inMaxpipes:                   {"Maxpipes", "CLP", "u32", "Limit on splice pipes"},
	inPipesUsed:                  {"PipesUsed", "MGP", "u32", "Splice pipes in use"},
	inPipesFree:                  {"PipesFree", "MGP", "u32", "Splice pipes kept free"},
	inConnRate:                   {"ConnRate", "MRP", "u32", "Connections over the last second"},
	inConnRateLimit:              {"ConnRateLimit", "CLP", "u32", "Limit on connections per second"},
	inMaxConnRate:                {"MaxConnRate", "MMP", "u32", "Highest connection rate seen"},
	inSessRate:                   {"SessRate", "MRP", "u32", "Sessions over the last second"},
	inSessRateLimit:              {"SessRateLimit", "CLP", "u32", "Limit on sessions per second"},
	inMaxSessRate:                {"MaxSessRate", "MRP", "u32", "Highest session rate seen"},
	inSslRate:                    {"SslRate", "MRP", "u32", "TLS sessions over the last second"},
	inSslRateLimit:               {"SslRateLimit", "CLP", "u32", "Limit on TLS sessions per second"},
	inMaxSslRate:                 {"MaxSslRate", "MMP", "u32", "Highest TLS session rate seen"},
	inSslFrontendKeyRate:         {"SslFrontendKeyRate", "MGP", "u32", "TLS keys computed for clients over the last second"},
	inSslFrontendMaxKeyRate:      {"SslFrontendMaxKeyRate", "MMP", "u32", "Highest client TLS key rate seen"},
	inSslFrontendSessionReusePct: {"SslFrontendSessionReuse_pct", "MGP", "u32", "Client TLS sessions resumed, in percent"},
	inSslBackendKeyRate:          {"SslBackendKeyRate", "MRP", "u32", "TLS keys computed for servers over the last second"},
	inSslBackendMaxKeyRate:       {"SslBackendMaxKeyRate", "MMP", "u32", "Highest server TLS key rate seen"},
	inSslCacheLookups:            {"SslCacheLookups", "MCP", "u32", "TLS session cache lookups"},
	inSslCacheMisses:             {"SslCacheMisses", "MCP", "u32", "TLS session cache misses"},
	inCompressBpsIn:              {"CompressBpsIn", "MRP", "u32", "Bytes per second fed to the HTTP compressor"},
	inCompressBpsOut:             {"CompressBpsOut", "MRP", "u32", "Bytes per second out of the HTTP compressor"},
	inCompressBpsRateLim:         {"CompressBpsRateLim", "CLP", "u32", "Limit on HTTP compression input per second"},
	inZlibMemUsage:               {"ZlibMemUsage", "MGP", "u32", "Memory used by zlib"},
	inMaxZlibMemUsage:            {"MaxZlibMemUsage", "CLP", "u32", "Limit on zlib memory"},
	inTasks:                      {"Tasks", "MGP", "u32", "Tasks in existence"},
	inRunQueue:                   {"Run_queue", "MGP", "u32", "Tasks ready to run"},
	inIdlePct:                    {"Idle_pct", "MaP", "u32", "Idle time over the last second, in percent"},
	inNode:                       {"node", "COS", "str", "Name of this node"},
	inDescription:                {"description", "COS", "str", "Description of this node"},
	inStopping:                   {"Stopping", "MGP", "u32", "1 while the process stops"},
	inJobs:                       {"Jobs", "MGP", "u32", "Listeners and connections open"},
	inUnstoppableJobs:            {"Unstoppable Jobs", "MGP", "u32", "Jobs a soft stop does not end"},
	inListeners:                  {"Listeners", "MGP", "u32", "Listening sockets open"},
	inActivePeers:                {"ActivePeers", "MGP", "u32", "Peer connections being set up or open"},
	inConnectedPeers:             {"ConnectedPeers", "MGP", "u32", "Peers connected"},
	inDroppedLogs:                {"DroppedLogs", "MGP", "u32", "Log messages lost"},
	inBusyPolling:                {"BusyPolling", "MGP", "u32", "1 when busy polling is on"},
	inFailedResolutions:          {"FailedResolutions", "MGP", "u32", "DNS resolutions that failed"},
	inTotalBytesOut:              {"TotalBytesOut", "MGP", "u64", "Bytes sent since start"},
	inTotalSplicedBytesOut:       {"TotalSplicdedBytesOut", "MGP", "u64", "Bytes sent by splicing since start"},
	inBytesOutRate:               {"BytesOutRate", "MRP", "u64", "Bytes sent over the last second"},
	inDebugCommandsIssued:        {"DebugCommandsIssued", "MGP", "u32", "Debugging commands run on the admin socket"},
	inCumRecvLogs:                {"CumRecvLogs", "MCP", "u32", "Log messages received for forwarding"},
	inBuildInfo:                  {"Build info", "POS", "str", "How the product was built"},
	inMemmaxBytes:                {"Memmax_bytes", "CLP", "u32", "Memory limit in bytes, 0 for none"},
	inPoolAllocBytes:             {"PoolAlloc_bytes", "MGP", "u64", "Memory held in pools, in bytes"},
	inPoolUsedBytes:              {"PoolUsed_bytes", "MGP", "u64", "Pool memory in use, in bytes"},
	inStartTimeSec:               {"Start_time_sec", "MDP", "u32", "Start time, in seconds since the Unix epoch"},
	inTainted:                    {"Tainted", "SGP", "str", "Risky features used, as a hexadecimal mask"},
}

// infoCells fills the fields from in. Fields of features pivot does not
// have (TLS, compression, peers, pools) are 0, as HAProxy prints them
// when unused. version is also the build information.
func infoCells(in core.Info, version, releaseDate, node string) [numInfoFields]cell {
	var c [numInfoFields]cell
	for i := range c {
		if infoFields[i].typ != "str" {
			c[i] = cellNum(0)
		}
	}
	c[inZlibMemUsage], c[inMaxZlibMemUsage], c[inDescription] = cell{}, cell{}, cell{}
	up := int64(in.Uptime / time.Second)
	c[inName] = cellStr(productName)
	c[inVersion] = cellStr(version)
	c[inReleaseDate] = cellStr(releaseDate)
	c[inNbthread] = cellNum(int64(in.Nbthread))
	c[inNbproc] = cellNum(1)
	c[inProcessNum] = cellNum(1)
	c[inPid] = cellNum(int64(in.Pid))
	c[inUptime] = cellStr(fmt.Sprintf("%dd %dh%02dm%02ds", up/86400, up/3600%24, up/60%60, up%60))
	c[inUptimeSec] = cellNum(up)
	c[inUlimitN] = cellNum(int64(in.Ulimit))
	c[inMaxsock] = cellNum(int64(in.Ulimit))
	c[inMaxconn] = cellNum(int64(in.Maxconn))
	c[inMaxpipes] = cellNum(in.MaxPipes)
	c[inPipesUsed] = cellNum(in.PipesUsed)
	c[inPipesFree] = cellNum(in.PipesFree)
	c[inHardMaxconn] = cellNum(int64(in.HardMaxconn))
	c[inCurrConns] = cellNum(in.CurrConns)
	c[inCumConns] = cellNum(in.CumConns)
	c[inCumReq] = cellNum(in.CumConns) // one stream per TCP session
	c[inConnRate] = cellNum(in.ConnRate)
	c[inConnRateLimit] = cellNum(in.ConnRateLimit)
	c[inSessRateLimit] = cellNum(in.SessRateLimit)
	c[inMaxConnRate] = cellNum(in.ConnRateMax)
	c[inSessRate] = cellNum(in.SessRate)
	c[inMaxSessRate] = cellNum(in.SessRateMax)
	c[inIdlePct] = cellNum(100)
	c[inNode] = cellStr(node)
	if in.Stopping {
		c[inStopping] = cellNum(1)
	}
	c[inJobs] = cellNum(int64(in.Listeners) + in.CurrConns)
	c[inListeners] = cellNum(int64(in.Listeners))
	c[inDroppedLogs] = cellNum(int64(in.DroppedLogs))
	c[inTotalBytesOut] = cellNum(in.BytesOut)
	c[inBuildInfo] = cellStr(version)
	c[inStartTimeSec] = cellNum(in.Started.Unix())
	c[inTainted] = cellStr("0")
	return c
}

// writeInfo prints `show info` as "Name: value" lines, typed lines or
// a JSON array. desc adds each field's description to the first two.
func writeInfo(w io.Writer, in core.Info, req infoRequest, version, releaseDate, node string) {
	cells := infoCells(in, version, releaseDate, node)
	var b strings.Builder
	if req.format == formatJSON {
		b.WriteByte('[')
	}
	first := true
	for i, c := range cells {
		if !c.set {
			continue
		}
		f := infoFields[i]
		switch req.format {
		case formatTyped:
			writeTypedField(&b, i, f, f.tags, c, req.desc)
		case formatJSON:
			if !first {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			writeJSONField(&b, i, f, f.tags, c)
			b.WriteByte('}')
		default:
			b.WriteString(f.name)
			b.WriteString(": ")
			b.WriteString(c.format(f.typ))
			if req.desc {
				b.WriteString(`:"` + f.desc + `"`)
			}
			b.WriteByte('\n')
		}
		first = false
	}
	if req.format == formatJSON {
		b.WriteString("]\n")
	}
	io.WriteString(w, b.String())
}
