# devsec - build, test, install, run.  GNU make; every library through pkg-config.
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
BINDIR   ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/devsec
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR  ?= /lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
POLKITDIR ?= /usr/share/polkit-1/rules.d
# each daemon a component: COMPDIR/NAME/VERSION/NAME, COMPDIR/NAME/current ->
# VERSION, and SBINDIR/NAME -> COMPDIR/NAME/current/NAME, so a unit's
# ExecStart= runs whatever upgrade-d last switched to (upgrade-d's default
# components_dir is /usr/lib/devsec/components: PREFIX=/usr)
COMPDIR ?= $(PREFIX)/lib/devsec/components
DESTDIR  ?=
BUILD    ?= build
VERSION  := 1.0.0

PKGS := libzmq libczmq msgpack openssl libconfig libsystemd libcurl pwquality libsodium libnftables jansson libmicrohttpd gnutls miniupnpc
TEST_PKGS := cmocka
DEB_PKGS := build-essential pkg-config libzmq3-dev libczmq-dev libmsgpack-dev libssl-dev libconfig-dev \
	libsystemd-dev libcurl4-openssl-dev libpwquality-dev libsodium-dev libnftables-dev libjansson-dev libcmocka-dev libmicrohttpd-dev libgnutls28-dev libminiupnpc-dev libssh2-1-dev \
	cracklib-runtime nftables iproute2 bc openssl

CC ?= cc
SAN ?=
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
ifneq ($(SAN),)
HARDEN := -fstack-protector-strong
endif
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-missing-field-initializers $(HARDEN) -fPIE \
	-Icommon -Ibus -Itools/devctl $(SAN) -DDEVSEC_VERSION='"$(VERSION)"'
override LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SAN)
# idle footprint (issue 12): code nobody calls is not linked, and the
# relocations a PIE's tables need are packed (DT_RELR): a daemon's own text
# and relocation pages are part of its private memory
override CFLAGS += -ffunction-sections -fdata-sections
override LDFLAGS += -Wl,--gc-sections -Wl,-z,pack-relative-relocs

HAVE_PKGS := $(shell pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null && echo yes)
ifeq ($(HAVE_PKGS),yes)
override CFLAGS += $(shell pkg-config --cflags $(PKGS))
override LDLIBS += $(shell pkg-config --libs $(PKGS))
TEST_LDLIBS := $(shell pkg-config --libs $(TEST_PKGS))
endif

