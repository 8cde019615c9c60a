package logging

import "testing"

func TestParseSeverity(t *testing.T) {
	for want := Emerg; want <= Debug; want++ {
		t.Run(want.String(), func(t *testing.T) {
			got, err := ParseSeverity(want.String())
			if err != nil || got != want {
				t.Errorf("ParseSeverity(%q) = %v, %v; want %v, nil", want.String(), got, err, want)
			}
		})
	}
	for _, bad := range []string{"", "warn", "error", "INFO", "7"} {
		t.Run("reject "+bad, func(t *testing.T) {
			if _, err := ParseSeverity(bad); err == nil {
				t.Errorf("ParseSeverity(%q) succeeded; want an error", bad)
			}
		})
	}
}

func TestSeverityString(t *testing.T) {
	tests := []struct {
		sev  Severity
		want string
	}{
		{Emerg, "emerg"}, {Alert, "alert"}, {Crit, "crit"}, {Err, "err"},
		{Warning, "warning"}, {Notice, "notice"}, {Info, "info"}, {Debug, "debug"},
		{Severity(8), "Severity(8)"}, {Severity(-1), "Severity(-1)"},
	}
	for _, tt := range tests {
		if got := tt.sev.String(); got != tt.want {
			t.Errorf("Severity(%d).String() = %q; want %q", int(tt.sev), got, tt.want)
		}
	}
}
