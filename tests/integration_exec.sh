#!/bin/bash
# Integration test of the execution engine: a real gantryd on a real
# PostgreSQL runs real hook processes.  Targets are files under
# $T_DIR/fleet holding the version they run.  Covers a multi-wave rollout,
# a failing target rolled back, abort killing a running hook, pause and
# resume, supersede, an idempotent trigger, kill -9 and restart, the
# stuck gauge, and an execution whose row is deleted under it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

t_setup
PDIR="$T_DIR/pipelines"
FLEET="$T_DIR/fleet"
mkdir -p "$PDIR/hooks" "$FLEET"

cat >"$PDIR/hooks/build" <<'SH'
#!/bin/sh
# The artifact: the revision's bytes (distinct per revision).
[ -f "$FLEET/slow-build" ] && sleep 2
printf 'artifact of %s\n' "$GANTRY_REVISION" >"$GANTRY_OUT"
SH
cat >"$PDIR/hooks/deploy" <<'SH'
#!/bin/sh
echo "deploy $GANTRY_TARGET to $GANTRY_VERSION (attempt $GANTRY_ATTEMPT)"
echo "$GANTRY_TARGET" >>"$FLEET/deploy-runs"
echo $$ >"$FLEET/pid-$GANTRY_TARGET"
[ -f "$FLEET/slow" ] && sleep 30
[ -f "$FLEET/fail-$GANTRY_TARGET" ] && { echo "boom on $GANTRY_TARGET" >&2; exit 3; }
printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$GANTRY_TARGET"
SH
cat >"$PDIR/hooks/rollback" <<'SH'
#!/bin/sh
echo "rollback $GANTRY_TARGET to ${GANTRY_VERSION:-nothing}"
echo "$GANTRY_TARGET" >>"$FLEET/rollback-runs"
if [ -n "$GANTRY_VERSION" ]; then
	printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$GANTRY_TARGET"
else
	rm -f "$FLEET/$GANTRY_TARGET"
fi
SH
chmod +x "$PDIR"/hooks/*
# Hooks see only PATH, HOME and GANTRY_*: the fleet path is baked in.
sed -i "s|\$FLEET|$FLEET|g" "$PDIR"/hooks/*

cat >"$PDIR/app.yaml" <<'YAML'
pipeline: app
service: shop
source: application
review: {required: false}
concurrency: supersede
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
hook_timeout: 1m
stages:
  - {name: build, type: build}
  - {name: alpha, type: deploy, groups: [{name: alpha, targets: [alpha-1]}]}
  - name: prod
    type: waves
    regions:
      - {name: r1, azs: {a: [r1a1, r1a2], b: [r1b1, r1b2]}}
      - {name: r2, azs: {a: [r2a1, r2a2], b: [r2b1]}}
      - {name: r3, azs: {a: [r3a1, r3a2, r3a3]}}
    wave_sizes: [1, 1, rest]
    one_box: {bake: 1s}
    rolling: {batch: 50%}
    bake: 1s
YAML

# Signing: gantryd signs what it builds; "signed" accepts only artifacts
# signed by the key whose public half it names.
openssl genpkey -algorithm ed25519 -out "$T_DIR/gantryd.key" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T_DIR/ci.key" 2>/dev/null
openssl pkey -in "$T_DIR/ci.key" -pubout -out "$PDIR/ci.pub" 2>/dev/null
cat >"$PDIR/signed.yaml" <<'YAML'
pipeline: signed
service: shop
source: config
review: {required: false}
hooks: {deploy: hooks/deploy, rollback: hooks/rollback}
signing: {public_key: ci.pub}
stages:
  - {name: cfg, type: deploy, groups: [{name: g, targets: [cfg-1]}]}
YAML

CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR" "signing_key: $T_DIR/gantryd.key"
DEPLOY=(-H "Authorization: Bearer deploy-token" -H "Content-Type: application/json")
READ=(-H "Authorization: Bearer read-token")
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "ready" || t_fail "never ready"
sleep 0.5

# state ID: the execution's state
state() { curl -s "${READ[@]}" "$URL/v1/executions/$1" | sed -n 's/^{"id":[0-9]*,"pipeline":"[^"]*","pipeline_version":[0-9]*,"revision":"[^"]*","state":"\([a-z_]*\)".*/\1/p'; }
# wait_state ID STATE SECONDS
wait_state() {
	local i s
	for i in $(seq 1 $(($3 * 10))); do
		s=$(state "$1")
		[ "$s" = "$2" ] && return 0
		case "$s" in succeeded|rolled_back|failed|aborted|rejected|superseded)
			[ "$s" != "$2" ] && { echo "# execution $1 ended $s"; return 1; } ;;
		esac
		sleep 0.1
	done
	echo "# execution $1 is $s after $3 s"
	return 1
}
trigger() { # REV [extra curl args]: prints the id
	local rev=$1
	shift
	curl -s "${DEPLOY[@]}" "$@" -X POST --data "{\"revision\":\"$rev\",\"reason\":\"test\"}" \
	    "$URL/v1/pipelines/app/executions" | sed -n 's/^{"id":\([0-9]*\),.*/\1/p'
}

