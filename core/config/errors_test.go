package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata/errors")

// TestErrorGolden loads each testdata/errors/*.cfg and compares the full
// error text with the .golden file beside it. Run with -update to rewrite
// the golden files after a deliberate change of wording, then review the
// diff.
func TestErrorGolden(t *testing.T) {
	if _, ok := os.LookupEnv("PIVOT_TEST_SURELY_UNDEFINED"); ok {
		t.Fatal("PIVOT_TEST_SURELY_UNDEFINED must not be set for this test")
	}
	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.cfg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".cfg")
		t.Run(name, func(t *testing.T) {
			cfg, err := Load([]string{file})
			if err == nil {
				t.Fatalf("Load(%s) succeeded; every file in testdata/errors must fail\n%s", file, Format(cfg))
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".cfg") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestErrorRendering(t *testing.T) {
	tests := []struct {
		desc string
		err  error
		want string
	}{
		{"line", &Error{File: "haproxy.cfg", Line: 42, Keyword: "http-request", Msg: `unknown keyword "http-request" in backend "pg"`},
			`haproxy.cfg:42: unknown keyword "http-request" in backend "pg"`},
		{"file", &Error{File: "haproxy.cfg", Msg: "cannot read: permission denied"}, "haproxy.cfg: cannot read: permission denied"},
		{"list", ErrorList{{File: "a.cfg", Line: 1, Msg: "x"}, {File: "a.cfg", Line: 2, Msg: "y"}}, "a.cfg:1: x\na.cfg:2: y"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}
