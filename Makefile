# caddy-bee. `make run` serves the gateway against the Bee simulator (or BEE_URL);
# `make test` runs the whole test suite, exactly as CI does.
GO       ?= go
BIN      := $(CURDIR)/bin
# Fuzz budgets are execution counts, about 5 s of each target on 2 cores: a duration budget
# races Go 1.26's fuzz coordinator at the deadline (golang/go#75804, fixed in Go 1.27) and
# fails with "context deadline exceeded" on a loaded machine. FUZZTIME=30s (or 1000000x)
# overrides every target.
FUZZ_ROUTES     ?= 150000x
FUZZ_CADDYFILE  ?= 2000x
FUZZ_API_BODY   ?= 2000x
FUZZ_INJECTION  ?= 5000x
FUZZ_BATCH_ID   ?= 40000x
FUZZ_BEE_ERRORS ?= 20000x

.PHONY: all build run crash-check soak test vet lint fmt-check e2e-deps unit browser-test bench bench-quick fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/caddy ./cmd/caddy
	$(GO) build -o $(BIN)/beesim ./cmd/beesim

run: build
	BIN=$(BIN) ./scripts/run.sh

# SIGKILL Caddy mid-purchase, restart, and compare the ledger with the chain.
crash-check: build
	BIN=$(BIN) ./scripts/crash-check.sh

# Steady load for SOAK_DURATION (default 2m) with RSS and goroutines sampled; see RELIABILITY.md.
soak: build
	BIN=$(BIN) ./scripts/soak.sh

test: fmt-check vet lint e2e-deps build unit browser-test bench-quick fuzz

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# go.mod tidy, staticcheck, unparam and deadcode clean. The linters are installed here, at
# pinned versions, into bin/lint (go install, from the Go module proxy on a fresh machine).
# deadcode runs with -test: the simulator's Go API (beesim.Sim.AddContent, CreateBatch, the
# fault setters) and swarm's signing helpers exist for tests, so test code counts as a caller.
STATICCHECK_VERSION ?= v0.8.2
UNPARAM_VERSION     ?= v0.0.0-20260823230713-2fa3d841b0c8
DEADCODE_VERSION    ?= v0.52.0
LINT_BIN := $(BIN)/lint
lint:
	$(GO) mod tidy -diff
	GOBIN=$(LINT_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	GOBIN=$(LINT_BIN) $(GO) install mvdan.cc/unparam@$(UNPARAM_VERSION)
	GOBIN=$(LINT_BIN) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)
	@# Every linter runs, so one pass shows every finding.
	@status=0; \
	echo "staticcheck ./..."; $(LINT_BIN)/staticcheck ./... || status=1; \
	echo "unparam ./..."; $(LINT_BIN)/unparam ./... || status=1; \
	echo "deadcode -test ./..."; out=$$($(LINT_BIN)/deadcode -test ./...) || status=1; \
	if [ -n "$$out" ]; then echo "$$out"; status=1; fi; \
	exit $$status

# The bee-js end-to-end test (caddymodule/beejs_e2e_test.go) runs the pinned client from test/e2e.
e2e-deps:
	npm ci --prefix test/e2e --no-audit --no-fund --loglevel=error

# bee-js in headless Chromium (Debian's chromium package, driven by puppeteer-core) on a page
# of another origin, through the gateway: CORS, uploads, downloads, feeds (test/e2e/browser.test.mjs).
browser-test: e2e-deps
	CADDY_BEE_BROWSER_TEST=1 $(GO) test -count=1 -run '^TestBrowserEndToEnd$$' ./caddymodule

# test/reliability drives the built binaries (CADDY_BEE_BIN) as separate processes.
unit: build
	CADDY_BEE_BIN=$(BIN) $(GO) test -race -count=1 -timeout 40m ./...

# Side-by-side load test: plain reverse_proxy vs caddy-bee (and nginx, Varnish when
# installed) on one Bee simulator; writes BENCHMARKS.md. About 10 minutes on 2 cores.
bench: build
	$(GO) run ./cmd/benchrun -caddy $(BIN)/caddy -beesim $(BIN)/beesim -out BENCHMARKS.md

# The same harness in seconds, so it never rots; fails on any failed request.
bench-quick: build
	$(GO) run ./cmd/benchrun -caddy $(BIN)/caddy -beesim $(BIN)/beesim -quick -out $(BIN)/bench-quick.md

# Each fuzz target runs its budget on top of its seed corpus.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_ROUTES)) ./internal/routepolicy
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshalCaddyfile$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_CADDYFILE)) ./caddymodule
	$(GO) test -run '^$$' -fuzz '^FuzzReadAPIBody$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_API_BODY)) ./internal/poolapi
	$(GO) test -run '^$$' -fuzz '^FuzzWantsInjection$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_INJECTION)) ./internal/inject
	$(GO) test -run '^$$' -fuzz '^FuzzValidateBatchID$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_BATCH_ID)) ./internal/bee
	$(GO) test -run '^$$' -fuzz '^FuzzAPIErrorDecoding$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_BEE_ERRORS)) ./internal/bee

clean:
	rm -rf $(BIN)
