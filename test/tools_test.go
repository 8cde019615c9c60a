package test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// Tools written for HAProxy's stats socket must work against pivotd
// unchanged. The Prometheus HAProxy exporter (Debian's
// prometheus-haproxy-exporter) parses `show stat` CSV by column position
// and drops a scrape whose layout it does not recognise: pointed at
// HAProxy and at pivotd with the same configuration, it must publish the
// same series with the same states.

// exporterBin returns the exporter's path, or skips the test (fails it
// under CI=true, where .ci/run installs it).
func exporterBin(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("prometheus-haproxy-exporter")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prometheus-haproxy-exporter is not installed (CI=true): %v", err)
		}
		t.Skipf("prometheus-haproxy-exporter is not installed, skipping: %v", err)
	}
	return path
}

// startExporter runs the exporter against a stats socket and returns the
// URL of its metrics.
func startExporter(t *testing.T, bin, sock string) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--haproxy.scrape-uri=unix:"+sock, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	url := "http://" + addr + "/metrics"
	waitFor(t, 10*time.Second, func() error {
		_, err := scrape(url)
		return err
	})
	return url
}

// scrape returns the haproxy_ samples of a metrics page, "name{labels} value"
// per line, sorted.
func scrape(url string) ([]string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "haproxy_") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out, sc.Err()
}

// sample is the value of one series, "" when it is absent.
func sample(lines []string, series string) string {
	for _, l := range lines {
		if name, v, ok := strings.Cut(l, " "); ok && name == series {
			return v
		}
	}
	return ""
}

// seriesOf keeps the series of the samples, without values; the version
// series keeps only its name (each daemon reports its own).
func seriesOf(lines []string) []string {
	var out []string
	for _, l := range lines {
		name, _, _ := strings.Cut(l, " ")
		if strings.HasPrefix(name, "haproxy_version_info{") {
			name = "haproxy_version_info"
		}
		out = append(out, name)
	}
	return out
}

func TestPrometheusExporterReadsPivot(t *testing.T) {
	t.Parallel()
	bin := exporterBin(t)
	s1, s2 := startBackend(t, "s1"), startBackend(t, "s2")
	p := startCompat(t, compatGlobal+`
frontend fe_app
    bind $FE1
    default_backend be_app

backend be_app
    server s1 $s1 check inter 1s
    server s2 $s2
    server s3 $s2 disabled
`, vars{"s1": s1.Addr, "s2": s2.Addr})
	p.settle(t)
	hap := startExporter(t, bin, p.Hap.Sock("admin"))
	piv := startExporter(t, bin, p.Piv.Sock("admin"))

	compare := func(when string, want map[string]string) {
		t.Helper()
		var h, v []string
		waitFor(t, 5*time.Second, func() error {
			var err error
			if h, err = scrape(hap); err != nil {
				return err
			}
			if v, err = scrape(piv); err != nil {
				return err
			}
			for series, w := range want {
				if got := sample(v, series); got != w {
					return fmt.Errorf("%s: pivotd %s = %q; want %q", when, series, got, w)
				}
				if got := sample(h, series); got != w {
					return fmt.Errorf("%s: haproxy %s = %q; want %q", when, series, got, w)
				}
			}
			return nil
		})
		if hs, vs := seriesOf(h), seriesOf(v); !slices.Equal(hs, vs) {
			t.Errorf("%s: the exporter publishes other series for pivotd\nhaproxy:\n%s\npivotd:\n%s",
				when, strings.Join(hs, "\n"), strings.Join(vs, "\n"))
		}
	}
	compare("at start", map[string]string{
		"haproxy_up": "1",
		"haproxy_exporter_csv_parse_failures_total":       "0",
		`haproxy_server_up{backend="be_app",server="s1"}`: "1",
		`haproxy_server_up{backend="be_app",server="s2"}`: "1",
		`haproxy_server_up{backend="be_app",server="s3"}`: "0",
		`haproxy_backend_up{backend="be_app"}`:            "1",
	})
	for _, d := range []*compatDaemon{p.Hap, p.Piv} {
		send(t, d.Sock("admin"), "set server be_app/s1 state maint;set server be_app/s3 state ready")
	}
	compare("after maint and ready", map[string]string{
		`haproxy_server_up{backend="be_app",server="s1"}`:     "0",
		`haproxy_server_up{backend="be_app",server="s3"}`:     "1",
		`haproxy_server_weight{backend="be_app",server="s3"}`: "1",
	})
}
