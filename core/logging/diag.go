package logging

import (
	"io"
	"strconv"
	"strings"
	"sync"
)

// DiagLogger writes pivotd's own diagnostics (start-up notices, state
// changes, configuration warnings) the way HAProxy writes them on stderr:
//
//	[NOTICE]   (10497) : haproxy version is 2.6.12-1+deb12u4
//	[WARNING]  (10497) : Server dead_be/dead1 is DOWN, ...
//	[ALERT]    (10497) : backend 'dead_be' has no server available!
//
// so that operators' greps and alerting rules keep matching. A nil
// *DiagLogger is valid and writes nothing. Its methods are safe for
// concurrent use: each message is one Write.
type DiagLogger struct {
	mu  sync.Mutex // serializes writes to w
	w   io.Writer
	pid string
}

// Diag returns a DiagLogger writing to w (usually os.Stderr) with pid in
// every prefix.
func Diag(w io.Writer, pid int) *DiagLogger {
	return &DiagLogger{w: w, pid: strconv.Itoa(pid)}
}

// Notice reports a normal but significant event.
func (d *DiagLogger) Notice(msg string) { d.write("[NOTICE]   (", msg) }

// Warning reports a problem pivot works around, such as a server going
// down or a configuration line accepted for compatibility only.
func (d *DiagLogger) Warning(msg string) { d.write("[WARNING]  (", msg) }

// Alert reports a problem that stops something from working, such as a
// backend with no server left or a refused admin command.
func (d *DiagLogger) Alert(msg string) { d.write("[ALERT]    (", msg) }

// write emits one prefixed line. The labels are padded to one width so
// that the pids line up, byte for byte as HAProxy does.
func (d *DiagLogger) write(label, msg string) {
	if d == nil || d.w == nil {
		return
	}
	var b strings.Builder
	b.Grow(len(label) + len(d.pid) + len(msg) + 5)
	b.WriteString(label)
	b.WriteString(d.pid)
	b.WriteString(") : ")
	b.WriteString(strings.TrimRight(msg, "\n"))
	b.WriteByte('\n')
	d.mu.Lock()
	defer d.mu.Unlock()
	io.WriteString(d.w, b.String())
}
