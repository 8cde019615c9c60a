package runtime

import (
	"fmt"

	"pivot/core"
)

// statEnv is what filling a row needs besides the row.
type statEnv struct {
	sensitive bool        // fill addr, cookie and algo
	filtered  bool        // up or no-maint: BACKEND status gets "(up/total)"
	servers   serverCount // the row's backend's servers
}

// statCells fills the columns that apply to r, following HAProxy 2.6's
// fill rules for a TCP proxy: columns of HTTP features are unset, or 0
// where HAProxy prints 0 in TCP mode too.
func statCells(r *core.StatRow, env statEnv) [numStatFields]cell {
	var c [numStatFields]cell
	c[stPxname] = cellStr(r.Proxy)
	c[stSvname] = cellStr(r.Name)
	c[stScur] = cellNum(r.SCur)
	c[stSmax] = cellNum(r.SMax)
	c[stStot] = cellNum(r.STot)
	c[stBin] = cellNum(r.BIn)
	c[stBout] = cellNum(r.BOut)
	c[stStatus] = cellStr(r.Status)
	c[stPid] = cellNum(1)
	c[stIid] = cellNum(int64(r.ProxyID))
	c[stSid] = cellNum(int64(r.ID))
	c[stType] = cellNum(int64(r.Type))
	c[stMode] = cellStr(r.Mode)
	c[stWrew] = cellNum(0)
	c[stEint] = cellNum(r.Eint)
	switch r.Type {
	case core.RowFrontend:
		fillFrontend(&c, r)
	case core.RowListener:
		fillListener(&c, r, env)
	case core.RowServer:
		fillServer(&c, r, env)
	case core.RowBackend:
		fillBackend(&c, r, env)
	}
	return c
}

func fillFrontend(c *[numStatFields]cell, r *core.StatRow) {
	c[stSlim] = cellNum(r.SLim)
	c[stDreq] = cellNum(0)
	c[stDresp] = cellNum(0)
	c[stEreq] = cellNum(r.EReq)
	c[stRate] = cellNum(r.Rate)
	c[stRateLim] = cellNum(r.RateLim)
	c[stRateMax] = cellNum(r.RateMax)
	c[stReqRate] = cellNum(0)
	c[stReqRateMax] = cellNum(0)
	c[stReqTot] = cellNum(0)
	for i := stCompIn; i <= stCompRsp; i++ {
		c[i] = cellNum(0)
	}
	c[stConnRate] = cellNum(r.ConnRate)
	c[stConnRateMax] = cellNum(r.ConnRateMax)
	c[stConnTot] = cellNum(r.ConnTot)
	c[stDcon] = cellNum(0)
	c[stDses] = cellNum(0)
}

func fillListener(c *[numStatFields]cell, r *core.StatRow, env statEnv) {
	c[stSlim] = cellNum(r.SLim)
	c[stDreq] = cellNum(0)
	c[stDresp] = cellNum(0)
	c[stEreq] = cellNum(r.EReq)
	c[stDcon] = cellNum(0)
	c[stDses] = cellNum(0)
	if env.sensitive {
		c[stAddr] = cellStr(r.Addr)
	}
}

// fillBackendish fills what servers and backends share.
func fillBackendish(c *[numStatFields]cell, r *core.StatRow) {
	c[stQcur] = cellNum(r.QCur)
	c[stQmax] = cellNum(r.QMax)
	c[stDresp] = cellNum(0)
	c[stEcon] = cellNum(r.ECon)
	c[stEresp] = cellNum(r.EResp)
	c[stWretr] = cellNum(r.WRetr)
	c[stWredis] = cellNum(r.WRedis)
	c[stWeight] = cellNum(r.Weight)
	c[stAct] = cellNum(r.Act)
	c[stBck] = cellNum(r.Bck)
	c[stLastchg] = cellNum(r.LastChg)
	c[stLbtot] = cellNum(r.LBTot)
	c[stRate] = cellNum(r.Rate)
	c[stRateMax] = cellNum(r.RateMax)
	c[stCliAbrt] = cellNum(r.CliAbrt)
	c[stSrvAbrt] = cellNum(r.SrvAbrt)
	c[stLastsess] = cellNum(r.LastSess)
	c[stQtime] = cellNum(r.QTime)
	c[stCtime] = cellNum(r.CTime)
	c[stRtime] = cellNum(0)
	c[stTtime] = cellNum(r.TTime)
	c[stConnect] = cellNum(r.Connect)
	c[stReuse] = cellNum(0)
	c[stQtimeMax] = cellNum(r.QTimeMax)
	c[stCtimeMax] = cellNum(r.CTimeMax)
	c[stRtimeMax] = cellNum(0)
	c[stTtimeMax] = cellNum(r.TTimeMax)
	c[stUweight] = cellNum(r.UWeight)
}

