package logging

import (
	"strings"
	"testing"
)

// The prefixes are copied from HAProxy 2.6's stderr (see the transcripts):
// the labels are padded so that the pids line up.
func TestDiag(t *testing.T) {
	tests := []struct {
		desc string
		log  func(d *DiagLogger)
		want string
	}{
		{"notice", func(d *DiagLogger) { d.Notice("haproxy version is 2.6.12-1+deb12u4") },
			"[NOTICE]   (10497) : haproxy version is 2.6.12-1+deb12u4\n"},
		{"warning", func(d *DiagLogger) { d.Warning("CLI : Proxy pg_fe stopped (cumulated conns: FE: 1, BE: 0).") },
			"[WARNING]  (10497) : CLI : Proxy pg_fe stopped (cumulated conns: FE: 1, BE: 0).\n"},
		{"alert", func(d *DiagLogger) { d.Alert("backend 'dead_be' has no server available!") },
			"[ALERT]    (10497) : backend 'dead_be' has no server available!\n"},
		{"trailing newline not doubled", func(d *DiagLogger) { d.Notice("CLI : Server deleted.\n") },
			"[NOTICE]   (10497) : CLI : Server deleted.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var b strings.Builder
			tt.log(Diag(&b, 10497))
			if got := b.String(); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

func TestDiagNilSafe(t *testing.T) {
	var d *DiagLogger
	d.Notice("x")
	d.Warning("x")
	d.Alert("x")
	Diag(nil, 1).Alert("x")
}
