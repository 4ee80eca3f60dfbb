# Duet's two entry points: `make demo` runs the main job, `make test` the whole
# test suite. Each installs what is missing first and says so.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
DEMO_PIPELINE ?= examples/quickstart.yaml
DEMO_OUT ?= out/quickstart

.PHONY: demo test test-kernels deps test-deps build release install uninstall bench faults fuzz clean

deps:
	@./scripts/install-deps.sh

# The build's packages plus those only the tests use (shellcheck, chromium; schemathesis from PyPI).
test-deps:
	@./scripts/install-deps.sh --with-tests

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The release binary, its shell completions and the shipped model (PREFIX/share/duet,
# where `duet predict` looks for it) under PREFIX (DESTDIR for packagers).
PREFIX ?= /usr/local
install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
		$(DESTDIR)$(PREFIX)/share/duet
	install -m 755 .build/release/duet $(DESTDIR)$(PREFIX)/bin/duet
	install -m 644 models/duet-tandem-v1.json $(DESTDIR)$(PREFIX)/share/duet/duet-tandem-v1.json
	install -m 644 models/duet-tandem-v1-fast.json $(DESTDIR)$(PREFIX)/share/duet/duet-tandem-v1-fast.json
	.build/release/duet --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/duet
	.build/release/duet --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_duet
	.build/release/duet --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/duet.fish
	@echo "installed $(DESTDIR)$(PREFIX)/bin/duet, its bash, zsh and fish completions and the shipped models"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/duet $(DESTDIR)$(PREFIX)/share/bash-completion/completions/duet \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_duet $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/duet.fish \
		$(DESTDIR)$(PREFIX)/share/duet/duet-tandem-v1.json
	-rmdir $(DESTDIR)$(PREFIX)/share/duet 2>/dev/null

# The main job: the quickstart pipeline on a local coordinator with 2 workers.
demo: release
	.build/release/duet run $(DEMO_PIPELINE) --out $(DEMO_OUT) --local 2
	@echo "The shipped model (models/duet-tandem-v1.json, docs/domain.md) on the quickstart's rows, none of which it saw:"
	.build/release/duet evaluate models/duet-tandem-v1.json $(DEMO_OUT)/dataset.csv

test: test-deps
	$(SWIFT) build --build-tests
	# Coordinator and workers as separate hosts in network namespaces (skips when not root).
	DUET=.build/debug/duet ./scripts/netns-cluster.sh
	$(SWIFT) test --skip-build
	# duet serve against docs/openapi.yaml (schemathesis; skips only when PyPI is unreachable).
	DUET=.build/debug/duet ./scripts/serve-schemathesis.sh

# The suites that go through OpenBLAS, once per CPU kernel family (a developer's check).
test-kernels: test-deps
	$(SWIFT) build --build-tests
	./scripts/blas-kernels.sh

bench: release
	.build/release/duet bench simulate --scenario r1
	.build/release/duet bench simulate --scenario batching
	.build/release/duet bench train
	./scripts/serve-bench.sh

# Faults, as a matrix: workers, the coordinator and the client killed with SIGKILL
# during sweeps and searches, and (as root) a network partition; not part of `test`.
faults: release
	DUET=.build/release/duet ./scripts/fault-matrix.sh

# libFuzzer on the input readers (scripts/fuzz.sh): FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 600
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

clean:
	rm -rf .build
