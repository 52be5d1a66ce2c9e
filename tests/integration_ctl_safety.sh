#!/bin/bash
# Integration test of gantryctl's safeguard commands against a real
# gantryd on a real PostgreSQL with real hooks (the harness of
# integration_safeguards.sh): alarms lists the alarms; alarm-state pushes
# an org-wide alarm that blocks a stage; blockers shows the blocker's id;
# override lets the stage start (and status shows the override and the
# decision); hold blocks a service until unhold lifts it; a pushed alarm
# during a one-box bake rolls back and status says why, with the
# datapoints; --output json parses; bad input exits non-zero with a clear
# message.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

CTL="$top_builddir/cli/gantryctl"
t_setup
PDIR="$T_DIR/pipelines"
FLEET="$T_DIR/fleet"
mkdir -p "$PDIR/hooks" "$FLEET"

cat >"$PDIR/hooks/build" <<'SH'
#!/bin/sh
printf 'artifact of %s\n' "$GANTRY_REVISION" >"$GANTRY_OUT"
SH
cat >"$PDIR/hooks/deploy" <<'SH'
#!/bin/sh
printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$GANTRY_TARGET"
SH
cat >"$PDIR/hooks/rollback" <<'SH'
#!/bin/sh
if [ -n "$GANTRY_VERSION" ]; then
	printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$GANTRY_TARGET"
else
	rm -f "$FLEET/$GANTRY_TARGET"