func fillServer(c *[numStatFields]cell, r *core.StatRow, env statEnv) {
	fillBackendish(c, r)
	c[stSlim] = cellNumIf(r.SLim > 0, r.SLim)
	c[stQlimit] = cellNumIf(r.QLimit > 0, r.QLimit)
	c[stThrottle] = cellNumIf(r.Throttle >= 0, r.Throttle)
	c[stChkfail] = cellNumIf(r.HasCheck, r.ChkFail)
	c[stChkdown] = cellNumIf(r.HasCheck, r.ChkDown)
	c[stDowntime] = cellNumIf(r.HasCheck, r.Downtime)
	if r.CheckShown { // enabled and not paused by maintenance
		c[stCheckStatus] = cellStr(r.CheckStatus)
		// HAProxy has a layer 5-7 code only from L7OK on: the HTTP
		// status, 0 for protocols without one.
		c[stCheckCode] = cellNumIf(r.CheckNum >= core.CheckL7OK, r.CheckCode)
		// A check still initializing has no duration yet.
		c[stCheckDuration] = cellNumIf(r.CheckNum > core.CheckInit, r.CheckDuration)
		c[stLastChk] = cellStr(r.LastChk)
		c[stCheckDesc] = cellStr(r.CheckDesc)
		c[stCheckRise] = cellNum(r.CheckRise)
		c[stCheckFall] = cellNum(r.CheckFall)
		c[stCheckHealth] = cellNum(r.CheckHealth)
	}
	if r.AgentShown {
		c[stAgentStatus] = cellStr(r.AgentStatus)
		c[stAgentCode] = cellNumIf(r.AgentNum >= core.CheckL7OK, r.AgentCode)
		c[stAgentDuration] = cellNum(r.AgentDuration)
		c[stLastAgt] = cellStr(r.LastAgt)
		c[stAgentDesc] = cellStr(r.AgentDesc)
		c[stAgentRise] = cellNum(r.AgentRise)
		c[stAgentFall] = cellNum(r.AgentFall)
		c[stAgentHealth] = cellNum(r.AgentHealth)
	}
	if env.sensitive {
		c[stAddr] = cellStr(r.Addr)
	}
	// In TCP mode every session holds one server connection, and none is
	// ever idle.
	if r.Tracked != "" {
		c[stTracked] = cellStr(r.Tracked)
	}
	c[stSrvIcur] = cellNum(0)
	// HAProxy leaves the idle limit unset on configured servers and
	// sets it to 0 on added ones.
	c[stSrvIlim] = cellNumIf(r.Dynamic, 0)
	c[stIdleConnCur] = cellNum(0)
	c[stSafeConnCur] = cellNum(0)
	c[stUsedConnCur] = cellNum(r.SCur)
	c[stNeedConnEst] = cellNum(usedMax(r))
}

// usedMax stands in for HAProxy's largest count of server connections in
// use, which also counts the connections of health checks: a server
// that was ever checked has needed at least one.
func usedMax(r *core.StatRow) int64 {
	if r.CheckNum > core.CheckInit || r.AgentNum > core.CheckInit {
		return max(r.ConnsMax, 1)
	}
	return r.ConnsMax
}

func fillBackend(c *[numStatFields]cell, r *core.StatRow, env statEnv) {
	fillBackendish(c, r)
	c[stSlim] = cellNum(r.SLim)
	c[stDreq] = cellNum(0)
	c[stChkdown] = cellNum(r.ChkDown)
	// A backend without servers was never down.
	c[stDowntime] = cellNumIf(env.servers.total > 0, r.Downtime)
	for i := stCompIn; i <= stCompRsp; i++ {
		c[i] = cellNum(0)
	}
	if env.filtered {
		c[stStatus] = cellStr(fmt.Sprintf("%s (%d/%d)", r.Status, env.servers.up, env.servers.total))
	}
	if env.sensitive {
		c[stAlgo] = cellStr(r.Algo)
	}
	// Always 0 outside HAProxy's Prometheus exporter.
	c[stAggServerStatus] = cellNum(0)
	c[stAggServerCheckStatus] = cellNum(0)
	c[stAggCheckStatus] = cellNum(0)
}
