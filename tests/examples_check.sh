#!/bin/bash
# tests/examples_check.sh - the shipped examples stay valid and gantryctl
# behaves as gantryctl(1) says: validate (text and JSON, floors, exit
# statuses, error lines naming file and path), plan (timeline, ETA,
# windows and the freeze calendar), and the example hooks are runnable.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

GANTRYCTL="$top_builddir/cli/gantryctl"
EX="$top_srcdir/examples"
rm -rf "$T_DIR"
mkdir -p "$T_DIR"
trap '[ "$T_FAILS" -eq 0 ] && rm -rf "$T_DIR"' EXIT

# run NAME WANT_RC cmd...: stdout in $OUT, stderr in $ERR.
run() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$T_DIR/out" 2>"$T_DIR/err"
	rc=$?
	OUT=$(cat "$T_DIR/out")
	ERR=$(cat "$T_DIR/err")
	if [ "$rc" -eq "$want" ]; then
		t_pass "$name (exit $rc)"
	else
		t_fail "$name: exit $rc, want $want: $(head -c 800 "$T_DIR/out" "$T_DIR/err")"
	fi
}

# --- validate the examples ------------------------------------------------
NEX=$(ls "$EX"/pipelines/*.yaml | wc -l)
run "examples are valid" 0 "$GANTRYCTL" validate "$EX"/pipelines/*.yaml
t_contains "summary on stderr" "$NEX files, 0 invalid" "$ERR"
[ -z "$OUT" ] && t_pass "valid files print nothing" ||
    t_fail "valid files printed: $OUT"

run "validate --output json" 0 "$GANTRYCTL" validate --output json \
    "$EX"/pipelines/*.yaml
n=$(printf '%s\n' "$OUT" | grep -c '"valid": true')
[ "$n" -eq "$NEX" ] && t_pass "json: $NEX valid entries" ||
    t_fail "json: $n valid entries, want $NEX"
t_contains "json names the pipeline" '"pipeline": "orders-app"' "$OUT"
t_contains "json has the template" '"template": "service-defaults"' "$OUT"
if printf '%s\n' "$OUT" | grep -Eq '"version_sha256": "[0-9a-f]{64}"'; then
	t_pass "json: version is a sha256"
else
	t_fail "json: no sha256 version in: $(printf %s "$OUT" | head -c 400)"
fi
t_contains "json totals" '"invalid": 0' "$OUT"

# Floors the examples meet, given as a gantryd.conf fragment.
printf 'safety_floors:\n  require_review: true\n  require_fault_alarm: true\n' \
    >"$T_DIR/lenient.conf"
run "examples meet lenient floors" 0 "$GANTRYCTL" validate \
    --floors "$T_DIR/lenient.conf" "$EX"/pipelines/*.yaml
printf '{"min_bake": "2h", "require_latency_alarm": true}\n' >"$T_DIR/strict.json"
run "strict floors reject" 1 "$GANTRYCTL" validate \
    --floors "$T_DIR/strict.json" "$EX/pipelines/orders-static.yaml"
t_contains "floor message names the path" \
    "orders-static.yaml:stages[3].bake: safety floor min_bake" "$OUT"
printf 'min_bak: 1h\n' >"$T_DIR/typo.yaml"
run "bad floors file is a usage error" 2 "$GANTRYCTL" validate \
    --floors "$T_DIR/typo.yaml" "$EX/pipelines/orders-app.yaml"
t_contains "floors typo hint" 'min_bak: unknown key (did you mean "min_bake"?)' "$ERR"

# --- a broken copy --------------------------------------------------------
mkdir -p "$T_DIR/ex/pipelines"
mkdir -p "$T_DIR/ex/calendars"
cp "$EX/calendars/freeze.ics" "$T_DIR/ex/calendars/"
cp "$EX/pipelines/service-defaults.yaml" "$T_DIR/ex/pipelines/"
sed -e 's/wave_sizes: \[1, 1, 2, rest\]/wave_sizes: [1, 1, 2]/' \
    -e 's/alarms: \[errors, latency, canary\]/alarms: [errors, latency, canry]/' \
    "$EX/pipelines/orders-app.yaml" >"$T_DIR/ex/pipelines/orders-app.yaml"
cp "$EX/pipelines/orders-static.yaml" "$T_DIR/ex/pipelines/"
cd "$T_DIR/ex" || exit 1
run "broken copy is invalid" 1 "$GANTRYCTL" validate \
    pipelines/orders-app.yaml pipelines/orders-static.yaml
t_contains "wave_sizes error" \
    "pipelines/orders-app.yaml:stages[5].wave_sizes: wave_sizes cover 4 regions but 5 are listed" "$OUT"
t_contains "undefined alarm error" \
    'pipelines/orders-app.yaml:stages[3].alarms[2]: undefined alarm "canry"' "$OUT"
t_contains "broken summary" "2 files, 1 invalid" "$ERR"
run "broken copy, json" 1 "$GANTRYCTL" validate -o json pipelines/orders-app.yaml
t_contains "json invalid entry" '"valid": false' "$OUT"
t_contains "json error line" 'stages[5].wave_sizes: wave_sizes cover' "$OUT"
run "plan of an invalid pipeline" 1 "$GANTRYCTL" plan pipelines/orders-app.yaml
t_contains "plan shows the errors" "pipelines/orders-app.yaml:stages[5].wave_sizes:" "$OUT"
rm -f calendars/freeze.ics
run "missing calendar" 1 "$GANTRYCTL" validate pipelines/orders-app.yaml
t_contains "calendar error" \
    "pipelines/orders-app.yaml:stages[5].windows.deny[0].calendar: cannot read calendar" "$OUT"
head -c 1048577 /dev/zero | tr '\0' '#' >pipelines/huge.yaml
run "oversized file" 1 "$GANTRYCTL" validate pipelines/huge.yaml
t_contains "size cap message" "pipelines/huge.yaml: larger than 1048576 bytes" "$OUT"
cd - >/dev/null || exit 1

# --- usage and unreadable files ------------------------------------------------
run "unreadable file" 1 "$GANTRYCTL" validate "$T_DIR/nope.yaml"
t_contains "unreadable message" "$T_DIR/nope.yaml: cannot read: No such file or directory" "$OUT"
run "no files" 2 "$GANTRYCTL" validate
run "unknown option" 2 "$GANTRYCTL" validate --bogus "$EX/pipelines/orders-app.yaml"
run "option of another command" 2 "$GANTRYCTL" validate --start now "$EX/pipelines/orders-app.yaml"
run "bad --output" 2 "$GANTRYCTL" validate --output yaml "$EX/pipelines/orders-app.yaml"
run "unknown command" 2 "$GANTRYCTL" frobnicate
run "no command" 2 "$GANTRYCTL"
run "--help" 0 "$GANTRYCTL" --help
t_contains "help lists plan" "gantryctl plan" "$OUT"
run "--version" 0 "$GANTRYCTL" --version
t_contains "version line" "gantryctl " "$OUT"
run "plan: bad --start" 2 "$GANTRYCTL" plan --start tomorrow "$EX/pipelines/orders-app.yaml"
run "plan: bad --assume-hook" 2 "$GANTRYCTL" plan --assume-hook 2 "$EX/pipelines/orders-app.yaml"
run "plan: two files" 2 "$GANTRYCTL" plan "$EX/pipelines/orders-app.yaml" "$EX/pipelines/orders-infra.yaml"
run "plan: a template" 1 "$GANTRYCTL" plan "$EX/pipelines/service-defaults.yaml"
t_contains "template is not plannable" 'template "service-defaults" is not a pipeline' "$ERR"

# --- plan -------------------------------------------------------------------------
run "plan orders-app" 0 "$GANTRYCTL" plan "$EX/pipelines/orders-app.yaml" \
    --start 2026-11-30T17:00:00Z
t_contains "plan reaches wave 4" "prod/wave-4" "$OUT"
t_contains "plan has an ETA line" "ETA       100% of production at " "$OUT"
t_contains "plan starts at the start" "start     2026-11-30 17:00Z" "$OUT"
t_contains "plan first step" "+00:00  2026-11-30 17:00Z  build" "$OUT"
t_contains "plan one AZ at a time in wave 1" "eu-north-1/az2" "$OUT"
t_contains "plan abbreviates long target lists" "… (+" "$OUT"
run "plan same instant with an offset" 0 "$GANTRYCTL" plan \
    "$EX/pipelines/orders-app.yaml" --start 2026-11-30T09:00:00-08:00
t_contains "offset start is the same instant" "start     2026-11-30 17:00Z" "$OUT"
run "plan --output json" 0 "$GANTRYCTL" plan -o json --assume-hook 5m \
    --start 2026-11-30T17:00:00Z "$EX/pipelines/orders-app.yaml"
t_contains "json plan pipeline" '"pipeline": "orders-app"' "$OUT"
t_contains "json plan steps" '"steps": [' "$OUT"
t_contains "json plan version" '"version_sha256": "' "$OUT"
t_contains "json plan production end" '"production_end": "' "$OUT"
# Started in the holiday freeze, production waits for January.
run "plan in the freeze" 0 "$GANTRYCTL" plan "$EX/pipelines/orders-app.yaml" \
    --start 2026-12-24T17:00:00Z
t_contains "waves wait for the freeze to end" "2027-01-0" \
    "$(printf '%s\n' "$OUT" | grep 'prod/wave-1' | head -n 3)"
for f in orders-infra orders-os-patches orders-config orders-static; do
	run "plan $f" 0 "$GANTRYCTL" plan --start 2026-11-30T17:00:00Z \
	    "$EX/pipelines/$f.yaml"
done

# --- the example hooks -----------------------------------------------------------
for h in build deploy rollback test notify canary-probe; do
	hook="$EX/pipelines/hooks/$h"
	if [ -x "$hook" ] && out=$(GANTRY_TARGET=h1 GANTRY_STAGE=prod/wave-1 \
	    GANTRY_DEMO_SLEEP=0 "$hook" 2>&1); then
		t_pass "hook $h runs"
	else
		t_fail "hook $h: not executable or failed: $out"
	fi
done
t_contains "deploy hook names the target" "h1" \
    "$(GANTRY_TARGET=h1 "$EX/pipelines/hooks/deploy")"
t_finish