# --- 1. a multi-wave rollout succeeds --------------------------------------
t_http 201 "trigger rev1" "${DEPLOY[@]}" -X POST --data '{"revision":"rev1","reason":"first"}' \
    "$URL/v1/pipelines/app/executions"
ID1=$(printf %s "$T_BODY" | sed -n 's/^{"id":\([0-9]*\),.*/\1/p')
t_contains "trigger returns the tree" '"stages":['
wait_state "$ID1" succeeded 60 && t_pass "rev1 succeeded" || t_fail "rev1 did not succeed"
SHA1=$(sha256sum <<<"artifact of rev1" | cut -d' ' -f1)
bad=0
for t in alpha-1 r1a1 r1a2 r1b1 r1b2 r2a1 r2a2 r2b1 r3a1 r3a2 r3a3; do
	[ "$(cat "$FLEET/$t" 2>/dev/null)" = "$SHA1" ] || { bad=1; echo "# $t runs $(cat "$FLEET/$t" 2>/dev/null)"; }
done
[ $bad = 0 ] && t_pass "every target runs rev1's artifact" || t_fail "some target is not on rev1"
t_http 200 "events of rev1" "${READ[@]}" "$URL/v1/executions/$ID1/events"
t_contains "event log starts with triggered" '"seq":1,"kind":"triggered"'
t_contains "event log has hook outcomes" '"kind":"hook-finished"'
t_http 200 "deploy log of a target" "${READ[@]}" "$URL/v1/executions/$ID1/logs/prod/wave-1:r1a1:deploy"
t_contains "hook output kept" "deploy r1a1 to $SHA1"
t_contains "the log names both streams" '"stderr":'
n=$(psql -X -A -t -d "$PG_CONN" -c "SELECT count(*) FROM hook_outputs WHERE stream = 'stderr' AND length(content) = 0")
[ "$n" = 0 ] && t_pass "no empty stderr row is stored" || t_fail "$n empty stderr rows stored"
t_http 200 "list executions" "${READ[@]}" "$URL/v1/executions?pipeline=app"
t_contains "list shows rev1" '"revision":"rev1"'
n=$(grep -c . "$FLEET/deploy-runs")
[ "$n" = 11 ] && t_pass "exactly one deploy run per target" || t_fail "$n deploy runs for 11 targets"

# The event stream of a finished execution: every event, then the end.
sse=$(curl -s -N --max-time 10 "${READ[@]}" -H "Accept: text/event-stream" "$URL/v1/executions/$ID1/events")
nev=$(psql -X -A -t -d "$PG_CONN" -c "SELECT count(*) FROM execution_events WHERE execution = $ID1")
[ "$(printf %s "$sse" | grep -c '^event: transition')" = "$nev" ] && t_pass "SSE replays all $nev events and closes" ||
    t_fail "SSE sent $(printf %s "$sse" | grep -c '^event: transition') of $nev events"
t_contains "SSE ids are seqs" "id: $nev" "$sse"
t_contains "last SSE event carries the tree" '"execution":{"id":' "$sse"
sse=$(curl -s -N --max-time 10 "${READ[@]}" -H "Accept: text/event-stream" -H "Last-Event-ID: $((nev - 1))" \
    "$URL/v1/executions/$ID1/events")
[ "$(printf %s "$sse" | grep -c '^event: transition')" = 1 ] && t_pass "Last-Event-ID resumes after that event" ||
    t_fail "Last-Event-ID: got $(printf %s "$sse" | grep -c '^event: transition') events"

# --- 2. idempotent trigger ---------------------------------------------------
A=$(trigger rev2 -H "Idempotency-Key: k-rev2")
B=$(trigger rev2 -H "Idempotency-Key: k-rev2")
[ -n "$A" ] && [ "$A" = "$B" ] && t_pass "same Idempotency-Key, same execution ($A)" ||
    t_fail "idempotent trigger gave $A and $B"
