# wasp — the one binary; these targets are thin on purpose.
GO      ?= go
BIN     ?= bin/wasp
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test bench fuzz lint fmt clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/wasp

# The main job on the embedded log with demo credentials.
run: build
	$(BIN) run --demo

# What CI runs: a private ClickHouse server and Chromium for the
# integration and browser tests (scripts/clickhouse.sh and
# scripts/chromium.sh install Debian's packages if needed), vet, the
# allocation tests (which only count right without the race detector), then
# every test with the race detector. The server is stopped however the
# tests end.
test:
	scripts/clickhouse.sh start
	@trap 'scripts/clickhouse.sh stop' EXIT; trap 'exit 130' INT TERM; set -e; \
	export WASP_TEST_CLICKHOUSE_ADDR=$$(scripts/clickhouse.sh addr); \
	WASP_TEST_CHROMIUM=$$(scripts/chromium.sh); export WASP_TEST_CHROMIUM; \
	set -x; \
	$(GO) vet ./...; \
	$(GO) test -count=1 -run Allocations ./ingest; \
	$(GO) test -race -count=1 -timeout 20m ./...

# Go benchmarks (the ingest HTTP load test is bench/ingest/run.sh).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The fuzz targets of the webhook parser (and of its scanning paths against
# encoding/json), of the ingester's JSON check and of the stored
# conversations' decoder, each for FUZZTIME (default a minute).
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./schemas -run '^$$' -fuzz 'FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./schemas -run '^$$' -fuzz FuzzScanMatchesEncodingJSON -fuzztime $(FUZZTIME)
	$(GO) test ./internal/rawjson -run '^$$' -fuzz FuzzValidJSON -fuzztime $(FUZZTIME)
	$(GO) test ./processor -run '^$$' -fuzz FuzzDecodeConversation -fuzztime $(FUZZTIME)

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w .

clean:
	rm -rf bin
