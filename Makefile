# gosupervisor — see README.md. Every target does its own set-up.
GO      ?= go
BIN     := bin
PKGS    := ./...
DEMO    := testdata/demo/supervisord.conf

.PHONY: all build run test deps bench bench-deps soak lint fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# The reference (Python supervisord + supervisorctl 4.2.5) and the browser
# the tests drive. Installs only what is missing; needs root for apt-get.
deps:
	@./scripts/deps.sh

run: build
	@mkdir -p /tmp/gosupervisor-demo
	$(BIN)/supervisord -n -c $(DEMO)

test: deps
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 9m $(PKGS)

# The C log reader is the bound the log scenarios hold the daemons to; the
# scale curve is also drawn in $(BIN)/scale.svg, and the tables written as
# Markdown for README.md in $(BIN)/bench.md (JSON in $(BIN)/bench.json).
# BENCHTIMEOUT bounds the whole run: what was measured by then is reported.
BENCHTIMEOUT ?= 90m
bench: bench-deps build $(BIN)/logreader
	$(BIN)/bench -logreader $(BIN)/logreader -svg $(BIN)/scale.svg -md $(BIN)/bench.md -json $(BIN)/bench.json -timeout $(BENCHTIMEOUT) $(BENCHFLAGS)

bench-deps:
	@./scripts/deps.sh bench

$(BIN)/logreader: bench/logreader/logreader.c
	@mkdir -p $(BIN)
	$(CC) -O2 -Wall -Wextra -o $@ $<

soak: deps build
	$(GO) test -v -count=1 -timeout 20m -run TestSoak ./soak/ -args -soak.duration=10m

# Imports in goimports' groups: the standard library, then other modules,
# then this module's packages (gosupervisor/...), each group in a block of
# its own. Fix a file with: go run $(GOIMPORTS) -local gosupervisor -w FILE
GOIMPORTS := golang.org/x/tools/cmd/goimports@v0.53.0

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@out=$$($(GO) run $(GOIMPORTS) -local gosupervisor -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "imports need grouping (go run $(GOIMPORTS) -local gosupervisor -w FILE):"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 20s ./config/
	$(GO) test -run '^$$' -fuzz FuzzDecodeRequest -fuzztime 20s ./rpc/

clean:
	rm -rf $(BIN)