wait_state "$A" succeeded 60 && t_pass "rev2 succeeded" || t_fail "rev2 did not succeed"
# Six at once with one key: they share a trigger batch (one statement),
# and exactly one creates the execution.
{
	for i in 1 2 3 4 5 6; do
		echo 'url = "'"$URL/v1/pipelines/app/executions"'"'
		echo 'request = "POST"'
		echo 'data = "{\"revision\":\"rev2\",\"reason\":\"burst\"}"'
		echo 'header = "Idempotency-Key: k-burst"'
		echo 'header = "Authorization: Bearer deploy-token"'
		echo 'header = "Content-Type: application/json"'
		echo 'write-out = "\\ncode=%{http_code}\\n"'
		[ $i = 6 ] || echo 'next'
	done
} >"$T_DIR/burst.curl"
burst=$(curl -s --parallel --parallel-immediate --parallel-max 6 -K "$T_DIR/burst.curl")
ids=$(printf %s "$burst" | grep -o '"id":[0-9]*' | sort -u)
n201=$(printf '%s\n' "$burst" | grep -c '^code=201$')
n200=$(printf '%s\n' "$burst" | grep -c '^code=200$')
[ "$(printf %s "$ids" | grep -c .)" = 1 ] && t_pass "six concurrent triggers with one key: one execution ($ids)" ||
    t_fail "concurrent idempotent triggers gave: $ids"
[ "$n201/$n200" = 1/5 ] && t_pass "one 201 and five 200 answers" || t_fail "$n201 answers 201 and $n200 answers 200"
wait_state "${ids#\"id\":}" succeeded 60 && t_pass "the burst's execution succeeded" ||
    t_fail "the burst's execution did not succeed"
SHA2=$(sha256sum <<<"artifact of rev2" | cut -d' ' -f1)

# --- 3. a failing target rolls its stage back --------------------------------
: >"$FLEET/deploy-runs"
touch "$FLEET/fail-r2a2"
ID3=$(trigger rev3)
wait_state "$ID3" rolled_back 60 && t_pass "rev3 rolled back" || t_fail "rev3 did not roll back"
rm -f "$FLEET/fail-r2a2"
SHA3=$(sha256sum <<<"artifact of rev3" | cut -d' ' -f1)
bad=0
for t in r2a1 r2a2 r2b1; do # prod/wave-2: every touched target back on rev2
	[ "$(cat "$FLEET/$t")" = "$SHA2" ] || { bad=1; echo "# $t runs $(cat "$FLEET/$t")"; }
done
[ $bad = 0 ] && t_pass "wave-2 targets back on rev2" || t_fail "a wave-2 target is not on rev2"
for t in r3a1 r3a2 r3a3; do
	grep -qx "$t" "$FLEET/deploy-runs" && { bad=1; echo "# $t was deployed"; }
done
[ $bad = 0 ] && t_pass "wave-3 never started" || t_fail "wave-3 was touched"
[ "$(cat "$FLEET/r1a1")" = "$SHA3" ] && t_pass "wave-1 keeps rev3 (only the stage in flight rolls back)" ||
    t_fail "wave-1 changed"
t_http 200 "tree of rev3" "${READ[@]}" "$URL/v1/executions/$ID3"
t_contains "tree names the failure" 'r2a2'

# --- 4. abort during a batch kills the running hook ---------------------------
touch "$FLEET/slow"
ID4=$(trigger rev4)
for _ in $(seq 1 100); do [ -f "$FLEET/pid-alpha-1" ] && grep -q alpha-1 "$FLEET/deploy-runs" 2>/dev/null && break; sleep 0.1; done
rm -f "$FLEET/pid-alpha-1"
for _ in $(seq 1 100); do [ -f "$FLEET/pid-alpha-1" ] && break; sleep 0.1; done
HPID=$(cat "$FLEET/pid-alpha-1" 2>/dev/null)
t_http 400 "abort without a reason is refused" "${DEPLOY[@]}" -X POST --data '{}' "$URL/v1/executions/$ID4/abort"
t_http 202 "abort" "${DEPLOY[@]}" -X POST --data '{"reason":"stop it"}' "$URL/v1/executions/$ID4/abort"
rm -f "$FLEET/slow"
wait_state "$ID4" aborted 30 && t_pass "rev4 aborted" || t_fail "rev4 not aborted"
if [ -n "$HPID" ] && kill -0 "$HPID" 2>/dev/null; then
	t_fail "the running deploy hook ($HPID) survived the abort"
else
	t_pass "the running deploy hook was killed"
