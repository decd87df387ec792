SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

# Local binaries directly: same as `npx <tool>`, without npx's chatter or any download.
BIN := node_modules/.bin

.PHONY: deps build typecheck lint test test-unit test-integration test-e2e demo bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(BIN)/tsc -p tsconfig.build.json
	node scripts/bundle.mjs

typecheck: deps
	$(BIN)/tsc -p tsconfig.json --noEmit

lint: deps
	$(BIN)/eslint .

test: deps build typecheck lint
	$(BIN)/vitest run

test-unit: deps
	$(BIN)/vitest run --project unit

test-integration: deps
	$(BIN)/vitest run --project integration

test-e2e: deps
	$(BIN)/vitest run --project e2e

demo: deps build
	node dist/lab/demo.js

# Every bench/<area>/*.ts is an entry point (shared helpers go in bench/lib/);
# each prints its tables and writes charts under bench/out/.
bench: deps build
	@files=$$(find dist/bench -name '*.js' -not -path '*/lib/*' 2>/dev/null | sort); \
	if [ -z "$$files" ]; then echo "bench: no benchmarks built (bench/*/*.ts)"; exit 0; fi; \
	for f in $$files; do echo "== $$f"; node "$$f"; done

clean:
	rm -rf dist coverage bench/out
