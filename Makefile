# Duet's two entry points: `make demo` runs the main job, `make test` the whole
# test suite. Each installs what is missing first and says so.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
DEMO_PIPELINE ?= examples/quickstart.yaml
DEMO_OUT ?= out/quickstart

.PHONY: demo test deps build release bench fuzz clean

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The main job: the quickstart pipeline on a local coordinator with 2 workers.
demo: release
	.build/release/duet run $(DEMO_PIPELINE) --out $(DEMO_OUT) --local 2

test: deps
	$(SWIFT) build --build-tests
	# Coordinator and workers as separate hosts in network namespaces (skips when not root).
	DUET=.build/debug/duet ./scripts/netns-cluster.sh
	$(SWIFT) test --skip-build

bench: release
	.build/release/duet bench simulate --scenario r1
	.build/release/duet bench simulate --scenario batching
	.build/release/duet bench train

# libFuzzer on the input readers (scripts/fuzz.sh): FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 600
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

clean:
	rm -rf .build
