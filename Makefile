# pgha: high availability for PostgreSQL, inside PostgreSQL.
#
#   make && make install        build and install pgha.so, the SQL scripts and pghactl
#   make unittest               cmocka unit tests (no server needed)
#   make installcheck           pg_regress against a temporary instance (needs etcd: see test/run-regress.sh)
#   make test                   every suite, as README.md says; ends with "N passed, M failed"
#   make demo                   local cluster on loopback (see README.md)
#   make fuzz / make fuzz-run   libFuzzer targets (clang); FUZZ_SECONDS=10 per target

EXTENSION = pgha
MODULE_big = pgha
DATA = $(wildcard extension/pgha--*.sql)

# src/common: plain C shared by pgha.so, pghactl and the tests, one folder
# a concern: etcd/ (the etcd v3 client), model/ (the cluster's keys and
# files, settings), policy/ (the HA decisions: pure functions under unit tests),
# api/ (the REST api's decisions and bodies, Patroni's formats)
COMMON_DIRS = src/common/etcd src/common/model src/common/policy src/common/api
COMMON_INC = $(COMMON_DIRS:%=-I$(srcdir)/%)
COMMON_HDRS = $(wildcard $(COMMON_DIRS:%=%/*.h))
COMMON_SRCS = $(sort $(wildcard $(COMMON_DIRS:%=%/*.c)))
EXT_SRCS = $(sort $(wildcard src/ext/*.c))
PGHACTL_SRCS = $(sort $(wildcard src/pghactl/*.c))
COMMON_OBJS = $(COMMON_SRCS:.c=.o)
OBJS = $(EXT_SRCS:.c=.o) $(COMMON_OBJS)

SCRIPTS_built = pghactl
SCRIPTS = bin/pgha-watchdog bin/pgha-vip-mirror
EXTRA_CLEAN = pghactl $(PGHACTL_SRCS:.c=.o) $(UNIT_BINS) test/unit/*.o test/tools/pgha_workload \
	results regression.diffs regression.out tmp_check log $(FUZZ_BINS)

PG_CPPFLAGS = $(COMMON_INC) $(shell pkg-config --cflags libcurl jansson libmicrohttpd gnutls)
# jansson is linked dynamically; see src/common/model/pgha_json.h for why no code
# may call json_object() itself.
# libmicrohttpd (and gnutls, for client certificates) serve the REST api
# in the "pgha api" worker, driven from its own latch loop (api_worker.c).
SHLIB_LINK = $(shell pkg-config --libs libcurl jansson libmicrohttpd gnutls)
TOOL_LINK = $(shell pkg-config --libs libcurl jansson) -lm

# pg_regress: a temporary instance that preloads pgha; the etcd it talks to
# is started by test/run-regress.sh, which sets PGHA_TEST_ETCD.
REGRESS = pgha_guc pgha_status pgha_members pgha_admin
PGHA_REGRESS_OUT ?= $(CURDIR)
REGRESS_OPTS = --temp-instance=$(PGHA_REGRESS_OUT)/tmp_check \
	--outputdir=$(PGHA_REGRESS_OUT) \
	--temp-config=$(PGHA_REGRESS_OUT)/pgha_regress.conf --port=54329

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
# postgresql-client-15 alone ships pgxs.mk: the build also needs the server
# headers (postgresql-server-dev-15) and the libraries' headers
PG_SERVER_H := $(wildcard $(shell $(PG_CONFIG) --includedir-server 2>/dev/null)/postgres.h)
# krb5-gssapi: the server's libpq/libpq-be.h includes <gssapi/gssapi.h>
HAVE_LIBS := $(shell pkg-config --exists libcurl jansson krb5-gssapi libmicrohttpd gnutls 2>/dev/null && echo yes)

ifeq ($(and $(wildcard $(PGXS)),$(PG_SERVER_H),$(HAVE_LIBS)),)
# A fresh machine: no complete PostgreSQL build environment yet.  Install
# it from Debian's packages, then start again.
all install test demo unittest installcheck:
ifeq ($(PGHA_DEPS_TRIED),)
	bash test/install-deps.sh
	$(MAKE) PGHA_DEPS_TRIED=1 $@
else
	@echo "pgha: still no PostgreSQL server headers or libcurl/jansson/libmicrohttpd/gnutls headers after test/install-deps.sh" >&2; exit 1
endif
.PHONY: all install test demo unittest installcheck
else
include $(PGXS)

override CFLAGS += -Wmissing-prototypes -Werror=implicit-function-declaration

# pghactl restart/reload/reinit call the members' servers (cmd_ops.c)
PGHACTL_LIBPQ = -L$(shell $(PG_CONFIG) --libdir) -lpq
$(PGHACTL_SRCS:.c=.o): override CPPFLAGS += -I$(shell $(PG_CONFIG) --includedir)

pghactl: $(PGHACTL_SRCS:.c=.o) $(COMMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(TOOL_LINK) $(PGHACTL_LIBPQ)

$(PGHACTL_SRCS:.c=.o) $(COMMON_OBJS): $(COMMON_HDRS)
$(EXT_SRCS:.c=.o): $(COMMON_HDRS) $(wildcard src/ext/*.h)

# The failover workload (writer, probes, checker): a libpq client, not part
# of pgha; the failover tests and bench/failover build it on demand.
test/tools/pgha_workload: test/tools/pgha_workload.c
	$(CC) $(CFLAGS) -o $@ $< -I$(shell $(PG_CONFIG) --includedir) -L$(shell $(PG_CONFIG) --libdir) -lpq

# cmocka unit tests: each test/unit/test_*.c is linked with the common code.
UNIT_SRCS = $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:.c=)
UNIT_CFLAGS = -g -O1 -Wall $(COMMON_INC) $(UNIT_EXTRA_CFLAGS)

test/unit/test_%: test/unit/test_%.c $(COMMON_SRCS) $(COMMON_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(COMMON_SRCS) $(TOOL_LINK) -lcmocka

unittest: $(UNIT_BINS)
	@bash test/run-unit.sh $(UNIT_BINS)

test: all
	@bash test/install-deps.sh
	@bash test/run-all.sh

demo: all
	@bash test/install-deps.sh
	@bash test/demo.sh

.PHONY: unittest test demo
endif

# libFuzzer targets (test/fuzz/*.c) over the plain-C parsers, built with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer (made fatal, so
# that undefined behaviour counts as a crash).  fuzz-run runs each for
# FUZZ_SECONDS on a scratch copy of its seed corpus (test/fuzz/corpus/),
# which it never grows; see test/run-fuzz.sh.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
FUZZ_TARGETS = fuzz_etcd_answers fuzz_cluster_json fuzz_api_bodies
FUZZ_BINS = $(FUZZ_TARGETS:%=test/fuzz/%_fuzz)
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined

test/fuzz/%_fuzz: test/fuzz/%.c $(COMMON_SRCS) $(COMMON_HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(COMMON_INC) $(COMMON_SRCS) $< \
		$(shell pkg-config --libs libcurl jansson) -lm -o $@

fuzz: $(FUZZ_BINS)

fuzz-run:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash test/run-fuzz.sh

.PHONY: fuzz fuzz-run
