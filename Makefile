# banger's build. `make help` lists the targets.

PREFIX  ?= /usr/local
DESTDIR ?=
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

BINDIR  := $(DESTDIR)$(PREFIX)/bin
LIBDIR  := $(DESTDIR)$(PREFIX)/lib/banger
LDFLAGS := -s -w -X banger/internal/version.Version=$(VERSION)
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'

.DEFAULT_GOAL := help
.PHONY: help build install host-deps uninstall test unit e2e bench lint fuzz generate clean

help: ## list the documented targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build banger, bangerd, banger-vsock-agent and banger-kubelet (static) into bin/
	$(GOBUILD) -o bin/ ./cmd/banger ./cmd/bangerd ./cmd/banger-vsock-agent ./cmd/banger-kubelet

install: build host-deps ## install to $(PREFIX) (DESTDIR honoured) and apt-install missing host tools
	install -d $(BINDIR) $(LIBDIR)
	install -m 0755 bin/banger bin/bangerd $(BINDIR)/
	install -m 0755 bin/banger-vsock-agent bin/banger-kubelet $(LIBDIR)/
	@echo "installed banger $(VERSION) to $(BINDIR); run 'banger doctor' to check this host"

host-deps: ## install the Debian packages banger needs when they are missing
	@if [ -n "$(DESTDIR)" ] || [ -n "$(BANGER_SKIP_HOST_DEPS)" ]; then \
		echo "skipping host packages (DESTDIR or BANGER_SKIP_HOST_DEPS set)"; \
	else sh scripts/host-deps.sh; fi

uninstall: ## stop the daemon and remove the installed binaries (user data stays)
	-@[ -x $(BINDIR)/banger ] && $(BINDIR)/banger daemon stop
	rm -f $(BINDIR)/banger $(BINDIR)/bangerd $(LIBDIR)/banger-vsock-agent $(LIBDIR)/banger-kubelet
	-rmdir $(LIBDIR) 2>/dev/null
	@echo "banger is uninstalled. Your data is still in place; remove it for a full purge:"
	@echo "  $${XDG_CONFIG_HOME:-$$HOME/.config}/banger       config, managed SSH keys"
	@echo "  $${XDG_STATE_HOME:-$$HOME/.local/state}/banger  VMs, images, kernels, daemon database and log"
	@echo "  $${XDG_CACHE_HOME:-$$HOME/.cache}/banger        downloads, OCI layer cache"

test: ## vet, then run the unit and end-to-end tests (e2e needs root; else it skips, saying why)
	$(GO) vet ./...
	BANGER_E2E=1 $(GO) test -count=1 -timeout 80m ./...

unit: ## run only the fast tests: no root, KVM or network
	$(GO) test ./...

e2e: ## run only the end-to-end tests (root, host packages)
	BANGER_E2E=1 $(GO) test -count=1 -timeout 80m -v ./test/e2e/

bench: ## print speed and memory figures beside a same-run baseline
	$(GO) run ./test/bench

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fuzz: ## run every fuzz target in the tree for FUZZTIME each (default 20s)
	GO=$(GO) sh scripts/fuzz.sh

generate: ## regenerate the Go code of proto/ (needs protoc; the output is committed)
	GOBIN=$(CURDIR)/bin/protoc-plugins $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	GOBIN=$(CURDIR)/bin/protoc-plugins $(GO) install connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1
	PATH="$(CURDIR)/bin/protoc-plugins:$$PATH" protoc -I proto/e2b \
		--go_out=. --go_opt=module=banger \
		--connect-go_out=. --connect-go_opt=module=banger \
		process/process.proto filesystem/filesystem.proto

clean: ## remove build output
	rm -rf bin/
