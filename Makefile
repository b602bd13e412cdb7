# gatehouse - one hand-written GNU Makefile.
#
#   make            build build/gatehouse (and build/libgatehouse.a)
#   make run        install Debian packages if missing, build, run on 127.0.0.1:8080 (foreground)
#   make demo       the same, then `gatehouse demo`: a development issuer, users and groups over
#                   SCIM, and curl commands to try (var/demo, fresh each run; Ctrl-C stops it)
#   make test       install test packages if missing, run unit + e2e tests + fuzz corpus replay,
#                   the unit + e2e tests again on a throwaway PostgreSQL (`make check-pg`),
#                   a short `make crashtest` and `make hostile`
#   make SANITIZE=address,undefined test    the same, built with ASan/UBSan into build-asan/
#   make crashtest  kill -9 the daemon under SCIM writes, CRASH_CYCLES times (default 30)
#   make bench      benchmarks (figures as ratios against baselines measured in the same run)
#   make fuzz       libFuzzer on every fuzz target, FUZZ_SECONDS each (FUZZ_TARGETS="a b" for some)
#   make check-examples   the deployment examples no test runs: systemd unit, Envoy ConfigMap, Dockerfile
#   make browser-test     the admin page end to end in Debian's Chromium (tests/browser/; part of test)
#   make check-www  the admin page's files (sidecar/www): syntax, CSP-safe, no storage
#   make format | format-check | lint-banned | tidy | cppcheck | check-headers | check-layout | clean
#                   (the lint tools: `make lint-deps`)

SHELL     := /bin/bash
PKGS      := libmicrohttpd libjwt libcurl libcjson sqlite3 openssl
TEST_PKGS := check
# Debian packages: building (and curl, for the commands `make run` and `make demo` print), then
# testing, then linting. `make deps` / `make test-deps` / `make lint-deps` install what is missing.
DEB_BUILD := build-essential pkgconf libmicrohttpd-dev libjwt-dev libcurl4-openssl-dev \
             libcjson-dev libsqlite3-dev libssl-dev openssl ca-certificates libpq-dev curl
# python3-jsonschema: the AuthZEN e2e test validates requests and replies against JSON Schemas;
# nginx-light, caddy: the proxy e2e suite runs the examples in front of gatehouse; chromium: the
# admin page's browser tests (make browser-test, with npm's playwright-core)
DEB_TEST  := $(DEB_BUILD) check valgrind postgresql python3-jsonschema \
             nginx-light caddy chromium
DEB_LINT  := clang-format clang-tidy cppcheck nodejs
DEB_FUZZ  := $(DEB_BUILD) clang libclang-rt-14-dev

CC      ?= cc
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD   := build
OPT     := -O2 -D_FORTIFY_SOURCE=2
else
BUILD   := build-asan
OPT     := -O1 -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
           -U_FORTIFY_SOURCE
LDSAN   := -fsanitize=$(SANITIZE)
endif

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
           -Wpointer-arith -Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARN    += -Werror
endif
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CFLAGS  := -std=c11 -D_DEFAULT_SOURCE -g $(OPT) $(WARN) -fstack-protector-strong -I. \
           -I/usr/include/postgresql \
           -DGH_GIT_REV=\"$(GIT_REV)\" $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
           $(EXTRA_CFLAGS)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpq -lpthread
TEST_LDLIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
DEPFLAGS = -MMD -MP

ifneq ($(V),1)
Q := @
endif