COMMON_SRC := $(wildcard common/*.c)
BUSLIB_SRC := $(wildcard bus/*.c)
# busd's parts (bus/broker/, also the ACL and ZAP code) are not in libdsbus
BROKER_SRC := $(filter-out bus/broker/busd.c,$(wildcard bus/broker/*.c))
BROKER_OBJ := $(BROKER_SRC:%.c=$(BUILD)/obj/%.o)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
BUSLIB_OBJ := $(BUSLIB_SRC:%.c=$(BUILD)/obj/%.o)
LIBS := $(BUILD)/libdsbus.a $(BUILD)/libdscommon.a

# Every services/<name>/ builds $(BUILD)/<name> from its *.c except its tests.
SERVICES := $(notdir $(patsubst %/main.c,%,$(wildcard services/*/main.c)))
svc_src = $(filter-out services/$(1)/test_%.c services/$(1)/%_fuzz.c,$(wildcard services/$(1)/*.c))
SVC_BINS := $(SERVICES:%=$(BUILD)/%)
# each daemon's audit item table as data (NAME --audit-items): the audit knows
# the items of a daemon that is down
AUDIT_DIR ?= $(PREFIX)/share/devsec/audit
AUDIT_JSON := $(SERVICES:%=$(BUILD)/share/audit/%.json)

DEVCTL_SRC := $(wildcard tools/devctl/*.c)
TOOL_BINS := $(BUILD)/busd $(BUILD)/devctl $(BUILD)/devsec-keygen
# devsec-bundle: upgrade-d's bundle format, shared with the daemon
TOOL_BINS += $(BUILD)/devsec-bundle
BUNDLE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,services/upgrade-d/bundle.c services/upgrade-d/manifest.c services/upgrade-d/cms.c services/upgrade-d/create.c services/upgrade-d/tuf.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c)) \
	$(foreach s,$(SERVICES),$(patsubst services/$(s)/%.c,$(BUILD)/tests/$(s)_%,$(wildcard services/$(s)/test_*.c)))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))
TEST_HELPERS := $(patsubst tests/lib/%.c,$(BUILD)/tests/%,$(wildcard tests/lib/*.c))

# keep every object: no "rm" line may follow the test summary
.SECONDARY:

.PHONY: test-deps print-deps all test check check-asan run install clean deps bench fuzz unit check-units test-containers help
all: deps-check $(TOOL_BINS) $(SVC_BINS) $(AUDIT_JSON)

help:
	@echo "targets: all test run install check-asan bench fuzz check-units test-containers deps clean"

# Test peers and tools: one package per line in tests/deps/*.txt
TEST_DEB_PKGS = $(sort $(shell cat tests/deps/*.txt 2>/dev/null | sed 's/\#.*//'))
missing_debs = $(shell for p in $(1); do \
	dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done)

deps-check:
	@if [ "$(HAVE_PKGS)" != yes ]; then $(MAKE) --no-print-directory deps && \
		$(MAKE) --no-print-directory $(MAKECMDGOALS); exit $$?; fi
.PHONY: deps-check

# Installs (as root) or names (otherwise) the Debian packages: `deps` for the
# build and the stack, `test-deps` also for the test peers (chrony, rsyslog,
# snmpd, nftables, debootstrap, ...). Nothing is installed when all are present.
define install_debs
	@missing="$(call missing_debs,$(1))"; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "deps: installing $$missing"; \
		[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $$missing; \
	else \
		echo "deps: missing Debian packages; as root run:"; \
		echo "  apt-get install -y --no-install-recommends $$missing"; exit 1; fi
endef

deps:
	$(call install_debs,$(DEB_PKGS))

test-deps:
	$(call install_debs,$(DEB_PKGS) $(TEST_DEB_PKGS))

print-deps:
	@echo $(DEB_PKGS) $(TEST_DEB_PKGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/bus/audit_sweep.o: override CFLAGS += -DDEVSEC_AUDIT_DIR='"$(AUDIT_DIR)"'
$(BUILD)/share/audit/%.json: $(BUILD)/%
	@mkdir -p $(dir $@)
	$< --audit-items > $@.tmp && mv $@.tmp $@

$(BUILD)/libdscommon.a: $(COMMON_OBJ)
	rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/libdsbus.a: $(BUSLIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libdsbroker.a: $(BROKER_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/busd: $(BUILD)/obj/bus/broker/busd.o $(BUILD)/libdsbroker.a $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/devctl: $(DEVCTL_SRC:%.c=$(BUILD)/obj/%.o) $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/devsec-keygen: $(BUILD)/obj/tools/keygen/devsec-keygen.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/devsec-bundle: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/bundle/*.c)) $(BUNDLE_OBJ) $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/obj/tools/bundle/%.o: override CFLAGS += -Iservices/upgrade-d

define SVC_RULES
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(call svc_src,$(1))) $(LIBS)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
$(BUILD)/tests/$(1)_%: $(BUILD)/obj/services/$(1)/%.o $(filter-out $(BUILD)/obj/services/$(1)/main.o,$(patsubst %.c,$(BUILD)/obj/%.o,$(call svc_src,$(1)))) $(LIBS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(TEST_LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call SVC_RULES,$(s))))
# sftp-storage's SFTP upload on libssh2 directly (curl cannot keep libssh2's write pipeline full)
$(BUILD)/sftp-storage $(BUILD)/tests/sftp-storage_%: override LDLIBS += $(shell pkg-config --libs libssh2)

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(BUILD)/libdsbroker.a $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/lib/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: all $(UNIT_TESTS) $(TEST_HELPERS)

# The README's test command. Prints "N passed, N failed[, N skipped]" last.
test: test-deps all $(UNIT_TESTS) $(TEST_HELPERS) $(BENCH_BINS)
	@BUILD=$(BUILD) tests/run.sh

check: test

check-asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=gcc CFLAGS="-O1 -g" \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

check-units: all
	@BUILD=$(BUILD) tests/run.sh units

test-containers: all
	@BUILD=$(BUILD) tests/run.sh containers

bench: all $(BENCH_BINS) $(TEST_HELPERS)
	@BUILD=$(BUILD) tests/bench/run.sh

FUZZERS := $(wildcard tests/fuzz/fuzz_*.c)
fuzz:
	@mkdir -p $(BUILD)/fuzz
	@set -e; for f in $(FUZZERS); do n=$$(basename $$f .c); \
		clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Icommon -Ibus $$(pkg-config --cflags $(PKGS)) \
			$$f $(COMMON_SRC) $(BUSLIB_SRC) -o $(BUILD)/fuzz/$$n $$(pkg-config --libs $(PKGS)); \
		mkdir -p tests/fuzz/corpus/$$n $(BUILD)/fuzz/work-$$n; \
		echo "fuzz: $$n for $${FUZZ_SECONDS:-30}s"; \
		$(BUILD)/fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-30} -max_len=65536 \
			-artifact_prefix=tests/fuzz/corpus/$$n/crash- $(BUILD)/fuzz/work-$$n tests/fuzz/corpus/$$n 2>&1 | tail -n 2; done

# The whole stack from the build tree on an embedded default: no root, no systemd.
run: all
	@tools/devsec-run $(BUILD)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/devsec/bus.acl.d $(DESTDIR)$(UNITDIR)/devsec.target.wants \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/doc/devsec
	install -m 0755 $(BUILD)/devctl $(BUILD)/devsec-keygen $(DESTDIR)$(BINDIR)/
	sed -e 's|@BINDIR@|$(BINDIR)|g' tools/factory-reset/devsec-factory-reset > $(DESTDIR)$(SBINDIR)/devsec-factory-reset && \
		chmod 0755 $(DESTDIR)$(SBINDIR)/devsec-factory-reset && \
		install -m 0644 etc/devsec/bus.acl.d/factory-reset.acl $(DESTDIR)$(SYSCONFDIR)/devsec/bus.acl.d/
	install -m 0644 etc/devsec/*.conf etc/devsec/bus.acl $(DESTDIR)$(SYSCONFDIR)/devsec/
	@# webd's console: static files under PREFIX, and webd.conf names where
	@if [ -x $(BUILD)/webd ]; then install -d $(DESTDIR)$(PREFIX)/share/devsec/www && \
		install -m 0644 services/webd/www/* $(DESTDIR)$(PREFIX)/share/devsec/www/ && \
		sed -i 's|^www = .*|www = "$(PREFIX)/share/devsec/www";|' $(DESTDIR)$(SYSCONFDIR)/devsec/webd.conf; fi
	@# the audit item tables of the daemons built
	install -d $(DESTDIR)$(AUDIT_DIR)
	@if ls $(BUILD)/share/audit/*.json >/dev/null 2>&1; then install -m 0644 $(BUILD)/share/audit/*.json $(DESTDIR)$(AUDIT_DIR)/; fi
	@# a daemon, its ACL and its unit are installed only when it was built
	@set -e; for s in busd $(SERVICES); do \
		[ -x $(BUILD)/$$s ] || { echo "install: $$s not built, skipped"; continue; }; \
		install -d $(DESTDIR)$(COMPDIR)/$$s/$(VERSION); \
		install -m 0755 $(BUILD)/$$s $(DESTDIR)$(COMPDIR)/$$s/$(VERSION)/$$s; \
		ln -sfn $(VERSION) $(DESTDIR)$(COMPDIR)/$$s/current; \
		ln -sfn $(COMPDIR)/$$s/current/$$s $(DESTDIR)$(SBINDIR)/$$s; \
		[ ! -f etc/devsec/bus.acl.d/$$s.acl ] || install -m 0644 etc/devsec/bus.acl.d/$$s.acl $(DESTDIR)$(SYSCONFDIR)/devsec/bus.acl.d/; \
		[ -f units/devsec-$$s.service ] || continue; \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@UNITDIR@|$(UNITDIR)|g' \
			units/devsec-$$s.service > $(DESTDIR)$(UNITDIR)/devsec-$$s.service; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/devsec-$$s.service; \
		ln -sfn ../devsec-$$s.service $(DESTDIR)$(UNITDIR)/devsec.target.wants/devsec-$$s.service; done
	@set -e; for u in units/devsec-keygen.service units/devsec.target; do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@UNITDIR@|$(UNITDIR)|g' \
			$$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	ln -sfn ../devsec-keygen.service $(DESTDIR)$(UNITDIR)/devsec.target.wants/devsec-keygen.service
	install -m 0644 units/sysusers.d/devsec.conf $(DESTDIR)$(SYSUSERSDIR)/devsec.conf
	install -m 0644 units/tmpfiles.d/devsec.conf $(DESTDIR)$(TMPFILESDIR)/devsec.conf
	@# netcfgd's function switching: the polkit rule (start/stop of the function
	@# table's units only) and one drop-in per unit, generated from the table; the
	@# flag directory is the one of tmpfiles.d and devsec-netcfgd.service
	@if [ -x $(BUILD)/netcfgd ]; then sh tools/devsec-functions-gen install etc/devsec/functions.conf \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(POLKITDIR) /var/lib/devsec/functions/disabled; fi
	@# upgrade-d's polkit rule: restart of the devsec units only
	@if [ -x $(BUILD)/upgrade-d ]; then install -d $(DESTDIR)$(POLKITDIR) && \
		install -m 0644 units/polkit/devsec-upgrade-d.rules $(DESTDIR)$(POLKITDIR)/; fi
	@# optional pieces: installed when present
	@if ls docs/man/*.1 >/dev/null 2>&1; then install -m 0644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1/; fi
	@if ls docs/man/*.8 >/dev/null 2>&1; then install -m 0644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/; fi
	@if [ -f tools/devctl/devctl.bash ]; then install -m 0644 tools/devctl/devctl.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/devctl; fi
	@if [ -f docs/install.md ]; then install -m 0644 docs/install.md $(DESTDIR)$(PREFIX)/share/doc/devsec/; fi
	install -m 0644 docs/factory-reset.md $(DESTDIR)$(PREFIX)/share/doc/devsec/

clean:
	rm -rf build build-asan run

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
