#!/bin/sh
# tests/fuzz_run.sh - the parsers against hostile input.  Each fuzz target
# has its own seed corpus:
#   fuzz_pipeline  tests/fuzz/corpus          pipeline files (YAML, JSON)
#   fuzz_webhook   tests/fuzz/corpus-webhook  selector byte + webhook body
#
# 1. Replay each corpus through the replay build of its target
#    (tests/fuzz/TARGET.c): the one make built (with sanitizers under
#    --enable-sanitizers), else one built here with $CC.
# 2. When clang can build libFuzzer targets (Debian: clang and
#    libclang-rt-14-dev), build each target with ASan+UBSan+libFuzzer and
#    fuzz it, starting from its corpus; the $GANTRY_FUZZ_TIME seconds
#    (default 20; 0 skips) are split evenly between the targets.  New
#    inputs go to a scratch copy, never to the source tree; a crash leaves
#    its input in tests/tmp/fuzz_run/TARGET.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
TARGETS="fuzz_pipeline:corpus fuzz_webhook:corpus-webhook"
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
mkdir -p "$WORK" || exit 1
if ! DEPS=$(pkg-config --cflags --libs $PKGS 2>&1); then
	bad "pkg-config $PKGS: $DEPS"
	finish
fi
LIBSRC=$(ls "$top_srcdir"/lib/*.c)
ntargets=0
for t in $TARGETS; do
	ntargets=$((ntargets + 1))
done

# --- 1. corpus replay ------------------------------------------------------
for t in $TARGETS; do
	name=${t%%:*}
	corpus="$top_srcdir/tests/fuzz/${t#*:}"
	mkdir -p "$WORK/$name/corpus" || exit 1
	replay="$top_builddir/tests/fuzz/$name"
	if [ ! -x "$replay" ]; then
		replay="$WORK/$name/replay"
		# shellcheck disable=SC2086
		if ! ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -g -O1 \
		    -I"$top_srcdir/lib" -o "$replay" \
		    "$top_srcdir/tests/fuzz/$name.c" $LIBSRC $DEPS \
		    >"$WORK/$name/cc.log" 2>&1; then
			cat "$WORK/$name/cc.log"
			bad "build the $name corpus replayer with ${CC:-cc}"
			continue
		fi
	fi
	for f in "$corpus"/*; do
		if out=$("$replay" "$f" 2>&1); then
			ok "$name replay $(basename "$f")"
		else
			echo "$out" | tail -n 30
			bad "$name replay $(basename "$f")"
		fi
	done
done

# --- 2. libFuzzer sessions ---------------------------------------------------
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
slice=$((FUZZ_TIME / ntargets))
[ "$slice" -lt 1 ] && slice=1
for t in $TARGETS; do
	name=${t%%:*}
	corpus="$top_srcdir/tests/fuzz/${t#*:}"
	fuzzer="$WORK/$name/fuzzer"
	# shellcheck disable=SC2086
	if ! "$CLANG" -std=gnu11 -D_GNU_SOURCE -DGANTRY_LIBFUZZER -g -O1 \
	    -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -I"$top_srcdir/lib" \
	    -o "$fuzzer" "$top_srcdir/tests/fuzz/$name.c" $LIBSRC $DEPS \
	    >"$WORK/$name/clang.log" 2>&1; then
		cat "$WORK/$name/clang.log"
		bad "build the $name libFuzzer target with $CLANG"
		continue
	fi
	ok "$name libFuzzer target built"
	if "$fuzzer" -max_total_time="$slice" -timeout=10 \
	    -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
	    -artifact_prefix="$WORK/$name/" "$WORK/$name/corpus" "$corpus" \
	    >"$WORK/$name/fuzz.log" 2>&1; then
		ok "$name fuzzed for ${slice}s: $(grep -m1 \
		    'stat::number_of_executed_units' "$WORK/$name/fuzz.log" |
		    awk '{print $2}') runs"
	else
		tail -n 60 "$WORK/$name/fuzz.log"
		bad "$name: libFuzzer found a problem (input kept in $WORK/$name)"
	fi
done
finish