SRC_DIRS := core sidecar store scim authz jwks policies
LIB_SRCS := $(filter-out sidecar/main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# the admin page's files, compiled in (sidecar/page.h; the rule is under "the admin page")
LIB_OBJS += $(BUILD)/obj/gen/www.o
MAIN_OBJ := $(BUILD)/obj/sidecar/main.o
SUP_SRCS := $(wildcard tests/support/*.c)
SUP_OBJS := $(SUP_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
E2E_SRCS  := $(wildcard tests/e2e/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)

.PHONY: all run demo test check check-pg unit unit-pg e2e e2e-pg hostile fuzz-replay fuzz bench deps test-deps fuzz-deps lint-deps \
        format format-check lint-banned tidy cppcheck check-headers check-layout check-valgrind crashtest \
        check-examples browser-test check-www \
        clean

all: $(BUILD)/gatehouse

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libgatehouse.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/gatehouse: $(MAIN_OBJ) $(BUILD)/libgatehouse.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

# ---- the admin page -------------------------------------------------------------------------
# Every file of sidecar/www/ becomes a byte array of $(BUILD)/gen/www.c and a row of the table
# sidecar/page.h declares, with od and awk (POSIX; no xxd). A name must be a plain file name
# (letters, digits, '.', '_', '-'), since it is a URL path segment and a C string; index.html
# must be there. The directory is a prerequisite too, so adding or removing a file regenerates.
WWW_FILES := $(sort $(wildcard sidecar/www/*))
$(BUILD)/gen/www.c: $(WWW_FILES) sidecar/www
	@mkdir -p $(dir $@)
	$(Q)set -e; test -f sidecar/www/index.html || { echo "sidecar/www/index.html is missing" >&2; exit 1; }; \
	{ echo '/* generated from sidecar/www/ by the Makefile: do not edit */'; \
	  echo '#include "sidecar/page.h"'; \
	  i=0; for f in $(WWW_FILES); do \
	    test -f "$$f" || continue; n=$${f##*/}; \
	    case "$$n" in *[!A-Za-z0-9._-]*|.*) echo "sidecar/www: bad file name '$$n'" >&2; exit 1;; esac; \
	    echo "/* $$n */"; echo "static const unsigned char gh_www_$$i[] = {"; \
	    od -An -v -tu1 "$$f" | awk '{ for (k = 1; k <= NF; k++) printf "%s,", $$k; printf "\n" }'; \
	    echo "0};"; i=$$((i + 1)); \
	  done; \
	  echo 'const struct gh_page_file gh_page_files[] = {'; \
	  i=0; for f in $(WWW_FILES); do \
	    test -f "$$f" || continue; \
	    echo "    {\"$${f##*/}\", gh_www_$$i, sizeof(gh_www_$$i) - 1},"; i=$$((i + 1)); \
	  done; \
	  echo '    {0, 0, 0},'; echo '};'; \
	  echo "const size_t gh_page_nfiles = $$i;"; \
	} > $@.tmp; mv $@.tmp $@
$(BUILD)/obj/gen/www.o: $(BUILD)/gen/www.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# ---- tests -----------------------------------------------------------------------------------
# Suites are collected from the test files themselves: any "Suite *x_suite(void)" definition.
define gen_suites
	@mkdir -p $(dir $@)
	$(Q)sed -n 's/^Suite \*\([a-z0-9_]*_suite\)(void)$$/GH_SUITE(\1)/p' /dev/null $^ > $@.tmp && mv $@.tmp $@
endef
$(BUILD)/gen/unit_suites.h: $(UNIT_SRCS)
	$(gen_suites)
$(BUILD)/gen/e2e_suites.h: $(E2E_SRCS)
	$(gen_suites)

$(BUILD)/obj/tests/unit/run.o: $(BUILD)/gen/unit_suites.h
$(BUILD)/obj/tests/e2e/run.o: $(BUILD)/gen/e2e_suites.h

$(BUILD)/unit_tests: $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/unit/run.o $(SUP_OBJS) \
                     $(BUILD)/libgatehouse.a
	$(Q)$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/e2e_tests: $(E2E_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/e2e/run.o $(SUP_OBJS) \
                    $(BUILD)/libgatehouse.a
	$(Q)$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/obj/tests/%.o: CFLAGS += -DGH_TESTING -I$(BUILD)/gen -Wno-missing-prototypes

unit: $(BUILD)/unit_tests
	$(Q)$(BUILD)/unit_tests

# The unit tests with the PostgreSQL half of the store matrix, on a throwaway cluster
# (tests/pg/with-cluster.sh: a free loopback port, stopped and removed afterwards).
unit-pg: $(BUILD)/unit_tests
	$(Q)GH_SRCDIR=$(CURDIR) tests/pg/with-cluster.sh $(BUILD)/unit_tests

# Unit tests under valgrind (CK_FORK=no so valgrind follows every test in one process).
check-valgrind: $(BUILD)/unit_tests
	$(Q)CK_FORK=no valgrind -q --error-exitcode=1 --leak-check=full \
	  --errors-for-leak-kinds=definite,indirect --suppressions=tests/valgrind.supp $(BUILD)/unit_tests

e2e: $(BUILD)/e2e_tests $(BUILD)/gatehouse
	$(Q)GH_BINARY=$(abspath $(BUILD)/gatehouse) GH_SRCDIR=$(CURDIR) $(BUILD)/e2e_tests

# The same suites on the PostgreSQL backend (a throwaway cluster on loopback; the test matrix).
e2e-pg: $(BUILD)/e2e_tests $(BUILD)/gatehouse
	$(Q)tests/pg/with-cluster.sh env GH_BINARY=$(abspath $(BUILD)/gatehouse) GH_SRCDIR=$(CURDIR) \
	  $(BUILD)/e2e_tests

# kill -9 under concurrent SCIM writes, restart, check every acknowledged write (tests/crash/).
# CRASH_CYCLES=5 is a short run for CI.
CRASH_CYCLES ?= 30
$(BUILD)/crash_test: $(BUILD)/obj/tests/crash/crash.o $(SUP_OBJS) $(BUILD)/libgatehouse.a
	$(Q)$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

crashtest: $(BUILD)/crash_test $(BUILD)/gatehouse
	$(Q)CRASH_CYCLES=$(CRASH_CYCLES) GH_BINARY=$(abspath $(BUILD)/gatehouse) GH_SRCDIR=$(CURDIR) \
	  $(BUILD)/crash_test

# Every hostile client of issue 9 against the real binary, as a table (HOSTILE_SCALE=0.2 for a
# smaller flood); fails when a case is not answered as promised or gatehouse stops serving.
$(BUILD)/hostile: $(BUILD)/obj/tests/hostile/hostile.o $(SUP_OBJS) $(BUILD)/libgatehouse.a
	$(Q)$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

hostile: $(BUILD)/hostile $(BUILD)/gatehouse
	$(Q)GH_BINARY=$(abspath $(BUILD)/gatehouse) GH_SRCDIR=$(CURDIR) $(BUILD)/hostile

# Fuzz targets: replay the corpus with a plain driver (gcc) inside `make test`; `make fuzz` runs
# libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS on each of FUZZ_TARGETS (default: all), with
# tests/fuzz/dict/<t>.dict when there is one. New inputs go to build-fuzz/corpus/<t>/, crashes to
# build-fuzz/crashes/<t>/; every target runs even when an earlier one crashed, then it fails.
$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c tests/fuzz/standalone.c $(BUILD)/libgatehouse.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -DGH_TESTING -o $@ $^ $(LDSAN) $(LDLIBS)

fuzz-replay: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
	$(Q)set -e; for t in $(FUZZ_NAMES); do $(BUILD)/fuzz/$$t tests/fuzz/corpus/$$t; done

FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_CFLAGS = $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) -O1 -g -DGH_TESTING \
              -fsanitize=fuzzer,address,undefined
fuzz: fuzz-deps
	$(Q)$(MAKE) --no-print-directory CC=clang BUILD=build-fuzz OPT="-O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined" LDSAN="-fsanitize=address,undefined" build-fuzz/libgatehouse.a
	$(Q)failed=""; for t in $(FUZZ_TARGETS); do \
	  clang $(FUZZ_CFLAGS) -o build-fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c build-fuzz/libgatehouse.a \
	    $(LDLIBS) || exit 1; \
	  mkdir -p build-fuzz/corpus/$$t build-fuzz/crashes/$$t; \
	  dict=""; test -f tests/fuzz/dict/$$t.dict && dict="-dict=tests/fuzz/dict/$$t.dict"; \
	  echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
	    -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/$$t/ $$dict $(FUZZ_ARGS) \
	    build-fuzz/corpus/$$t tests/fuzz/corpus/$$t || failed="$$failed $$t"; \
	done; \
	test -z "$$failed" || { echo "fuzz: crashes in:$$failed (inputs in build-fuzz/crashes/)" >&2; exit 1; }

# Every test: unit, e2e, fuzz replay, the unit and e2e suites again on PostgreSQL (a throwaway
# cluster on loopback), then the short kill -9 loop and the hostile clients.
test: test-deps
	$(Q)$(MAKE) --no-print-directory check
	$(Q)$(MAKE) --no-print-directory check-pg
	$(Q)$(MAKE) --no-print-directory crashtest CRASH_CYCLES=5
	$(Q)$(MAKE) --no-print-directory hostile
	$(Q)$(MAKE) --no-print-directory browser-test

check-pg: all
	$(Q)$(MAKE) --no-print-directory unit-pg
	$(Q)$(MAKE) --no-print-directory e2e-pg

check: all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory fuzz-replay

# ---- running ----------------------------------------------------------------------------------
RUN_DIR ?= var
run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)mkdir -p $(RUN_DIR) && chmod 700 $(RUN_DIR)
	$(Q)test -s $(RUN_DIR)/scim-token || (umask 077; openssl rand -hex 32 > $(RUN_DIR)/scim-token; \
	  echo "generated a SCIM bearer secret in $(RUN_DIR)/scim-token (give it to Entra as the Secret Token)")
	$(Q)test -s $(RUN_DIR)/admin-token || (umask 077; openssl rand -hex 32 > $(RUN_DIR)/admin-token; \
	  echo "generated an admin bearer secret in $(RUN_DIR)/admin-token")
	@echo "SCIM Secret Token: $$(cat $(RUN_DIR)/scim-token)"
	@echo "Tenant URL (behind your HTTPS front or with GATEHOUSE_TLS_CERT/KEY): http://127.0.0.1:8080/scim/v2?aadOptscim062020"
	@echo "  (?aadOptscim062020 turns on Entra's SCIM 2.0 compliant behaviour; see docs/entra-scim.md)"
	@echo "Admin secret in $(RUN_DIR)/admin-token, e.g.:"
	@echo "  curl -s http://127.0.0.1:8080/admin/v1/access-groups -H \"Authorization: Bearer \$$(cat $(RUN_DIR)/admin-token)\""
	@test -n "$$GATEHOUSE_OIDC_DISCOVERY$$GATEHOUSE_CONFIG" || echo "Token validation is not configured (GATEHOUSE_OIDC_DISCOVERY): /v1/authorize answers 503; \`make demo\` tries decisions with a development issuer."
	@echo "gatehouse stays in the foreground; Ctrl-C stops it."
	@GATEHOUSE_DB=$${GATEHOUSE_DB:-$(RUN_DIR)/gatehouse.db} \
	GATEHOUSE_SCIM_TOKEN=$${GATEHOUSE_SCIM_TOKEN:-$$(cat $(RUN_DIR)/scim-token)} \
	GATEHOUSE_ADMIN_TOKEN=$${GATEHOUSE_ADMIN_TOKEN:-$$(cat $(RUN_DIR)/admin-token)} \
	  $(BUILD)/gatehouse

