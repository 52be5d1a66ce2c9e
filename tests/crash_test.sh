#!/bin/bash
# Crash test of the execution engine (SPEC.md section 5, promises 1, 2 and
# 6): a real gantryd on a real PostgreSQL runs two multi-wave rollouts of
# real hook processes (one succeeds, one has a failing target and rolls
# back) while it is killed with SIGKILL at pseudo-random moments and
# restarted each time.  Targets are files under $T_DIR/fleet holding the
# version they run; every hook run appends start/end lines to a runs file.
#
# Checks: the right terminal states and versions; every event log is
# 1..N without a gap and the snapshot is at its last event; at most one
# outcome per step; every hook re-run is explained by a crash (a run cut
# short by the restarted gantryd killing its leftover process group, or a
# run that finished while its outcome died with the daemon), with a higher
# GANTRY_ATTEMPT, and never starts before the run it replaces has exited;
# no stuck execution.
#
# CRASH_SEED picks the kill schedule (the same seed gives the same
# schedule: the delays, not the interleavings); CRASH_KILLS (default 20)
# is the number of kills; CRASH_TERM_CLEANUP (default 0.2 s) is how long
# a hook takes to exit after SIGTERM.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

SEED=${CRASH_SEED:-1207}
KILLS=${CRASH_KILLS:-20}

t_setup
# Every restart runs this copy: a rebuild during the test changes nothing.
cp "$GANTRYD" "$T_DIR/gantryd" || { echo "FAIL: no $GANTRYD"; exit 1; }
GANTRYD="$T_DIR/gantryd"
PDIR="$T_DIR/pipelines"
FLEET="$T_DIR/fleet"
mkdir -p "$PDIR/hooks" "$FLEET"

# Every hook appends to $FLEET/runs:
#   start KIND EXEC TARGET ATTEMPT VERSION TIME PID   before its work
#   end   KIND EXEC TARGET ATTEMPT VERSION TIME STATUS after it
#   term  KIND EXEC TARGET ATTEMPT VERSION TIME       on SIGTERM, as it exits
# A hook stopped with SIGTERM takes CRASH_TERM_CLEANUP seconds (default
# 0.2, well inside gantry's TERM -> KILL grace) to clean up and exit, as
# real hooks do: a new attempt must not start before then (promise 2).
# Hooks write nothing to stdout or stderr: with gantryd dead a write to
# the pipe would kill them (SIGPIPE), and only gantry is to stop them.
# (The shell itself reports "Terminated" on stderr when its sleep is
# killed: that goes to a file too.)
cat >"$PDIR/hooks/common" <<'SH'
exec 2>>"$FLEET/hooks.stderr"
T=${GANTRY_TARGET:-build}
V=${GANTRY_VERSION:--}
RUNS=$FLEET/runs
rec() { echo "$1 $KIND $GANTRY_EXECUTION $T $GANTRY_ATTEMPT $V $(date +%s.%N)${2:+ $2}" >>"$RUNS"; }
trap 'sleep $CLEANUP; rec term; exit 143' TERM
rec start $$
# 0.4 to 0.8 s, by target: longer than a restart of gantryd (about 0.4 s)
# so that kills often cut hooks short (the restarted gantryd kills them).
sleep 0.$((4 + $(printf %s "$T" | cksum | cut -d' ' -f1) % 5))
SH
cat >"$PDIR/hooks/build" <<'SH'
#!/bin/sh
KIND=build
. $PDIR/hooks/common
printf 'artifact of %s\n' "$GANTRY_REVISION" >"$GANTRY_OUT"
rec end 0
SH
cat >"$PDIR/hooks/deploy" <<'SH'
#!/bin/sh
KIND=deploy
. $PDIR/hooks/common
if [ -f "$FLEET/fail-$T" ]; then rec end 3; exit 3; fi
printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$T.new" && mv "$FLEET/$T.new" "$FLEET/$T"
rec end 0
SH
cat >"$PDIR/hooks/rollback" <<'SH'
#!/bin/sh
KIND=rollback
. $PDIR/hooks/common
if [ -n "$GANTRY_VERSION" ]; then
	printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$T.new" && mv "$FLEET/$T.new" "$FLEET/$T"
else
	rm -f "$FLEET/$T"
