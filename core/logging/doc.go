// Package logging sends pivot's logs where HAProxy 2.6 would send them, in
// the bytes HAProxy would write, so that existing syslog setups, log
// parsers and dashboards keep working when pivot replaces HAProxy.
//
// It has three parts:
//
//   - [Logger] delivers messages to the `log` targets of the configuration
//     (stdout, stderr, UDP syslog, a unix datagram socket such as
//     /dev/log), with HAProxy's line formats, length limit and level
//     range. It never blocks the caller for long: network and unix targets
//     are fed through a bounded queue and lines are dropped, and counted,
//     when the queue is full.
//   - [SessionRecord] holds what a TCP session's log line needs and renders
//     the `option tcplog` line.
//   - [DiagLogger] writes pivotd's own diagnostics on stderr with HAProxy's
//     `[WARNING]  (pid) : ` prefixes.
//
// Typical use:
//
//	lg, err := logging.New(cfg.Global.Logs, logging.Options{Tag: "pivot"})
//	if err != nil {
//		return err
//	}
//	defer lg.Close()
//	lg.Log(logging.Info, rec.TCPLogLine())
//
// A nil *Logger is valid and logs nothing, so code paths without `log`
// lines need no checks. The package does not parse configuration (that is
// pivot/core/config's job), does not implement `log-format` strings (only
// the fixed tcplog line), and does not support HAProxy's ring buffers or
// TCP syslog targets.
package logging
