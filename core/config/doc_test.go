package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDocumentationExamples parses every ```haproxy block of
// docs/configuration.md, so the reference never shows a configuration
// pivot would refuse.
func TestDocumentationExamples(t *testing.T) {
	t.Setenv("PG1_ADDR", "10.0.0.21")
	path := filepath.Join("..", "..", "docs", "configuration.md")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	var block []string
	start, in := 0, false
	for i, line := range strings.Split(string(src), "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```haproxy":
			in, start, block = true, i+2, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks++
			name := path + ":" + strconv.Itoa(start)
			text := strings.Join(block, "\n") + "\n"
			t.Run(strconv.Itoa(start), func(t *testing.T) {
				if _, err := Parse(name, []byte(text)); err != nil {
					t.Errorf("example at %s does not parse:\n%v\n%s", name, err, text)
				}
			})
		case in:
			block = append(block, line)
		}
	}
	if blocks < 5 {
		t.Errorf("got %d haproxy blocks in %s; want at least 5", blocks, path)
	}
}