# `gatehouse demo` (sidecar/demo.h): a development issuer (NOT FOR PRODUCTION) and gatehouse on
# loopback, in DEMO_DIR (fresh each run); DEMO_ARGS adds options, e.g. --listen 127.0.0.1:9090.
DEMO_DIR ?= var/demo
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BUILD)/gatehouse demo --dir $(DEMO_DIR) $(DEMO_ARGS)

# Install what is missing (root on Debian 12); quiet and offline when everything is there.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root, or: sudo apt-get install$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef
deps:
	$(call apt_install,$(DEB_BUILD))
test-deps:
	$(call apt_install,$(DEB_TEST))
fuzz-deps:
	$(call apt_install,$(DEB_FUZZ))
# clang-format, clang-tidy, cppcheck: CI's lint and static steps (.ci/run), not `make test`.
lint-deps:
	$(call apt_install,$(DEB_LINT))

# ---- benchmarks ---------------------------------------------------------------------------------
# The reference servers the benchmarks compare gatehouse with (not part of gatehouse).
BENCH_BINS := $(BUILD)/bench/validator $(BUILD)/bench/authz_bench $(BUILD)/bench/fleet_bench
$(BUILD)/bench/validator: bench/validator.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)
# Tokens, JWKS and SCIM provisioning for the decision benchmarks (bench/authz_bench.c).
$(BUILD)/bench/authz_bench: bench/authz_bench.c $(BUILD)/obj/tests/support/mint.o \
                            $(BUILD)/libgatehouse.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)