fi
[ "$(cat "$FLEET/alpha-1")" = "$SHA3" ] && t_pass "alpha-1 rolled back to rev3" || t_fail "alpha-1 runs $(cat "$FLEET/alpha-1")"
t_http 409 "abort of a finished execution" "${DEPLOY[@]}" -X POST --data '{"reason":"again"}' "$URL/v1/executions/$ID4/abort"

# --- 5. pause and resume ----------------------------------------------------------
touch "$FLEET/slow-build"
ID5=$(trigger rev5)
t_http 202 "pause" "${DEPLOY[@]}" -X POST --data '{"reason":"look"}' "$URL/v1/executions/$ID5/pause"
t_http 409 "pause twice" "${DEPLOY[@]}" -X POST --data '{}' "$URL/v1/executions/$ID5/pause"
rm -f "$FLEET/slow-build"
sleep 3
[ "$(state "$ID5")" = paused ] && t_pass "stays paused" || t_fail "state $(state "$ID5") while paused"
t_http 202 "resume" "${DEPLOY[@]}" -X POST --data '{}' "$URL/v1/executions/$ID5/resume"
wait_state "$ID5" succeeded 60 && t_pass "rev5 succeeded after resume" || t_fail "rev5 did not finish"

# --- 6. supersede: the newest waiting execution wins ---------------------------
touch "$FLEET/slow-build"
ID6=$(trigger rev6)
sleep 0.5
ID7=$(trigger rev7)
ID8=$(trigger rev8)
"$top_builddir/cli/gantryctl" watch "$ID8" --server "$URL" --token read-token \
    >"$T_DIR/watch.out" 2>&1 &
WATCH=$!
rm -f "$FLEET/slow-build"
wait_state "$ID7" superseded 30 && t_pass "rev7 superseded" || t_fail "rev7 not superseded"
wait_state "$ID6" succeeded 60 && t_pass "rev6 (running) finished" || t_fail "rev6 did not finish"
wait_state "$ID8" succeeded 60 && t_pass "rev8 (newest) succeeded" || t_fail "rev8 did not succeed"
wait "$WATCH"
rc=$?
[ $rc = 0 ] && t_pass "gantryctl watch followed it live and exited 0" || t_fail "gantryctl watch exit $rc: $(tail -5 "$T_DIR/watch.out")"
t_contains "watch saw the rollout" "prod/wave-3" "$(cat "$T_DIR/watch.out")"

# --- 7. kill -9 and restart: the rollout finishes ---------------------------------
ID9=$(trigger rev9)
sleep 1.5
kill -9 "$GANTRYD_PID"
wait "$GANTRYD_PID" 2>/dev/null
GANTRYD_PID=
t_start_gantryd "$CONF"
t_wait_ready 15 || t_fail "not ready after restart"
wait_state "$ID9" succeeded 90 && t_pass "rev9 finished after kill -9" || t_fail "rev9 did not finish after restart"
SHA9=$(sha256sum <<<"artifact of rev9" | cut -d' ' -f1)
[ "$(cat "$FLEET/r3a3")" = "$SHA9" ] && t_pass "the last target runs rev9" || t_fail "r3a3 runs $(cat "$FLEET/r3a3")"

# --- 8. signatures ----------------------------------------------------------
t_http 200 "tree of rev9" "${READ[@]}" "$URL/v1/executions/$ID9"
sig=$(printf %s "$T_BODY" | sed -n 's/.*"sha256":"[0-9a-f]*","signature":"\([^"]*\)".*/\1/p')
printf %s "$SHA9" >"$T_DIR/digest"
printf %s "$sig" | base64 -d >"$T_DIR/sig.bin" 2>/dev/null
openssl pkeyutl -verify -rawin -inkey "$T_DIR/gantryd.key" -in "$T_DIR/digest" \
    -sigfile "$T_DIR/sig.bin" >/dev/null 2>&1 && t_pass "the built artifact is signed by gantryd's key" ||
    t_fail "the built artifact's signature does not verify ($sig)"
EXT=$(printf 'config bundle 7' | sha256sum | cut -d' ' -f1)
printf %s "$EXT" >"$T_DIR/ext"
GOOD=$(openssl pkeyutl -sign -rawin -inkey "$T_DIR/ci.key" -in "$T_DIR/ext" | base64 -w0)
BAD=$(openssl pkeyutl -sign -rawin -inkey "$T_DIR/gantryd.key" -in "$T_DIR/ext" | base64 -w0)
t_http 201 "trigger with a signed external artifact" "${DEPLOY[@]}" -X POST \
    --data "{\"revision\":\"c7\",\"artifact\":{\"uri\":\"s3://b/c7\",\"sha256\":\"$EXT\",\"signature\":\"$GOOD\"}}" \
    "$URL/v1/pipelines/signed/executions"
