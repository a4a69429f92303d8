# make            build bin/cni-ts and a hard link per plugin (offline once node_modules exists)
# make test       unit + integration tests (integration needs root)
# make bench      start-up and command benchmarks against Debian's Go plugins
# make install    hard links in $(DESTDIR)$(PREFIX) (default /opt/cni/bin)
PREFIX ?= /opt/cni/bin
NODE_ENV_CLEAN = env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS
TSX = node_modules/.bin/tsx

.PHONY: all build test unit integration typecheck bench install clean demo

all: build

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

build: node_modules
	flock .build.lock $(NODE_ENV_CLEAN) $(TSX) build.ts

typecheck: node_modules
	node_modules/.bin/tsc --noEmit

unit: node_modules
	$(NODE_ENV_CLEAN) node --test --import tsx $$(find test/unit -name '*.test.ts' | sort)

integration: build
	$(NODE_ENV_CLEAN) node --test --test-concurrency=1 --import tsx $$(find test/integration -name '*.test.ts' | sort)

test: build typecheck
	$(NODE_ENV_CLEAN) node --test --test-concurrency=1 --import tsx $$(find test/unit test/integration -name '*.test.ts' | sort)

bench: build
	for f in scripts/bench/*.ts; do $(NODE_ENV_CLEAN) $(TSX) $$f || exit 1; done

demo:
	bash scripts/demo.sh

install: build
	install -d $(DESTDIR)$(PREFIX)
	install -m 0755 bin/cni-ts $(DESTDIR)$(PREFIX)/cni-ts
	for f in bin/*; do n=$$(basename $$f); [ "$$n" = cni-ts ] || ln -f $(DESTDIR)$(PREFIX)/cni-ts $(DESTDIR)$(PREFIX)/$$n; done

clean:
	rm -rf bin build
