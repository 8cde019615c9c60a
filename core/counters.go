package core

import (
	"sync/atomic"
	"time"
)

// Counters are the cumulative numbers of one frontend, backend or server,
// as `show stat` reports them. Every field is an atomic so the data path
// adds to them without a lock; readers see each value on its own, not a
// consistent set, exactly as HAProxy's stats do.
type Counters struct {
	Cur  atomic.Int64 // scur: sessions now
	Max  atomic.Int64 // smax: highest Cur seen
	Tot  atomic.Int64 // stot: sessions ever
	In   atomic.Int64 // bin: bytes client→server
	Out  atomic.Int64 // bout: bytes server→client
	Econ atomic.Int64 // failed connection attempts to servers
	// Eresp counts response-side errors: the server aborted or the write to
	// the client failed.
	Eresp   atomic.Int64
	Ereq    atomic.Int64 // client-side errors (frontends)
	Retries atomic.Int64 // wretr
	Redisp  atomic.Int64 // wredis
	LBTot   atomic.Int64 // times picked by load balancing
	CliAbrt atomic.Int64 // transfers aborted by the client
	SrvAbrt atomic.Int64 // transfers aborted by the server
	Connect atomic.Int64 // outgoing connection attempts
	ConnTot atomic.Int64 // connections accepted (frontends)
	Eint    atomic.Int64 // internal errors (recovered panics)
	QMax    atomic.Int64 // highest queue length seen
	// LastSess is the unix nanosecond time a session was last assigned;
	// zero means never.
	LastSess atomic.Int64

	Rate     rateMeter // sessions per second
	ConnRate rateMeter // accepted connections per second (frontends)

	// Timing averages over the last sessions, in milliseconds.
	QTime, CTime, TTime average
	// Maxima of the same, in milliseconds.
	QTimeMax, CTimeMax, TTimeMax atomic.Int64
}

// startSession counts a new session on c and returns the new current count.
func (c *Counters) startSession(now time.Time) int64 {
	cur := c.Cur.Add(1)
	raiseMax(&c.Max, cur)
	c.Tot.Add(1)
	c.Rate.add(now)
	return cur
}

// clear resets what `clear counters` resets: maxima and rates. With all,
// the cumulative counters go too (HAProxy's `clear counters all`).
func (c *Counters) clear(all bool) {
	c.Max.Store(c.Cur.Load())
	c.QMax.Store(0)
	c.QTimeMax.Store(0)
	c.CTimeMax.Store(0)
	c.TTimeMax.Store(0)
	c.Rate.clearMax()
	c.ConnRate.clearMax()
	if !all {
		return
	}
	for _, v := range []*atomic.Int64{&c.Tot, &c.In, &c.Out, &c.Econ, &c.Eresp, &c.Ereq,
		&c.Retries, &c.Redisp, &c.LBTot, &c.CliAbrt, &c.SrvAbrt, &c.Connect, &c.ConnTot, &c.Eint} {
		v.Store(0)
	}
	c.LastSess.Store(0)
}

// raiseMax stores v in m if it is larger than what m holds.
func raiseMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// rateMeter counts events over the last second, the way HAProxy's
// freq_ctr does: the count of the current second plus the previous
// second's count weighted by the part of it still inside the window.
type rateMeter struct {
	sec  atomic.Int64 // unix second of cur
	cur  atomic.Int64
	prev atomic.Int64
	max  atomic.Int64
}

func (r *rateMeter) add(now time.Time) {
	s := now.Unix()
	if old := r.sec.Load(); old != s && r.sec.CompareAndSwap(old, s) {
		if s == old+1 {
			r.prev.Store(r.cur.Swap(0))
		} else {
			r.prev.Store(0)
			r.cur.Store(0)
		}
	}
	r.cur.Add(1)
	raiseMax(&r.max, r.read(now))
}

// read returns the events per second as of now.
func (r *rateMeter) read(now time.Time) int64 {
	s := now.Unix()
	sec := r.sec.Load()
	switch {
	case s == sec:
		frac := int64(now.Nanosecond())
		return r.cur.Load() + r.prev.Load()*(int64(time.Second)-frac)/int64(time.Second)
	case s == sec+1:
		frac := int64(now.Nanosecond())
		return r.cur.Load() * (int64(time.Second) - frac) / int64(time.Second)
	}
	return 0
}

// Max is the highest rate seen.
func (r *rateMeter) Max() int64 { return r.max.Load() }

func (r *rateMeter) clearMax() { r.max.Store(0) }

// average is a running mean over the last averageWindow samples, as
// HAProxy's swrate_add: a window of 1024 sessions, or fewer at first.
type average struct {
	sum atomic.Int64 // mean * window, fixed point
	n   atomic.Int64
}

const averageWindow = 1024

func (a *average) add(v int64) {
	n := a.n.Add(1)
	for {
		old := a.sum.Load()
		// An exact sum until the window is full, then decay by the whole
		// window as swrate_add does; Value divides by min(n, window).
		next := old + v
		if n > averageWindow {
			next = old - old/averageWindow + v
		}
		if a.sum.CompareAndSwap(old, next) {
			return
		}
	}
}

// Value is the current mean.
func (a *average) Value() int64 {
	n := min(a.n.Load(), averageWindow)
	if n == 0 {
		return 0
	}
	return a.sum.Load() / n
}