IDS=$(printf %s "$T_BODY" | sed -n 's/^{"id":\([0-9]*\),.*/\1/p')
wait_state "$IDS" succeeded 30 && t_pass "signed artifact deployed" || t_fail "signed artifact not deployed"
[ "$(cat "$FLEET/cfg-1")" = "$EXT" ] && t_pass "cfg-1 runs the external artifact" || t_fail "cfg-1 runs $(cat "$FLEET/cfg-1")"
t_http 201 "trigger with a badly signed artifact" "${DEPLOY[@]}" -X POST \
    --data "{\"revision\":\"c8\",\"artifact\":{\"uri\":\"s3://b/c8\",\"sha256\":\"$EXT\",\"signature\":\"$BAD\"}}" \
    "$URL/v1/pipelines/signed/executions"
IDB=$(printf %s "$T_BODY" | sed -n 's/^{"id":\([0-9]*\),.*/\1/p')
wait_state "$IDB" rejected 10 && t_pass "badly signed artifact rejected" || t_fail "badly signed artifact not rejected"
t_http 200 "tree of the rejected execution" "${READ[@]}" "$URL/v1/executions/$IDB"
t_contains "rejection says why" "does not verify"

t_http 200 "metrics" "$URL/metrics"
t_contains "no stuck execution" "gantry_executions_stuck 0"
t_contains "transitions counted" "gantry_transitions_total"
replay=$(psql -X -A -t -d "$PG_CONN" -c "SELECT count(*) FROM executions x WHERE last_seq <> (SELECT max(seq) FROM execution_events WHERE execution = x.id)")
[ "$replay" = 0 ] && t_pass "every snapshot is at its last event" || t_fail "$replay snapshots lag their events"

# --- 9. executions are kept; one whose row is gone anyway stops alone ------------
# (sql/007: events and hook output have no foreign key; gantryd stores an
# execution's events only with its row, and says when the row is missing)
out=$(psql -X -A -t -d "$PG_CONN" -c "DELETE FROM executions WHERE id = $ID9" 2>&1)
t_contains "an execution cannot be deleted" "executions are kept" "$out"
touch "$FLEET/slow"
rm -f "$FLEET/pid-alpha-1"
IDG=$(trigger rev10)
for _ in $(seq 1 100); do [ -f "$FLEET/pid-alpha-1" ] && break; sleep 0.1; done
sleep 0.3 # the hook's start is committed; it sleeps
last=$(psql -X -A -t -d "$PG_CONN" -c "SELECT max(seq) FROM execution_events WHERE execution = $IDG")
psql -X -q -d "$PG_CONN" -v ON_ERROR_STOP=1 -c "ALTER TABLE executions DISABLE TRIGGER executions_no_delete" \
    -c "DELETE FROM executions WHERE id = $IDG" \
    -c "ALTER TABLE executions ENABLE TRIGGER executions_no_delete" >/dev/null 2>&1 ||
    t_fail "the superuser could not remove execution $IDG"
kill "$(cat "$FLEET/pid-alpha-1")" 2>/dev/null # its deploy ends: a transition
rm -f "$FLEET/slow"
for _ in $(seq 1 50); do grep -q "engine.execution_stopped execution=$IDG .*missing" "$T_DIR/gantryd.log" && break; sleep 0.1; done
grep -q "engine.execution_stopped execution=$IDG .*its row is missing" "$T_DIR/gantryd.log" &&
    t_pass "the execution whose row is gone is stopped, saying why" ||
    t_fail "no execution_stopped for $IDG: $(grep "execution=$IDG" "$T_DIR/gantryd.log" | tail -3)"
orphans=$(psql -X -A -t -d "$PG_CONN" -c "SELECT count(*) FROM execution_events WHERE execution = $IDG AND seq > ${last:-0}")
[ "$orphans" = 0 ] && t_pass "no event stored for it after its row went" || t_fail "$orphans events stored without their execution"
t_http 201 "the engine goes on: another trigger" "${DEPLOY[@]}" -X POST \
    --data "{\"revision\":\"c9\",\"artifact\":{\"uri\":\"s3://b/c7\",\"sha256\":\"$EXT\",\"signature\":\"$GOOD\"}}" \
    "$URL/v1/pipelines/signed/executions"
IDS2=$(printf %s "$T_BODY" | sed -n 's/^{"id":\([0-9]*\),.*/\1/p')
wait_state "$IDS2" succeeded 30 && t_pass "and it succeeds" || t_fail "the next execution did not succeed"

t_finish