# Propagation between replicas and the libpq ingestion floor for bench/fleet.sh.
$(BUILD)/bench/fleet_bench: bench/fleet_bench.c $(BUILD)/libgatehouse.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)$(call apt_install,wrk nginx-light apache2 libapache2-mod-auth-openidc postgresql sqlite3)
	$(Q)set -e; for b in http scim token authorize decision_path fleet; do bash bench/$$b.sh; done

# ---- lint ----------------------------------------------------------------------------------------
ALL_C := $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(ALL_C)
format-check:
	$(Q)clang-format --dry-run -Werror $(ALL_C)
lint-banned:
	$(Q)! grep -nE '\b(sprintf|strcpy|strcat|strncpy|strtok|gets|atoi|atol)[[:space:]]*\(' $(ALL_C) \
	  || (echo "banned function (see STYLE 3.10)" >&2; false)
check-headers:
	$(Q)set -e; for h in $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.h)); do \
	  echo "#include \"$$h\"" | $(CC) $(CFLAGS) -x c -fsyntax-only - ; done
# Includes go only down the floors (core, then jwks/store, scim/policies, authz, sidecar) and
# make no cycle (tests/check-layout.sh).
check-layout:
	$(Q)bash tests/check-layout.sh
tidy:
	$(Q)clang-tidy --quiet $(LIB_SRCS) sidecar/main.c -- $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) 2>&1 | \
	  grep -v 'warnings generated' ; test $${PIPESTATUS[0]} -eq 0
