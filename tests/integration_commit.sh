#!/bin/bash
# Integration test of the engine's group commit when the database
# connections drop: a real gantryd with db_commit_connections 3 on a real
# PostgreSQL, 40 dry runs in flight (rolling batches of one target, a 1 s
# bake: transitions keep coming for several seconds), and the server cuts
# the connection of backends in the middle of a commit batch, up to eight
# times (event rows are slowed down by a trigger so that batches last long
# enough to be caught).  Those batches fail and are sent again: every execution still succeeds,
# its events are exactly seq 1..last_seq (nothing lost, nothing twice),
# every step's output is stored once, and nothing is stuck.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

t_setup
PDIR="$T_DIR/pipelines"
mkdir -p "$PDIR"
N=40
for i in $(seq "$N"); do
	cat >"$PDIR/c$i.yaml" <<YAML
pipeline: c$i
service: commit
source: application
review: {required: false}
hooks: {deploy: /bin/true, rollback: /bin/true}
stages:
  - name: deploy
    type: deploy
    rolling: {batch: 1}
    bake: 1s
    groups: [{name: g, targets: [c$i-t1, c$i-t2, c$i-t3]}]
YAML
done
CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR" "db_commit_connections: 3"
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "ready" || t_fail "never ready"
sql() { psql -X -A -t -d "$PG_CONN" -c "$1"; }
for _ in $(seq 1 100); do
	[ "$(sql "SELECT count(*) FROM pipelines")" = "$N" ] && break
	sleep 0.1
done

# Slow each event row down (5 ms) so that batches are in flight when the
# connections are cut.
sql "CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS
     \$\$ BEGIN PERFORM pg_sleep(0.005); RETURN NEW; END \$\$;
     CREATE TRIGGER test_slow BEFORE INSERT ON execution_events
     FOR EACH ROW EXECUTE FUNCTION test_slow()" >/dev/null ||
    t_fail "cannot slow execution_events down"

# Cut the connection of every backend running a commit batch (the group
# commit's statement starts "WITH ar AS"), when there is one.
kill_committing() {
	sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	     WHERE datname = current_database() AND state = 'active'
	     AND query LIKE 'WITH ar AS%' AND pid <> pg_backend_pid()"
}

# All of them blocked behind a hold, then released at once: batches of
# many executions.
hold=$(curl -s -H "Authorization: Bearer admin-token" -H "Content-Type: application/json" \
    -X POST --data '{"scope":"service","name":"commit","reason":"line them up"}' \
    "$URL/v1/holds" | jq -r '.id // empty')
[ -n "$hold" ] && t_pass "hold placed" || t_fail "no hold"
ids=()
for i in $(seq "$N"); do
	id=$(curl -s -H "Authorization: Bearer deploy-token" -H "Content-Type: application/json" \
	    -X POST --data '{"revision":"r1","reason":"commit test","dry_run":true}' \
	    "$URL/v1/pipelines/c$i/executions" | jq -r '.id // empty')
	[ -n "$id" ] && ids+=("$id")
done
[ "${#ids[@]}" = "$N" ] && t_pass "$N dry runs triggered" || t_fail "only ${#ids[@]} of $N triggered"
for _ in $(seq 1 100); do
	[ "$(sql "SELECT count(*) FROM executions WHERE state = 'blocked'")" = "$N" ] && break
	sleep 0.1
done
t_http 200 "the hold is lifted" -H "Authorization: Bearer admin-token" -H "Content-Type: application/json" \
    -X DELETE --data '{"reason":"go"}' "$URL/v1/holds/$hold"
killed=0
for _ in $(seq 1 300); do
	k=$(kill_committing)
	killed=$((killed + ${k:-0}))
	[ "$killed" -ge 8 ] && break
	sleep 0.01
done
t_log "backends cut in the middle of a commit batch: $killed"
[ "$killed" -ge 3 ] && t_pass "connections were cut under $killed commit batches" || t_fail "only $killed commit batches cut"

live=""
for _ in $(seq 1 600); do
	live=$(curl -s "$URL/metrics" | awk '$1 == "gantry_executions_live" { print $2 }')
	[ "$live" = 0 ] && break
	sleep 0.1
done
[ "$live" = 0 ] && t_pass "every execution ended" || t_fail "$live executions still live"
states=$(sql "SELECT state || '=' || count(*) FROM executions GROUP BY state ORDER BY 1" | tr '\n' ' ')
[ "$states" = "succeeded=$N " ] && t_pass "all $N succeeded" || t_fail "states: $states"
bad=$(sql "SELECT count(*) FROM executions x WHERE last_seq <> (SELECT count(*) FROM execution_events e WHERE e.execution = x.id)
	OR last_seq <> (SELECT max(seq) FROM execution_events e WHERE e.execution = x.id)")
[ "$bad" = 0 ] && t_pass "every execution's events are exactly 1..last_seq" || t_fail "$bad executions with missing or extra events"
outs=$(sql "SELECT count(*) FROM hook_outputs WHERE stream = 'stdout' AND step LIKE '%:deploy'")
[ "$outs" = $((3 * N)) ] && t_pass "every deploy step's output stored once" || t_fail "$outs deploy outputs, want $((3 * N))"
retried=$(grep -c "event=engine.flush_failed .*retry=yes" "$T_DIR/gantryd.log" || true)
[ "$retried" -ge 1 ] && t_pass "$retried commit batches failed in flight and were sent again" ||
    t_fail "no commit batch was in flight when the connections were cut"
stopped=$(grep -c "event=engine.execution_stopped" "$T_DIR/gantryd.log" || true)
[ "$stopped" = 0 ] && t_pass "no execution stopped" || t_fail "$stopped executions stopped"
t_http 200 "metrics" "$URL/metrics"
t_contains "nothing stuck" "gantry_executions_stuck 0"

t_finish
