# myelin: a Matrix homeserver as a toolkit of small programs.
#   make          build everything into build/
#   make run      run a homeserver on http://127.0.0.1:8008 until Ctrl-C
#   make test     install test needs, build with sanitizers, run every test
#   make bench    the workload benchmark
#   make lint     cppcheck, clang-tidy, mandoc -Tlint
#   make fuzz     libFuzzer harnesses of tests/fuzz, FUZZ_SECONDS each

O	?= build
SAN	?= 0
CC	?= cc
PORT	?= 8008
DATA	?= var
SERVER_NAME ?= localhost

CFLAGS	?= -g -O2
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	   -Wstrict-prototypes -Wmissing-prototypes -fvisibility=hidden \
	   -D_GNU_SOURCE -Ilib $(shell pkg-config --cflags libpq 2>/dev/null)
LDLIBS	+= -lfcgi -lyaml -ljansson -lsodium -lsqlite3 -lpq -lcurl -lresolv -lcrypt -lcrypto -lpthread -lm
ifeq ($(SAN),1)
CFLAGS	+= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS	+= -fsanitize=address,undefined
endif
# Extra flags from a recursive make (make fuzz): CFLAGS on its command line would drop the above.
CFLAGS	+= $(XCFLAGS)
LDFLAGS	+= $(XLDFLAGS)
-include Makefile.local

