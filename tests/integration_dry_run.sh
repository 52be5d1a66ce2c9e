#!/bin/bash
# Integration test of dry-run executions: a real gantryd on a real
# PostgreSQL.  A dry run goes through the whole state machine (blockers,
# bakes, every transition stored) but spawns no build/deploy/rollback/test
# hook and no notify hook, and never records a target version: the fleet
# (files under $T_DIR/fleet) and target_versions stay untouched, and a
# later real execution sees no previous version from it.  Also: the
# trigger body's dry_run is validated, a hold blocks a dry run like any
# execution, a dry run is not blocked by a busy target, and a gantryd
# killed during a dry run's bake resumes it as a dry run.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

t_setup
PDIR="$T_DIR/pipelines"
FLEET="$T_DIR/fleet"
mkdir -p "$PDIR/hooks" "$FLEET"

cat >"$PDIR/hooks/build" <<'SH'
#!/bin/sh
touch "$FLEET/built-$GANTRY_EXECUTION"
printf 'artifact of %s\n' "$GANTRY_REVISION" >"$GANTRY_OUT"
SH
cat >"$PDIR/hooks/deploy" <<'SH'
#!/bin/sh
echo "deployed $GANTRY_TARGET"
printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$GANTRY_TARGET"
printf '%s\n' "$GANTRY_PREVIOUS_VERSION" >"$FLEET/prev-$GANTRY_TARGET-$GANTRY_EXECUTION"
[ -f "$FLEET/slow" ] && sleep 10
exit 0
SH
cat >"$PDIR/hooks/rollback" <<'SH'
#!/bin/sh
touch "$FLEET/rolled-back-$GANTRY_TARGET-$GANTRY_EXECUTION"
SH
cat >"$PDIR/hooks/notify" <<'SH'
#!/bin/sh
touch "$FLEET/notified-$GANTRY_EXECUTION"
SH
cat >"$PDIR/hooks/smoke" <<'SH'
#!/bin/sh
touch "$FLEET/tested-$GANTRY_EXECUTION"
SH
chmod +x "$PDIR"/hooks/*
# Hooks see only PATH, HOME and GANTRY_*: the fleet path is baked in.
sed -i "s|\$FLEET|$FLEET|g" "$PDIR"/hooks/*

cat >"$PDIR/app.yaml" <<'YAML'
pipeline: app
service: shop
source: application
review: {required: false}
concurrency: queue
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback,
        notify: hooks/notify, smoke: hooks/smoke}
hook_timeout: 1m
stages:
  - {name: build, type: build}
  - name: web
    type: deploy
    groups: [{name: g, targets: [w1, w2]}]
    one_box: {bake: 1s}
    bake: 3s
    tests: smoke
YAML
# Another service sharing target w1 (the "busy" blocker).
cat >"$PDIR/other.yaml" <<'YAML'
pipeline: other
service: ops
source: config
review: {required: false}
hooks: {deploy: hooks/deploy, rollback: hooks/rollback}
stages:
  - {name: cfg, type: deploy, groups: [{name: g, targets: [w1]}]}
YAML

CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR"
DEPLOY=(-H "Authorization: Bearer deploy-token" -H "Content-Type: application/json")
READ=(-H "Authorization: Bearer read-token")
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "ready" || t_fail "never ready"
ctl() { "$top_builddir/cli/gantryctl" "$@" --server "$URL" --token read-token; }
sleep 0.5

sql() { psql -X -A -t -d "$PG_CONN" -c "$1"; }
# trigger PIPELINE BODY: prints the id
trigger() {
	curl -s "${DEPLOY[@]}" -X POST --data "$2" "$URL/v1/pipelines/$1/executions" | jq -r '.id // empty'
}
tree() { curl -s "${READ[@]}" "$URL/v1/executions/$1"; }

# --- 1. the trigger body ---------------------------------------------------
t_http 400 "dry_run must be a boolean" "${DEPLOY[@]}" -X POST \
    --data '{"revision":"r0","dry_run":"yes"}' "$URL/v1/pipelines/app/executions"
t_contains "the error names dry_run" '"message":"dry_run must be true or false"'
t_contains "in the usual error shape" '"code":"invalid_request"'
n=$(sql "SELECT count(*) FROM executions")
[ "$n" = 0 ] && t_pass "nothing created for a bad body" || t_fail "$n executions after a bad body"

# --- 2. a dry run goes all the way and touches nothing ---------------------
t_http 201 "trigger a dry run" "${DEPLOY[@]}" -X POST \
    --data '{"revision":"dry1","reason":"rehearsal","dry_run":true}' "$URL/v1/pipelines/app/executions"
D1=$(jq -r .id <<<"$T_BODY")
[ "$(jq -r .dry_run <<<"$T_BODY")" = true ] && t_pass "the tree says dry_run" || t_fail "tree: $T_BODY"
t_wait_state "$D1" succeeded 30 && t_pass "the dry run succeeded" || t_fail "the dry run did not succeed"
ls "$FLEET" >"$T_DIR/fleet.ls"
[ ! -s "$T_DIR/fleet.ls" ] && t_pass "no hook ran (no build, deploy, test, notify marker)" ||
    t_fail "hooks ran: $(tr '\n' ' ' <"$T_DIR/fleet.ls")"
n=$(sql "SELECT count(*) FROM target_versions")
[ "$n" = 0 ] && t_pass "target_versions untouched" || t_fail "target_versions has $n rows"
[ "$(sql "SELECT dry_run FROM executions WHERE id = $D1")" = t ] && t_pass "executions.dry_run stored" ||
    t_fail "executions.dry_run is not true"
n=$(sql "SELECT count(*) FROM execution_events WHERE execution = $D1 AND kind = 'hook-finished'")
# build, 2 deploys, tests
[ "$n" = 4 ] && t_pass "every step is a stored transition ($n hook-finished)" || t_fail "$n hook-finished events"
n=$(sql "SELECT count(*) FROM execution_events WHERE execution = $D1 AND kind = 'timer-fired'")
[ "$n" = 2 ] && t_pass "both bakes ran as timers" ||
    t_fail "$n timer-fired events: $(sql "SELECT string_agg(seq || ' ' || kind || ' ' || data::text, E'\n' ORDER BY seq) FROM execution_events WHERE execution = $D1")"
n=$(sql "SELECT count(*) FROM hook_runs WHERE execution = $D1")
[ "$n" = 0 ] && t_pass "no hook_runs row (no process)" || t_fail "$n hook_runs rows"
t_http 200 "deploy log of a dry step" "${READ[@]}" "$URL/v1/executions/$D1/logs/web:w1:deploy"
t_contains "it says it was not run" "dry run: deploy of w1 not run"
t_contains "nor the artifact checked" "no artifact was fetched or verified"
[ "$(jq -r '.attempts[0].exit_status' <<<"$T_BODY")" = 0 ] &&
    t_pass "recorded with exit status 0" || t_fail "log: $T_BODY"
t_http 200 "build log of a dry step" "${READ[@]}" "$URL/v1/executions/$D1/logs/build"
t_contains "the build says nothing was built" "dry run: build of stage build not run"
tree "$D1" >"$T_DIR/d1.json"
[ "$(jq -r .artifact.sha256 "$T_DIR/d1.json")" = null ] && t_pass "a dry run has no artifact" ||
    t_fail "artifact: $(jq -c .artifact "$T_DIR/d1.json")"
[ "$(jq -r '[.stages[1].targets[].state] | join(",")' "$T_DIR/d1.json")" = deployed,deployed ] &&
    t_pass "its targets read deployed (in the rehearsal)" || t_fail "targets: $(jq -c .stages[1] "$T_DIR/d1.json")"
t_http 200 "list executions" "${READ[@]}" "$URL/v1/executions?pipeline=app"
[ "$(jq -r ".executions[] | select(.id==$D1) | .dry_run" <<<"$T_BODY")" = true ] &&
    t_pass "the list shows dry_run" || t_fail "list: $T_BODY"
t_http 400 "a bad dry_run filter" "${READ[@]}" "$URL/v1/executions?dry_run=maybe"
out=$(ctl status "$D1" 2>&1)
t_contains "gantryctl status says dry run" "(dry run)" "$out"
out=$(ctl history --pipeline app 2>&1)
t_contains "gantryctl history says dry run" "(dry run)" "$out"

# --- 3. a real execution after it: no previous version from the dry run ---
R1=$(trigger app '{"revision":"real1","reason":"ship"}')
t_wait_state "$R1" succeeded 30 && t_pass "the real execution succeeded" || t_fail "real1 did not succeed"
SHA1=$(sha256sum <<<"artifact of real1" | cut -d' ' -f1)
[ "$(cat "$FLEET/w1" 2>/dev/null)" = "$SHA1" ] && [ "$(cat "$FLEET/w2" 2>/dev/null)" = "$SHA1" ] &&
    t_pass "the real execution deployed" || t_fail "fleet: w1 $(cat "$FLEET/w1" 2>/dev/null)"
[ -f "$FLEET/prev-w1-$R1" ] && [ -z "$(cat "$FLEET/prev-w1-$R1")" ] &&
    t_pass "its GANTRY_PREVIOUS_VERSION is empty (the dry run recorded nothing)" ||
    t_fail "previous: '$(cat "$FLEET/prev-w1-$R1" 2>/dev/null)'"
[ -f "$FLEET/notified-$R1" ] && t_pass "a real execution notifies" || t_fail "no notify for the real one"
[ "$(sql "SELECT string_agg(DISTINCT execution::text, ',') FROM target_versions")" = "$R1" ] &&
    t_pass "target_versions come from the real execution" || t_fail "target_versions: $(sql 'TABLE target_versions')"
[ "$(ctl status "$R1" 2>&1 | grep -c 'dry run')" = 0 ] &&
    t_pass "a real execution is not shown as a dry run" || t_fail "status of real1 says dry run"

# --- 4. a hold blocks a dry run like any execution ----------------------------
t_http 201 "hold the pipeline" "${DEPLOY[@]}" -X POST \
    --data '{"scope":"pipeline","name":"app","reason":"freeze"}' "$URL/v1/holds"
HOLD=$(jq -r .id <<<"$T_BODY")
D2=$(trigger app '{"revision":"dry2","dry_run":true}')
t_wait_state "$D2" blocked 10 && t_pass "the held dry run is blocked" || t_fail "dry2 not blocked"
t_http 200 "blockers" "${READ[@]}" "$URL/v1/blockers"
[ "$(jq -r ".blockers[] | select(.execution==$D2) | .kind" <<<"$T_BODY")" = hold ] &&
    t_pass "blocked by the hold" || t_fail "blockers: $(jq -c . <<<"$T_BODY")"
t_http 200 "lift the hold" "${DEPLOY[@]}" -X DELETE --data '{"reason":"over"}' "$URL/v1/holds/$HOLD"
t_wait_state "$D2" succeeded 30 && t_pass "the dry run goes on once lifted" || t_fail "dry2 did not finish"
[ "$(jq -r '.stages[1].targets[0].previous' <<<"$(tree "$D2")")" = "$SHA1" ] &&
    t_pass "it shows the version a real run would replace" || t_fail "previous: $(tree "$D2" | jq -c .stages[1])"

# --- 5. a busy target does not block a dry run, and a dry run holds none ---
touch "$FLEET/slow"
O1=$(trigger other '{"revision":"o1"}')
for _ in $(seq 1 50); do [ -f "$FLEET/prev-w1-$O1" ] && break; sleep 0.1; done
D3=$(trigger app '{"revision":"dry3","dry_run":true}')
t_wait_state "$D3" succeeded 30 && t_pass "a dry run is not blocked by a busy target" || t_fail "dry3: $(t_state "$D3")"
[ "$(t_state "$O1")" = running ] && t_pass "(while the other pipeline holds w1)" || t_fail "o1 is $(t_state "$O1")"
rm -f "$FLEET/slow"
t_wait_state "$O1" succeeded 30 || t_fail "o1 did not finish"
D4=$(trigger app '{"revision":"dry4","dry_run":true}')
t_wait_state "$D4" running 10 || t_fail "dry4 not running"
O2=$(trigger other '{"revision":"o2"}')
for _ in $(seq 1 30); do [ -f "$FLEET/prev-w1-$O2" ] && break; sleep 0.1; done
[ -f "$FLEET/prev-w1-$O2" ] && t_pass "a dry run holds no target" || t_fail "o2 waited: $(t_state "$O2")"
rm -f "$FLEET/slow"
t_wait_state "$O2" succeeded 30 || t_fail "o2 did not finish"
t_wait_state "$D4" succeeded 30 || t_fail "dry4 did not finish"

# --- 6. kill -9 during a dry run's bake: it resumes as a dry run ---------
TV=$(sql "SELECT string_agg(target || '=' || execution, ',' ORDER BY target) FROM target_versions")
D5=$(trigger app '{"revision":"dry5","dry_run":true}')
for _ in $(seq 1 100); do
	[ "$(tree "$D5" | jq -r '.stages[1].state')" = baking ] &&
	    [ "$(tree "$D5" | jq -r '.stages[1].one_box_done')" = true ] && break
	sleep 0.1
done
[ "$(tree "$D5" | jq -r '.stages[1].state')" = baking ] && t_pass "the dry run is in its bake" ||
    t_fail "dry5: $(tree "$D5" | jq -c .stages[1])"
kill -9 "$GANTRYD_PID"
wait "$GANTRYD_PID" 2>/dev/null
GANTRYD_PID=
t_start_gantryd "$CONF"
t_wait_ready 15 || t_fail "not ready after restart"
t_wait_state "$D5" succeeded 30 && t_pass "the dry run finished after kill -9" || t_fail "dry5 did not finish"
[ "$(tree "$D5" | jq -r .dry_run)" = true ] && t_pass "still a dry run" || t_fail "dry5 lost its flag"
grep -q "event=execution.resumed execution=$D5" "$T_DIR/gantryd.log" && t_pass "it was resumed from its snapshot" ||
    t_fail "no resume line for $D5"
ls "$FLEET" | grep -E -- "-($D2|$D3|$D4|$D5)\$" >"$T_DIR/dry.ls"
[ ! -s "$T_DIR/dry.ls" ] && t_pass "no hook of any dry run ran" || t_fail "dry hooks ran: $(tr '\n' ' ' <"$T_DIR/dry.ls")"
[ "$(sql "SELECT string_agg(target || '=' || execution, ',' ORDER BY target) FROM target_versions")" = "$TV" ] &&
    t_pass "target_versions unchanged by the dry run" || t_fail "target_versions: $(sql 'TABLE target_versions')"

# --- 7. gantryctl trigger --dry-run ------------------------------------------
out=$("$top_builddir/cli/gantryctl" trigger app --revision dry6 --dry-run --reason "ctl rehearsal" \
    --server "$URL" --token deploy-token 2>&1)
t_contains "gantryctl trigger --dry-run says so" "(dry run: no hook runs, no target changes)" "$out"
D6=$(sed -n 's/^execution \([0-9]*\) triggered.*/\1/p' <<<"$out")
[ "$(tree "$D6" | jq -r .dry_run)" = true ] && t_pass "gantryctl sent dry_run" || t_fail "dry6: $out"
t_wait_state "$D6" succeeded 30 && t_pass "the gantryctl dry run succeeded" || t_fail "dry6 did not finish"

t_http 200 "only dry runs" "${READ[@]}" "$URL/v1/executions?pipeline=app&dry_run=true"
[ "$(jq -r '[.executions[].revision] | join(",")' <<<"$T_BODY")" = dry6,dry5,dry4,dry3,dry2,dry1 ] &&
    t_pass "?dry_run=true lists the dry runs" || t_fail "list: $(jq -c '[.executions[].revision]' <<<"$T_BODY")"
t_http 200 "no dry runs" "${READ[@]}" "$URL/v1/executions?pipeline=app&dry_run=false"
[ "$(jq -r '[.executions[].revision] | join(",")' <<<"$T_BODY")" = real1 ] &&
    t_pass "?dry_run=false lists the real ones" || t_fail "list: $(jq -c '[.executions[].revision]' <<<"$T_BODY")"
t_http 200 "metrics" "$URL/metrics"
t_contains "no stuck execution" "gantry_executions_stuck 0"
replay=$(sql "SELECT count(*) FROM executions x WHERE last_seq <> (SELECT max(seq) FROM execution_events WHERE execution = x.id)")
[ "$replay" = 0 ] && t_pass "every snapshot is at its last event" || t_fail "$replay snapshots lag their events"

t_finish
