#!/bin/sh
# tests/fuzz_run.sh - the pipeline parser against hostile input.
#
# 1. Replay the seed corpus (tests/fuzz/corpus) through the replay build
#    of tests/fuzz/fuzz_pipeline.c: the one make built (with sanitizers
#    under --enable-sanitizers), else one built here with $CC.
# 2. When clang can build libFuzzer targets (Debian: clang and
#    libclang-rt-14-dev), build the target with ASan+UBSan+libFuzzer and
#    fuzz for $GANTRY_FUZZ_TIME seconds (default 20; 0 skips), starting
#    from the corpus.  New inputs go to a scratch copy, never to the
#    source tree; a crash leaves its input in tests/tmp/fuzz_run.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
CORPUS="$top_srcdir/tests/fuzz/corpus"
SRC="$top_srcdir/tests/fuzz/fuzz_pipeline.c"
WORK="$top_builddir/tests/tmp/fuzz_run"
FUZZ_TIME=${GANTRY_FUZZ_TIME:-20}
PKGS="jansson yaml-0.1 libical libcrypto"
pass=0 fail=0

ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] && rm -rf "$WORK"
	[ "$fail" -eq 0 ]
	exit $?
}

rm -rf "$WORK"
mkdir -p "$WORK/corpus" || exit 1
if ! DEPS=$(pkg-config --cflags --libs $PKGS 2>&1); then
	bad "pkg-config $PKGS: $DEPS"
	finish
fi
LIBSRC=$(ls "$top_srcdir"/lib/*.c)

# --- 1. corpus replay ------------------------------------------------------
REPLAY="$top_builddir/tests/fuzz/fuzz_pipeline"
if [ ! -x "$REPLAY" ]; then
	REPLAY="$WORK/fuzz_replay"
	# shellcheck disable=SC2086
	if ! ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -g -O1 -I"$top_srcdir/lib" \
	    -o "$REPLAY" "$SRC" $LIBSRC $DEPS >"$WORK/cc.log" 2>&1; then
		cat "$WORK/cc.log"
		bad "build the corpus replayer with ${CC:-cc}"
		finish
	fi
fi
for f in "$CORPUS"/*; do
	if out=$("$REPLAY" "$f" 2>&1); then
		ok "replay $(basename "$f")"
	else
		echo "$out" | tail -n 30
		bad "replay $(basename "$f")"
	fi
done

# --- 2. libFuzzer session ----------------------------------------------------
if [ "$FUZZ_TIME" -eq 0 ]; then
	echo "# GANTRY_FUZZ_TIME=0: fuzzing skipped"
	finish
fi
CLANG=${CLANG:-clang}
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    >"$WORK/probe.c"
if ! command -v "$CLANG" >/dev/null 2>&1 ||
    ! "$CLANG" -fsanitize=fuzzer -o "$WORK/probe" "$WORK/probe.c" \
    >/dev/null 2>&1; then
	echo "# clang with -fsanitize=fuzzer not available" \
	    "(apt-get install clang libclang-rt-14-dev): fuzzing skipped"
	finish
fi
FUZZER="$WORK/fuzz_pipeline"
# shellcheck disable=SC2086
if ! "$CLANG" -std=gnu11 -D_GNU_SOURCE -DGANTRY_LIBFUZZER -g -O1 \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top_srcdir/lib" -o "$FUZZER" "$SRC" $LIBSRC $DEPS \
    >"$WORK/clang.log" 2>&1; then
	cat "$WORK/clang.log"
	bad "build the libFuzzer target with $CLANG"
	finish
fi
ok "libFuzzer target built"
if "$FUZZER" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$WORK/" \
    "$WORK/corpus" "$CORPUS" >"$WORK/fuzz.log" 2>&1; then
	ok "fuzzed for ${FUZZ_TIME}s: $(grep -m1 'stat::number_of_executed_units' \
	    "$WORK/fuzz.log" | awk '{print $2}') runs"
else
	tail -n 60 "$WORK/fuzz.log"
	bad "libFuzzer found a problem (input kept in $WORK)"
fi
finish