cppcheck:
	$(Q)cppcheck -q --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
	  -I. --suppress=missingIncludeSystem $(SRC_DIRS)


# The deployment examples no test runs (tests/check-examples.sh): `systemd-analyze verify` on the
# systemd unit, the Kubernetes ConfigMap embeds examples/envoy/envoy.yaml, the Dockerfile's runtime
# packages cover the binary's libraries. Needs no running systemd.
check-examples: all
	$(call apt_install,systemd procps binutils)
	$(Q)bash tests/check-examples.sh $(BUILD)/gatehouse

# The admin page end to end (tests/browser/run.mjs): Debian's Chromium, headless, driven by npm's
# playwright-core (pinned in tests/browser/package-lock.json; `npm ci`, cache under $(BUILD)/)
# against `gatehouse demo` on loopback. Node and npm: whatever is on PATH, else Debian's nodejs and
# npm. Screenshots of each view and the demo's log go to $(BUILD)/browser-artifacts/.
BROWSER_NODE_PKGS = $(if $(shell command -v node >/dev/null && command -v npm >/dev/null && echo y),,nodejs npm)
browser-test: all
	$(call apt_install,chromium $(BROWSER_NODE_PKGS))
	$(Q)cd tests/browser && npm ci --cache $(abspath $(BUILD)/npm-cache) --prefer-offline \
	  --no-audit --no-fund --loglevel=error >/dev/null
	$(Q)GH_BINARY=$(abspath $(BUILD)/gatehouse) GH_BROWSER_ARTIFACTS=$(abspath $(BUILD)/browser-artifacts) \
	  node tests/browser/run.mjs

# The admin page's files (tests/check-www.sh): app.js parses as an ES module; no inline script or
# style (the CSP blocks them), no foreign origin, no HTML built from strings, no browser storage.
check-www:
	$(call apt_install,nodejs)
	$(Q)bash tests/check-www.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find build build-asan build-fuzz -name '*.d' 2>/dev/null)
