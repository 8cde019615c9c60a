# pivot — build, test and demo. `make demo` and `make test` are all a fresh
# machine needs (after `go mod download`; .ci/run installs the rest).

GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# Fuzzing budgets are counts of executions, not durations: with a
# duration, Go 1.26's fuzz coordinator can fail a clean run with "context
# deadline exceeded" as the time runs out (golang/go#75804; seen in CI).
# 400,000 inputs take 10–20 s here.
FUZZTIME ?= 400000x

.PHONY: all build test unit e2e fuzz compat demo lint clean bench bench-quick

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/pivotd ./cmd/pivotd
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/pivotctl ./cmd/pivotctl
	$(GO) build -o $(BIN)/pivot-demo ./cmd/pivot-demo
	$(GO) build -o $(BIN)/pivot-bench ./cmd/pivot-bench

# Every test: vet, unit tests under the race detector, the end-to-end suite
# against the built binaries (with the HAProxy compatibility suite), and a
# bounded run of the config and agent-reply fuzzers.
test: build lint unit e2e fuzz

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test$$)

e2e:
	$(GO) test -count=1 -timeout 10m ./test/

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzConfig -fuzztime=$(FUZZTIME) ./core/config
	$(GO) test -run='^$$' -fuzz=FuzzParseAgentReply -fuzztime=100000x ./core/probe

# The HAProxy compatibility suite alone (it is part of `make test`): the
# real HAProxy and pivotd get the same configuration, commands and traffic
# and must answer the same.
compat: build
	$(GO) test -count=1 -run Compat ./test/

# A guided tour: pivotd in front of three local demo backends.
demo: build
	$(BIN)/pivot-demo $(BIN)/pivotd $(BIN)/pivotctl

clean:
	rm -rf $(BIN)

# The side-by-side benchmark: direct, HAProxy and pivot in the same run
# (HAProxy from Debian: apt-get install -y haproxy; redis-server and
# postgresql for the real clients). Five repetitions, since figures on a
# shared 2-core machine move by 10-20% between runs: about 10 minutes;
# writes bench/results/report.md, results.csv and results.json.
bench: build
	$(BIN)/pivot-bench --pivotd $(BIN)/pivotd --reps 5 --out bench/results

# A short run (under 2 minutes) printing the ratios, to run before and
# after a change.
bench-quick: build
	$(BIN)/pivot-bench --quick --pivotd $(BIN)/pivotd