fi
SH
chmod +x "$PDIR"/hooks/*
sed -i "s|\$FLEET|$FLEET|g" "$PDIR"/hooks/*

# guarded: a one-box bake watched by a push alarm
cat >"$PDIR/guarded.yaml" <<'YAML'
pipeline: guarded
service: shop
source: application
review: {required: false}
concurrency: queue
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
alarms:
  errors: {push: true}
stages:
  - {name: build, type: build}
  - name: canary
    type: deploy
    groups: [{name: g, targets: [c1, c2, c3]}]
    one_box: {bake: 4s}
    bake: 1s
    alarms: [errors]
YAML
# plain: another pipeline of the same service
cat >"$PDIR/plain.yaml" <<'YAML'
pipeline: plain
service: shop
source: application
review: {required: false}
concurrency: queue
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
stages:
  - {name: build, type: build}
  - {name: web, type: deploy, groups: [{name: g, targets: [p1]}]}
YAML
CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR" "override_max: 2h" \
    "alarms:" "  site-down: {push: true}"
sed -i "/name: deployer/a\\  - {name: oncall, sha256: $(t_token_hash oncall-token), roles: [override]}" "$CONF"
READ=(-H "Authorization: Bearer read-token")
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "ready" || t_fail "never ready"
sleep 0.5

# gantryctl finds the server and token in the environment; no user
# config file may interfere.
export GANTRY_SERVER="$URL" GANTRY_TOKEN=deploy-token HOME="$T_DIR"
unset XDG_CONFIG_HOME

# ctl WANT_RC NAME args...: run gantryctl; stdout in $OUT, stderr in $ERR.
ctl() {
	local want=$1 name=$2 rc
	shift 2
	"$CTL" "$@" >"$T_DIR/out" 2>"$T_DIR/err"
	rc=$?
	OUT=$(cat "$T_DIR/out")
	ERR=$(cat "$T_DIR/err")
	# CTL_SHOW=1: show what gantryctl printed
	[ -n "${CTL_SHOW:-}" ] && printf '# $ gantryctl %s\n%s\n' "$*" \
	    "$(cat "$T_DIR/out" "$T_DIR/err" | sed 's/^/#   /')"
	if [ "$rc" = "$want" ]; then
		t_pass "$name (exit $rc)"
	else
		t_fail "$name: expected exit $want, got $rc: stdout: $OUT stderr: $ERR"
	fi
}
state() { t_state "$1"; }
wait_state() { t_wait_state "$@"; }
trigger() { # PIPELINE REV: prints the id
	"$CTL" trigger "$1" --revision "$2" --reason test -o json | jq -r .id
}
sha() { sha256sum <<<"artifact of $1" | cut -d' ' -f1; }
wait_file() { # FILE CONTENT SECONDS
	local i
	for i in $(seq 1 $(($3 * 10))); do
		[ "$(cat "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- 1. alarms -------------------------------------------------------------------
ctl 0 "alarms" alarms
t_contains "alarms has a header" "SCOPE" "$OUT"
grep -Eq '^org +site-down +push +' <<<"$OUT" && t_pass "the org-wide alarm is listed" ||
    t_fail "alarms: $OUT"
grep -Eq '^guarded +errors +push +' <<<"$OUT" && t_pass "the pipeline's alarm is listed" ||
    t_fail "alarms: $OUT"
ctl 0 "alarms -o json" alarms -o json
[ "$(jq -r '[.alarms[].name] | sort | join(",")' <<<"$OUT")" = "errors,site-down" ] &&
    t_pass "alarms JSON parses" || t_fail "alarms JSON: $OUT"
ctl 2 "alarms takes no operands" alarms extra
t_contains "says so" "takes no operands" "$ERR"

# --- 2. alarm-state: push the org-wide alarm ---------------------------------------
ctl 2 "alarm-state with a bad state" alarm-state site-down maybe
t_contains "names the states" "ok, alarm or insufficient_data" "$ERR"
ctl 1 "alarm-state of an unknown alarm" alarm-state nosuch alarm --reason x
t_contains "the server's 404" "HTTP 404" "$ERR"
ctl 1 "alarm-state with the read token" alarm-state site-down alarm --token read-token
t_contains "the server's 403" "HTTP 403" "$ERR"
ctl 0 "alarm-state site-down alarm" alarm-state site-down alarm --reason "status page red"
t_contains "prints the new state" "alarm site-down is alarm" "$OUT"
ctl 0 "alarms after the push" alarms
grep -Eq '^org +site-down +push +alarm +[0-9]+s ago +status page red' <<<"$OUT" &&
    t_pass "alarms shows it firing, since when and why" || t_fail "alarms: $OUT"

# --- 3. blockers, and an override ---------------------------------------------------
ID=$(trigger plain ovr1)
for i in $(seq 1 50); do [ "$(state "$ID")" = blocked ] && break; sleep 0.1; done
[ "$(state "$ID")" = blocked ] && t_pass "execution $ID blocked" || t_fail "state $(state "$ID")"
ctl 0 "blockers" blockers
grep -Eq "^$ID:alarm:site-down +$ID +plain +web +alarm +- +yes +" <<<"$OUT" &&
    t_pass "blockers shows the blocker id" || t_fail "blockers: $OUT"
t_contains "blockers: no holds yet" "no holds" "$OUT"
t_contains "blockers: the firing alarms" "firing: site-down" "$OUT"
ctl 0 "blockers -o json" blockers -o json
BID=$(jq -r ".blockers[] | select(.execution==$ID) | .id" <<<"$OUT")
[ "$BID" = "$ID:alarm:site-down" ] && t_pass "blockers JSON parses" || t_fail "blockers JSON: $OUT"
ctl 0 "status of the blocked execution" status "$ID"
t_contains "status shows the override id" "[$ID:alarm:site-down]" "$OUT"
t_contains "status shows how to override" "gantryctl override ID --reason TEXT" "$OUT"

ctl 2 "override without --reason" override "$BID" --token oncall-token
t_contains "says --reason is required" "--reason is required" "$ERR"
ctl 2 "override of a malformed id" override abc --reason x --token oncall-token
t_contains "says what an id is" "EXECUTION:BLOCKER" "$ERR"
ctl 2 "override with a bad --expires-in" override "$BID" --reason x --expires-in soon \
    --token oncall-token
t_contains "says what --expires-in takes" "--expires-in" "$ERR"
ctl 1 "override with the deploy token" override "$BID" --reason x
t_contains "the server's 403" "HTTP 403" "$ERR"
ctl 1 "override longer than override_max" override "$BID" --reason x --expires-in 3h \
    --token oncall-token
t_contains "the server's message" "override_max" "$ERR"
ctl 1 "override of a blocker it does not have" override "$ID:hold:999" --reason x \
    --token oncall-token
t_contains "the server's 409" "HTTP 409" "$ERR"
ctl 1 "override of an unknown execution" override "999999:alarm:site-down" --reason x \
    --token oncall-token
t_contains "the server's 404" "HTTP 404" "$ERR"
ctl 0 "override" override "$BID" --reason "the status page is wrong" --expires-in 10m \
    --token oncall-token
t_contains "prints the override" "execution $ID: alarm:site-down overridden by token:oncall" "$OUT"
wait_state "$ID" succeeded 20 && t_pass "the overridden stage ran" || t_fail "ovr1"
ctl 0 "status after the override" status "$ID"
grep -q "^override  alarm:site-down on web by token:oncall at .*, used: the status page is wrong" \
    <<<"$OUT" && t_pass "status shows the used override" || t_fail "status: $OUT"
grep -q "^decision  override alarm:site-down at .* on web: " <<<"$OUT" &&
    t_pass "status shows the override decision" || t_fail "status: $OUT"
ctl 0 "alarm-state site-down ok" alarm-state site-down ok --reason "green again"
ctl 0 "blockers when nothing is blocked" blockers
t_contains "nothing blocked" "no execution is blocked" "$OUT"

# --- 4. hold and unhold ---------------------------------------------------------------
ctl 2 "hold without a scope" hold --reason x
ctl 2 "hold with a bad scope" hold galaxy x --reason x
t_contains "names the scopes" "all, service NAME or pipeline NAME" "$ERR"
ctl 2 "hold service without a name" hold service --reason x
ctl 2 "hold all with a name" hold all shop --reason x
ctl 2 "hold without --reason" hold service shop
t_contains "says --reason is required" "--reason is required" "$ERR"
ctl 0 "hold service shop" hold service shop --reason "incident 4711"
HOLD=$(sed -n 's/^hold \([0-9]*\) put on service shop .*/\1/p' <<<"$OUT")
[ -n "$HOLD" ] && t_pass "hold prints its id ($HOLD)" || t_fail "hold: $OUT"
t_contains "and how to lift it" "gantryctl unhold $HOLD" "$OUT"
IA=$(trigger plain held1)
IB=$(trigger guarded held2)
sleep 1.5
[ "$(state "$IA")" = blocked ] && [ "$(state "$IB")" = blocked ] &&
    t_pass "both pipelines of shop held" || t_fail "held: $(state "$IA") $(state "$IB")"