LIB_SRCS	= $(sort $(wildcard lib/*/*.c))
LIB_OBJS	= $(LIB_SRCS:%.c=$(O)/%.o)
LIB		= $(O)/libmyelin.a

# Programs: name and sources.
PROGS		= myelin-client myelin-sync myelin-admin-api myelin-timerd myelin-admin \
		  myelin-federation myelin-pusher myelin-media myelin-thumbnail myelin-sender
myelin-client_SRCS	= $(sort $(wildcard handlers/client/*.c))
myelin-sync_SRCS	= $(sort $(wildcard handlers/sync/*.c))
myelin-admin-api_SRCS	= $(sort $(wildcard handlers/admin-api/*.c))
# Federation thumbnails are made by myelin-media's code (h_media.c).
myelin-federation_SRCS	= $(sort $(wildcard handlers/federation/*.c)) handlers/media/thumb.c
myelin-media_SRCS	= $(sort $(wildcard handlers/media/*.c))
# libvips lives in its own program (thumbnailer/), run per
# thumbnail under limits: the handler links none of it.  Its headers are
# system headers, outside our warnings.
myelin-thumbnail_SRCS	= $(sort $(wildcard thumbnailer/*.c))
myelin-thumbnail_LDLIBS	= $(shell pkg-config --libs vips 2>/dev/null)
VIPS_CFLAGS	= $(patsubst -I%,-isystem %,$(shell pkg-config --cflags vips 2>/dev/null))
$(O)/thumbnailer/%.o: CFLAGS += $(VIPS_CFLAGS)
myelin-timerd_SRCS	= $(sort $(wildcard timer-daemon/*.c))
myelin-pusher_SRCS	= $(sort $(wildcard pusher-daemon/*.c))
myelin-sender_SRCS	= $(sort $(wildcard federation-daemon/*.c))
myelin-admin_SRCS	= $(sort $(wildcard admin-tools/*.c))
PROG_BINS	= $(PROGS:%=$(O)/bin/%)

UNIT_SRCS	= $(sort $(wildcard tests/unit/*.c))
UNIT_BINS	= $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)
# Programs the e2e tests start (not installed, no man page): one .c each.
FIXTURE_SRCS	= $(sort $(wildcard tests/fixtures/*.c))
FIXTURE_BINS	= $(FIXTURE_SRCS:tests/fixtures/%.c=$(O)/tests/fixtures/%)

all: $(PROG_BINS) $(UNIT_BINS) $(FIXTURE_BINS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

define prog_rule
$(O)/bin/$(1): $$($(1)_SRCS:%.c=$(O)/%.o) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$($(1)_LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The allocation-failure driver sees every allocation of the library.
$(O)/tests/unit/alloc-fail: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
    -Wl,--wrap=reallocarray,--wrap=free,--wrap=strdup,--wrap=strndup \
    -Wl,--wrap=asprintf,--wrap=vasprintf

$(O)/tests/fixtures/%: $(O)/tests/fixtures/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzzing: the library again with clang, ASan and libFuzzer's coverage
# into build-fuzz/, one harness per tests/fuzz/*.c, each run for
# FUZZ_SECONDS from its seeds in tests/fuzz/corpus/NAME (new inputs go
# to build-fuzz/corpus/NAME, crashes to build-fuzz/crash-NAME-*).
FUZZ_SECONDS	?= 30
FUZZ_SRCS	= $(sort $(wildcard tests/fuzz/*.c))
FUZZ_NAMES	= $(FUZZ_SRCS:tests/fuzz/%.c=%)
fuzz:
	$(MAKE) O=build-fuzz CC=clang XCFLAGS="-O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
	    XLDFLAGS="-fsanitize=fuzzer,address,undefined" \
	    $(FUZZ_NAMES:%=build-fuzz/tests/fuzz/%)
	@for f in $(FUZZ_NAMES); do \
		mkdir -p build-fuzz/corpus/$$f && \
		echo "fuzz: $$f for $(FUZZ_SECONDS)s" && \
		build-fuzz/tests/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) \
		    -artifact_prefix=build-fuzz/crash-$$f- build-fuzz/corpus/$$f \
		    tests/fuzz/corpus/$$f 2>&1 | grep -E '^(#[0-9]+ +DONE|Done|==.*ERROR|SUMMARY)' || exit 1; \
		ls build-fuzz/crash-$$f-* >/dev/null 2>&1 && { echo "fuzz: $$f crashed"; exit 1; }; \
	done; true

$(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@bin/myelin-deps build

run: deps all
	bin/myelin-run --port $(PORT) --data $(DATA) --server-name $(SERVER_NAME)

test:
	@bin/myelin-deps test
	@$(MAKE) --no-print-directory O=build-san SAN=1 all
	@MYELIN_BIN=$(CURDIR)/build-san/bin tests/run

# The benchmark's load generator (bench/driver.c): libcurl multi, jansson.
$(O)/bench/driver: $(O)/bench/driver.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcurl -ljansson

# SyTest, the Matrix project's suite (about 20 minutes; not part of make
# test): ../shared/sytest's runner against this checkout, then the
# comparison with Synapse 1.67.  SYTEST_FILES picks test files,
# SYTEST_ROOM_VERSION SyTest's --room-version, SAN=0 a plain build.
SYTEST_DIR ?= $(CURDIR)/../shared/sytest
SYTEST_OUT ?= /tmp/myelin-sytest
sytest:
	@test -x $(SYTEST_DIR)/run-myelin.sh || \
	    { echo "make sytest: no SyTest runner in $(SYTEST_DIR) (set SYTEST_DIR)" >&2; exit 1; }
	@$(SYTEST_DIR)/setup.sh >/dev/null
	@mkdir -p $(SYTEST_OUT) && chmod 755 $(SYTEST_OUT)
	SYTEST_WORK=$(SYTEST_OUT)/work $(SYTEST_DIR)/run-myelin.sh $(CURDIR) \
	    $(SYTEST_OUT)/myelin.results.tsv $(SYTEST_FILES)
	$(SYTEST_DIR)/compare.py $(SYTEST_OUT)/myelin.results.tsv $(SYTEST_OUT)/myelin.run/detail.tsv

bench: deps all $(O)/bench/driver
	bench/run $(if $(BACKEND),--backend $(BACKEND))

# Off: noise (C11 Annex K advice, parameter order), and clang 14's false
# positive on va_list started by va_start.
TIDY_OFF = -bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,$\
	-bugprone-assignment-in-if-condition,-bugprone-narrowing-conversions,$\
	-bugprone-implicit-widening-of-multiplication-result,$\
	-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,$\
	-clang-analyzer-valist.Uninitialized

lint:
	cppcheck --quiet --enable=warning,portability --error-exitcode=1 \
	    --suppress=missingIncludeSystem -Ilib $(shell pkg-config --cflags-only-I libpq) \
	    --include=/usr/include/jansson.h lib handlers admin-tools timer-daemon pusher-daemon federation-daemon thumbnailer
	clang-tidy --quiet -checks='-*,clang-analyzer-*,bugprone-*,$(TIDY_OFF)' \
	    $(LIB_SRCS) $(foreach p,$(PROGS),$($(p)_SRCS)) -- $(filter -I% -D% -std=%,$(CFLAGS)) \
	    $(VIPS_CFLAGS) 2>&1 | \
	    { ! grep -E 'warning:|error:'; }
	mandoc -Tlint -Wwarning man/*.[1-8]

clean:
	rm -rf build build-san build-fuzz

.PHONY: all deps run test sytest bench lint clean fuzz
.SECONDARY:

-include $(LIB_OBJS:.o=.d) $(foreach p,$(PROGS),$($(p)_SRCS:%.c=$(O)/%.d)) $(UNIT_SRCS:%.c=$(O)/%.d) \
	 $(FIXTURE_SRCS:%.c=$(O)/%.d)
-include $(O)/bench/driver.d
