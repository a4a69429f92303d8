# make            build bin/cni-ts and a hard link per plugin (offline once node_modules exists), on $(RUNTIME)
# make build-sea  the same as a Node single executable (postject, trained V8 code caches); make build-bun: Bun --compile
# make test       unit + integration tests (integration needs root)
# make bench      start-up and command benchmarks against Debian's Go plugins
# make test-vm    the tests that need kernel features this host lacks (bridge VLAN filtering...), in a qemu VM
# make install    hard links in $(DESTDIR)$(PREFIX) (default /opt/cni/bin)
# make release    release-<version>/cni-plugins-linux-amd64-<version>.tgz, .sha256, .sha512 (RELEASE_DIR=... elsewhere)
# make release-check  two builds and releases of this commit must give the same sha256
PREFIX ?= /opt/cni/bin
NODE_ENV_CLEAN = env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS
TSX = node_modules/.bin/tsx
# the runtime inside bin/cni-ts: node (a Node SEA) or bun (bun build --compile --bytecode)
RUNTIME ?= bun

.PHONY: all build build-sea build-bun test test-vm unit integration typecheck bench install clean demo release release-check

all: build

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

build: node_modules
	flock .build.lock $(NODE_ENV_CLEAN) $(TSX) build.ts --runtime=$(RUNTIME)

build-sea:
	@$(MAKE) --no-print-directory build RUNTIME=node

build-bun:
	@$(MAKE) --no-print-directory build RUNTIME=bun

typecheck: node_modules
	node_modules/.bin/tsc --noEmit

unit: node_modules
	$(NODE_ENV_CLEAN) node --test --import tsx $$(find test/unit -name '*.test.ts' | sort)

integration: build
	$(NODE_ENV_CLEAN) node --test --test-concurrency=1 --import tsx $$(find test/integration -name '*.test.ts' | sort)

test: build typecheck
	$(NODE_ENV_CLEAN) node --test --test-concurrency=1 --import tsx $$(find test/unit test/integration -name '*.test.ts' | sort)
	@$(MAKE) --no-print-directory test-vm

# Tests (files, and names matching VM_PATTERN) that need kernel features missing
# here, run with CNI_TS_VM=1 in one guest booted on Debian's kernel (test/vm/);
# the guest uses this bin/ through the shared host root. Skipped with a reason
# when no guest can boot (no qemu or kernel: run test/vm/setup.sh).
VM_TESTS = test/integration/bridge.test.ts test/integration/netlink.test.ts test/integration/ipvlan.test.ts test/integration/vlan.test.ts \
  test/integration/dummy.test.ts test/integration/vrf.test.ts
VM_PATTERN = VLAN|ipvlan|vlan|kernel dummy|kernel vrf
test-vm:
	@if reason=$$(test/vm/vm-run.sh --check); then \
	  [ -x bin/cni-ts ] || { echo "test-vm: bin/cni-ts missing: run make build first" >&2; exit 1; }; \
	  echo "test-vm: $(VM_TESTS) (tests matching /$(VM_PATTERN)/) in a qemu guest"; \
	  test/vm/vm-run.sh -m 2048M -t 900 'set -o pipefail; $(NODE_ENV_CLEAN) node --test --test-concurrency=1 --test-reporter=spec \
	    --test-name-pattern="$(VM_PATTERN)" --import tsx $(VM_TESTS) | grep -v "# test name does not match pattern$$"'; \
	else echo "SKIPPED: kernel-feature tests ($$reason)"; fi

bench: build
	for f in scripts/bench/*.ts; do $(NODE_ENV_CLEAN) $(TSX) $$f || exit 1; done

demo:
	bash scripts/demo.sh

install: build
	install -d $(DESTDIR)$(PREFIX)
	install -m 0755 bin/cni-ts $(DESTDIR)$(PREFIX)/cni-ts
	for f in bin/*; do n=$$(basename $$f); [ "$$n" = cni-ts ] || ln -f $(DESTDIR)$(PREFIX)/cni-ts $(DESTDIR)$(PREFIX)/$$n; done

release: build
	$(NODE_ENV_CLEAN) $(TSX) scripts/release.ts $(if $(RELEASE_DIR),--out $(RELEASE_DIR))

# On a difference, the programs' bundles and code caches that differ are listed: a code cache
# differs when a function is compiled on a timing-dependent path only (see build.ts train()).
release-check:
	rm -rf build/release-check
	$(MAKE) --no-print-directory release RELEASE_DIR=build/release-check/1
	cd build && sha256sum cninative.node sea.blob programs/* > release-check/1/parts.sha256
	$(MAKE) --no-print-directory release RELEASE_DIR=build/release-check/2
	cd build && sha256sum cninative.node sea.blob programs/* > release-check/2/parts.sha256
	cd build/release-check && cat 1/*.tgz.sha256 2/*.tgz.sha256 && { cmp 1/*.tgz 2/*.tgz && echo "release-check: reproducible"; } \
	  || { diff 1/parts.sha256 2/parts.sha256; echo "release-check: NOT reproducible" >&2; exit 1; }

clean:
	rm -rf bin build