ctl 0 "blockers with the hold" blockers
grep -Eq "^$IA:hold:$HOLD +$IA +plain +[^ ]+ +hold +" <<<"$OUT" &&
    t_pass "blockers shows the hold blocking" || t_fail "blockers: $OUT"
grep -Eq "^$HOLD +service +shop +[0-9]+s ago +token:deployer +incident 4711" <<<"$OUT" &&
    t_pass "blockers lists the hold" || t_fail "holds: $OUT"
ctl 0 "blockers -o json with the hold" blockers -o json
[ "$(jq -r ".holds[] | select(.id==$HOLD) | .reason" <<<"$OUT")" = "incident 4711" ] &&
    t_pass "holds JSON parses" || t_fail "holds JSON: $OUT"
ctl 2 "unhold without an id" unhold
ctl 2 "unhold of a non-number" unhold shop
t_contains "says an id is a number" "hold ID (a number" "$ERR"
ctl 0 "unhold" unhold "$HOLD" --reason resolved
t_contains "prints the lift" "hold $HOLD on service shop lifted" "$OUT"
wait_state "$IA" succeeded 20 && t_pass "plain ran after the unhold" || t_fail "held1"
wait_state "$IB" succeeded 30 && t_pass "guarded ran after the unhold" || t_fail "held2"
ctl 1 "unhold again" unhold "$HOLD"
t_contains "the server's 409" "HTTP 409 conflict: hold $HOLD is already lifted" "$ERR"
ctl 1 "unhold of an unknown hold" unhold 999999
t_contains "the server's 404" "HTTP 404" "$ERR"
ctl 0 "hold all, -o json" hold all --reason "freeze" -o json
HALL=$(jq -r .id <<<"$OUT")
[ "$(jq -r .scope <<<"$OUT")" = all ] && t_pass "hold JSON parses" || t_fail "hold JSON: $OUT"
ctl 0 "unhold -o json" unhold "$HALL" -o json
[ "$(jq -r .id <<<"$OUT")" = "$HALL" ] && t_pass "unhold JSON parses" || t_fail "unhold JSON: $OUT"

# --- 5. why did it roll back? ------------------------------------------------------------
ID=$(trigger guarded bad2)
wait_file "$FLEET/c1" "$(sha bad2)" 20 && t_pass "the one-box got bad2" ||
    t_fail "the one-box never got bad2"
ctl 0 "alarm-state errors alarm" alarm-state errors alarm --reason "5xx ratio 0.034 > 0.01"
t_contains "prints the pipeline's alarm" "alarm guarded:errors is alarm" "$OUT"
wait_state "$ID" rolled_back 20 && t_pass "bad2 rolled back" || t_fail "bad2 not rolled back"
ctl 0 "status of the rolled back execution" status "$ID"
t_contains "the reason" "reason    alarm errors: 5xx ratio 0.034 > 0.01" "$OUT"
grep -q "^decision  alarm errors at [0-9:]*Z on canary: 5xx ratio 0.034 > 0.01$" <<<"$OUT" &&
    t_pass "status says which alarm decided, when, where and why" || t_fail "status: $OUT"
t_contains "and who pushed it" "            pushed by token:deployer" "$OUT"
ctl 0 "status -o json" status "$ID" -o json
[ "$(jq -r '.decisions[] | select(.kind=="alarm") | .subject' <<<"$OUT")" = errors ] &&
    t_pass "status JSON parses" || t_fail "status JSON: $OUT"
ctl 0 "alarm-state errors ok" alarm-state guarded:errors ok

# --- 6. no server ------------------------------------------------------------------------
ctl 2 "blockers without a server" blockers --server http://127.0.0.1:9
t_contains "says it cannot reach gantryd" "cannot reach gantryd" "$ERR"

t_finish