fi
rec end 0
SH
chmod +x "$PDIR"/hooks/*
# Hooks see only PATH, HOME and GANTRY_*: the paths are baked in.
sed -i "s|\$FLEET|$FLEET|g; s|\$PDIR|$PDIR|g; s|\$CLEANUP|${CRASH_TERM_CLEANUP:-0.2}|g" "$PDIR"/hooks/*

cat >"$PDIR/app.yaml" <<'YAML'
pipeline: app
service: shop
source: application
review: {required: false}
concurrency: queue
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
hook_timeout: 1m
stages:
  - {name: build, type: build}
  - {name: alpha, type: deploy, bake: 1s, groups: [{name: alpha, targets: [alpha-1]}]}
  - name: prod
    type: waves
    sequential: true
    regions:
      - {name: r1, azs: {a: [r1a1, r1a2], b: [r1b1, r1b2]}}
      - {name: r2, azs: {a: [r2a1, r2a2], b: [r2b1]}}
      - {name: r3, azs: {a: [r3a1, r3a2, r3a3, r3a4]}}
    wave_sizes: [1, 1, rest]
    one_box: {bake: 1s}
    rolling: {batch: 50%}
    bake: 1s
YAML
TARGETS="alpha-1 r1a1 r1a2 r1b1 r1b2 r2a1 r2a2 r2b1 r3a1 r3a2 r3a3 r3a4"
WAVE3="r3a1 r3a2 r3a3 r3a4"
FAILING=r3a3 # in the last wave: most of the rollout runs under the kills

CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR"
DEPLOY=(-H "Authorization: Bearer deploy-token" -H "Content-Type: application/json")
READ=(-H "Authorization: Bearer read-token")
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "ready" || t_fail "never ready"
sleep 0.5

now() { date +%s.%N; }
# state ID: the execution's state ("" while gantryd does not answer)
state() { curl -s -m 5 "${READ[@]}" "$URL/v1/executions/$1" | jq -r '.state // empty' 2>/dev/null; }
terminal() { case "$1" in succeeded|rolled_back|failed|aborted|rejected|superseded) return 0 ;; esac; return 1; }
# wait_state ID STATE SECONDS
wait_state() {
	local i s
	for i in $(seq 1 $(($3 * 10))); do
		s=$(state "$1")
		[ "$s" = "$2" ] && return 0
		terminal "$s" && { echo "# execution $1 ended $s"; return 1; }
		sleep 0.1
	done
	echo "# execution $1 is $s after $3 s"
	return 1
}
trigger() { # REV: prints the id
	curl -s "${DEPLOY[@]}" -X POST --data "{\"revision\":\"$1\",\"reason\":\"crash test\"}" \
	    "$URL/v1/pipelines/app/executions" | jq -r '.id // empty'
}
sha() { sha256sum <<<"artifact of $1" | cut -d' ' -f1; }

# --- the kill schedule: a fixed LCG from the seed ------------------------------
# Delays of 0.3 to 2.0 s (ms), the same for a seed on every machine.
rng=$SEED
DELAYS=()
for _ in $(seq 1 "$KILLS"); do
	rng=$(((rng * 1103515245 + 12345) % 2147483648))
	DELAYS+=($((300 + (rng >> 8) % 1701)))
done
t_log "seed $SEED, kill delays (ms): ${DELAYS[*]}"
: >"$T_DIR/kills" # KILL# EXEC TIME STATE-BEFORE
NKILL=0

# crash_until_terminal ID MAXKILLS: kill -9 and restart gantryd at the
# scheduled moments until the execution is terminal or MAXKILLS more
# kills have been made.
crash_until_terminal() {
	local id=$1 max=$2 n=0 s d
	while [ "$n" -lt "$max" ] && [ "$NKILL" -lt "$KILLS" ]; do
		d=${DELAYS[$NKILL]}
		sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
		s=$(state "$id")
		terminal "$s" && break
		# The time is taken just before the kill: no later than it.
		echo "$((NKILL + 1)) $id $(now) ${s:-down}" >>"$T_DIR/kills"
		{
			kill -9 "$GANTRYD_PID"
			wait "$GANTRYD_PID"
		} 2>/dev/null
		GANTRYD_PID=
		NKILL=$((NKILL + 1))
		n=$((n + 1))
		t_start_gantryd "$CONF"
	done
}

# --- 1. a rollout that succeeds, under kills --------------------------------------
T0=$(now)
ID1=$(trigger rev1)
[ -n "$ID1" ] && t_pass "trigger rev1 ($ID1)" || t_fail "trigger rev1"
crash_until_terminal "$ID1" $((KILLS / 2))
wait_state "$ID1" succeeded 90 && t_pass "rev1 succeeded" || t_fail "rev1 did not succeed"
K1=$NKILL
t_log "rev1: $K1 kills, $(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"

# --- 2. a rollout with a failing target that rolls back, under kills --------------
touch "$FLEET/fail-$FAILING"
T0=$(now)
ID2=$(trigger rev2)
[ -n "$ID2" ] && t_pass "trigger rev2 ($ID2)" || t_fail "trigger rev2"
crash_until_terminal "$ID2" "$KILLS"
wait_state "$ID2" rolled_back 90 && t_pass "rev2 rolled back" || t_fail "rev2 did not roll back"
rm -f "$FLEET/fail-$FAILING"
t_log "rev2: $((NKILL - K1)) kills, $(awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"
[ "$NKILL" -ge $((KILLS * 3 / 4)) ] && t_pass "$NKILL kills made while executions ran" ||
    t_fail "only $NKILL of $KILLS kills landed while an execution ran"
t_wait_ready 15 || t_fail "not ready after the last restart"

t_log "kill schedule (kill, execution, seconds since the first kill, state polled just before, hooks running):"
awk -v runs="$FLEET/runs" '
BEGIN {
	while ((getline l < runs) > 0) {
		split(l, f, " "); r = f[3] " " f[2] ":" f[4] "#" f[5]
		if (f[1] == "start") { if (!(r in st)) o[++n] = r; st[r] = f[7] + 0; nm[r] = f[2] ":" f[4] "#" f[5] }
		else if (f[1] == "end" || !(r in sp)) sp[r] = f[7] + 0
	}
}
NR == 1 { t0 = $3 }
{
	k = $3 + 0; h = ""
	for (i = 1; i <= n; i++)
		if (st[o[i]] < k && (!(o[i] in sp) || sp[o[i]] > k)) h = h " " nm[o[i]]
	printf "#   kill %2d  exec %s  +%6.2f s  %-12s%s\n", $1, $2, k - t0, $4, h
}' "$T_DIR/kills"

# --- 3. versions -----------------------------------------------------------------
SHA1=$(sha rev1)
SHA2=$(sha rev2)
curl -s "${READ[@]}" "$URL/v1/executions/$ID2" >"$T_DIR/tree2"
bad=0
for t in $TARGETS; do
	want=$SHA2
	case " $WAVE3 " in *" $t "*) want=$SHA1 ;; esac
	got=$(cat "$FLEET/$t" 2>/dev/null)
	[ "$got" = "$want" ] || { bad=1; echo "# $t runs ${got:-nothing}, not $want"; }
done
[ $bad = 0 ] && t_pass "every target on its version (waves 1-2 and alpha: rev2; wave-3: rev1)" ||
    t_fail "some target is on the wrong version"
# The rolled-back stage: touched targets got rolled back to rev1, untouched
# ones were never deployed.
TOUCHED=$(jq -r '.stages[] | select(.name == "prod/wave-3") | .targets[] | select(.touched) | .name' "$T_DIR/tree2" | tr '\n' ' ')
W3STATE=$(jq -r '.stages[] | select(.name == "prod/wave-3") | .state' "$T_DIR/tree2")
t_log "prod/wave-3 of rev2: $W3STATE, touched: $TOUCHED"
[ "$W3STATE" = rolled_back ] && t_pass "prod/wave-3 rolled back" || t_fail "prod/wave-3 is $W3STATE"
case " $TOUCHED " in *" $FAILING "*) t_pass "the failing target is touched" ;;
*) t_fail "$FAILING not touched: $TOUCHED" ;; esac
bad=0
for t in $WAVE3; do
	dep=$(awk -v x="$ID2" -v t="$t" '$1 == "start" && $2 == "deploy" && $3 == x && $4 == t' "$FLEET/runs" | wc -l)
	rb=$(awk -v x="$ID2" -v t="$t" -v v="$SHA1" '$1 == "end" && $2 == "rollback" && $3 == x && $4 == t && $6 == v' "$FLEET/runs" | wc -l)
	case " $TOUCHED " in
	*" $t "*) [ "$rb" -ge 1 ] || { bad=1; echo "# touched $t has no finished rollback to rev1"; } ;;
	*) [ "$dep" = 0 ] && [ "$rb" = 0 ] || { bad=1; echo "# untouched $t: $dep deploy runs, $rb rollbacks"; } ;;
	esac
done
[ $bad = 0 ] && t_pass "touched wave-3 targets rolled back, untouched ones never deployed" ||
    t_fail "wave-3 rollback is wrong"

# --- 4. event logs: no lost and no doubled transition --------------------------------
for id in $ID1 $ID2; do
	curl -s "${READ[@]}" "$URL/v1/executions/$id/events" >"$T_DIR/events-$id"
	curl -s "${READ[@]}" "$URL/v1/executions/$id" >"$T_DIR/tree-$id"
	n=$(jq '.events | length' "$T_DIR/events-$id")
	gaps=$(jq '[.events | to_entries[] | select(.value.seq != .key + 1)] | length' "$T_DIR/events-$id")
	last=$(jq '.events[-1].seq' "$T_DIR/events-$id")
	snap=$(jq '.seq' "$T_DIR/tree-$id")
	dbseq=$(psql -X -A -t -d "$PG_CONN" -c "SELECT last_seq FROM executions WHERE id = $id")
	dbmax=$(psql -X -A -t -d "$PG_CONN" -c "SELECT count(*) || ' ' || max(seq) FROM execution_events WHERE execution = $id")
	restarts=$(jq '[.events[] | select(.kind == "restarted")] | length' "$T_DIR/events-$id")
	kills=$(awk -v x="$id" '$2 == x' "$T_DIR/kills" | wc -l)
	t_log "execution $id: $n events, $restarts restarted ($kills kills), snapshot seq $snap, db last_seq $dbseq, db count/max $dbmax"
	# One restarted event per restart that found it live: never more.
	[ "$restarts" -le "$kills" ] && t_pass "execution $id: no restart recorded twice" ||
	    t_fail "execution $id: $restarts restarted events for $kills kills"
	[ "$n" -gt 0 ] && [ "$gaps" = 0 ] && [ "$last" = "$n" ] && [ "$dbmax" = "$n $n" ] &&
	    t_pass "execution $id: events 1..$n without a gap" ||
	    t_fail "execution $id: event seqs are not 1..$n ($gaps out of place, last $last, db $dbmax)"
	[ "$snap" = "$last" ] && [ "$dbseq" = "$last" ] &&
	    t_pass "execution $id: snapshot at its last event ($snap)" ||
	    t_fail "execution $id: snapshot seq $snap / db $dbseq, last event $last"
	# Promise 2: at most one outcome recorded per step.
	dup=$(jq -r '[.events[] | select(.kind == "hook-finished" or .kind == "hook-timed-out") | .data.step] | group_by(.) | map(select(length > 1) | "\(.[0]) x\(length)") | join(", ")' "$T_DIR/events-$id")
	[ -z "$dup" ] && t_pass "execution $id: one outcome per step" ||
	    t_fail "execution $id: steps with several outcomes: $dup"
done

# --- 5. hook runs: every re-run is explained by a crash --------------------------------
# For each (kind, execution, target), the runs in start order.  A run is
#   done         "end" line, and it is the last run: the recorded outcome;
#   interrupted  no "end" line, a later attempt follows, and a kill of
#                gantryd falls between its start and the next start (the
#                restarted gantryd killed its leftover process group);
#   lost         "end" line, yet a later attempt follows, and a kill falls
#                between its start and the next start: it finished while
#                gantryd was down, or before its outcome was committed, so
#                the outcome died with gantryd (at least once, not exactly
#                once: SPEC.md section 5, promise 2);
#   killed       no "end" line, the last run: stopped by the rollback
#                (only in the stage that rolled back).
# Attempts must strictly increase, and a run must not start before the
# run it replaces ended (its "end" or "term" line).
awk -v kills="$T_DIR/kills" -v id2="$ID2" -v wave3="$WAVE3" '
BEGIN {
	while ((getline l < kills) > 0) { split(l, f, " "); kt[++nk] = f[3] + 0 }
	nw = split(wave3, w, " "); for (i = 1; i <= nw; i++) inw3[w[i]] = 1
}
{ key = $2 " " $3 " " $4; run = key " " $5 }
$1 == "start" {
	if (!(key in nr)) order[++nkeys] = key
	n = ++nr[key]; att[key, n] = $5 + 0; st[key, n] = $7 + 0; rk[run] = n
}
$1 == "end" { en[key, rk[run]] = $7 + 0 }
$1 == "term" { tm[key, rk[run]] = $7 + 0 }
# A hook writes its start line a few ms after gantryd spawned it: a kill
# up to 0.25 s before that line may still have hit the run.
function killed_between(a, b,   i) {
	for (i = 1; i <= nk; i++) if (kt[i] > a - 0.25 && kt[i] < b) return 1
	return 0
}
END {
	bad = 0; overlap = 0
	for (k = 1; k <= nkeys; k++) {
		key = order[k]; split(key, kk, " "); n = nr[key]
		intr = 0; lost = 0; killed = 0; why = ""
		for (i = 1; i <= n; i++) {
			last = i == n
			if (!last) {
				if (att[key, i + 1] <= att[key, i]) why = why sprintf(" attempt %d after %d;", att[key, i + 1], att[key, i])
				stop = ((key, i) in en) ? en[key, i] : tm[key, i]
				if (stop != "" && (gap == "" || st[key, i + 1] - stop < gap)) gap = st[key, i + 1] - stop
				if (stop == "") { noterm++; why = why sprintf(" attempt %d stopped without SIGTERM;", att[key, i]) }
				if (stop != "" && stop > st[key, i + 1]) {
					ov = stop - st[key, i + 1]
					if (ov > overlap) overlap = ov
					ovl = ovl sprintf(" OVERLAP: attempt %d started %.3f s before attempt %d exited;", att[key, i + 1], ov, att[key, i])
				}
			}
			if ((key, i) in en) {
				if (last) continue
				lost++
				if (!killed_between(st[key, i], st[key, i + 1])) why = why sprintf(" attempt %d finished and was re-run without a crash;", att[key, i])
			} else if (!last) {
				intr++
				if (!killed_between(st[key, i], st[key, i + 1])) why = why sprintf(" attempt %d cut short without a crash;", att[key, i])
			} else {
				killed++
				if (!(kk[1] == "deploy" && kk[2] == id2 && (kk[3] in inw3)) || !((key, i) in tm)) why = why sprintf(" last attempt %d never finished;", att[key, i])
			}
		}
		if (n != 1 + intr + lost) why = why " runs do not add up;"
		if (ovl) { why = why ovl; novl++ }
		ovl = ""
		printf "#   %-8s exec %s %-7s runs %d = 1 + %d interrupted + %d lost%s%s\n", kk[1], kk[2], kk[3], n, intr, lost, killed ? " (last killed by the rollback)" : "", why ? "  BAD:" why : ""
		if (why && why !~ /^( OVERLAP:[^;]*;)+$/) bad++
		ti += intr; tl += lost
	}
	printf "#   total: %d interrupted (%d without SIGTERM), %d lost outcomes re-run; %d steps overlap, largest overlap %.3f s, smallest gap %.3f s\n", ti, noterm, tl, novl, overlap, gap
	printf "%d %d\n", bad, novl >"/dev/stderr"
}' "$FLEET/runs" >"$T_DIR/runs-report" 2>"$T_DIR/runs-bad"
read -r nbad novl <"$T_DIR/runs-bad"
t_log "hook runs per step:"
cat "$T_DIR/runs-report"
[ "$nbad" = 0 ] && t_pass "every hook re-run follows a crash, with a higher attempt; every cut-short run got SIGTERM" ||
    t_fail "$nbad steps have a hook run not explained by a crash (see BAD above)"
[ "$novl" = 0 ] && t_pass "no attempt started while an earlier attempt of its step was alive" ||
    t_fail "$novl steps started an attempt while an earlier one was alive (see OVERLAP above)"
# Every deploy step of rev1 and every touched one of rev2 ran to its end.
bad=0
for t in $TARGETS; do
	for x in "$ID1 $SHA1" "$ID2 $SHA2"; do
		set -- $x
		[ "$1" = "$ID2" ] && case " $WAVE3 " in *" $t "*) continue ;; esac
		awk -v x="$1" -v t="$t" -v v="$2" '$1 == "end" && $2 == "deploy" && $3 == x && $4 == t && $6 == v && $8 == 0 { f = 1 } END { exit !f }' "$FLEET/runs" ||
		    { bad=1; echo "# no finished deploy of $t in execution $1"; }
	done
done
[ $bad = 0 ] && t_pass "every deploy ran at least once to its end" || t_fail "a deploy never finished"

# --- 6. nothing stuck ------------------------------------------------------------
sleep 1
t_http 200 "metrics" "$URL/metrics"
t_contains "no stuck execution" "gantry_executions_stuck 0"
n=$(grep -c 'event=execution.stuck' "$T_DIR/gantryd.log")
[ "$n" = 0 ] && t_pass "no execution.stuck logged" || t_fail "$n execution.stuck lines logged"

t_finish
