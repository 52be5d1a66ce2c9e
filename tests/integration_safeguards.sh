#!/bin/bash
# Integration test of the safeguards: a real gantryd on a real PostgreSQL
# with real hooks.  A pushed alarm during a one-box bake rolls the stage
# back and the rest of the fleet never gets the version; the same through
# the Alertmanager receiver; an org-wide alarm blocks until it clears; an
# override lets one stage start (audited); a hold blocks every pipeline of
# a service until lifted; a closed window blocks until it opens (a timer);
# a Prometheus that does not answer yields missing datapoints, counted,
# fails the bake it guards (no data is never good news) and stalls nothing
# else.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

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
echo "$GANTRY_PIPELINE $GANTRY_TARGET $GANTRY_VERSION" >>"$FLEET/deploy-runs"
printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$GANTRY_TARGET"
SH
cat >"$PDIR/hooks/rollback" <<'SH'
#!/bin/sh
echo "$GANTRY_PIPELINE $GANTRY_TARGET ${GANTRY_VERSION:-none}" >>"$FLEET/rollback-runs"
if [ -n "$GANTRY_VERSION" ]; then
	printf '%s\n' "$GANTRY_VERSION" >"$FLEET/$GANTRY_TARGET"
else
	rm -f "$FLEET/$GANTRY_TARGET"
fi
SH
cat >"$PDIR/hooks/probe" <<'SH'
#!/bin/sh
# a command alarm's probe: prints the share of healthy targets
[ "$GANTRY_ALARM" = health ] || exit 3
cat "$FLEET/health"
SH
echo 1 >"$FLEET/health"
cat >"$PDIR/hooks/notify" <<'SH'
#!/bin/sh
echo "$GANTRY_EXECUTION $GANTRY_STAGE" >>"$FLEET/notified"
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
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback,
        notify: hooks/notify}
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
# guarded-new: never deployed before
cat >"$PDIR/guarded-new.yaml" <<'YAML'
pipeline: guarded-new
service: fresh
source: application
review: {required: false}
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
alarms:
  new-errors: {push: true}
stages:
  - {name: build, type: build}
  - {name: web, type: deploy, groups: [{name: g, targets: [n1, n2]}],
     one_box: {bake: 4s}, alarms: [new-errors]}
YAML
# plain: another pipeline of the same service
cat >"$PDIR/plain.yaml" <<'YAML'
pipeline: plain
service: shop
source: application
review: {required: false}
concurrency: queue
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback,
        notify: hooks/notify}
stages:
  - {name: build, type: build}
  - {name: web, type: deploy, groups: [{name: g, targets: [p1]}]}
YAML
# promfail: its alarm's Prometheus never answers
cat >"$PDIR/promfail.yaml" <<'YAML'
pipeline: promfail
service: metrics
source: application
review: {required: false}
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
alarms:
  latency: {prometheus: 'histogram_quantile(0.99, x)', above: 0.5,
            period: 1s, datapoints: 2/3}
stages:
  - {name: build, type: build}
  - {name: edge, type: deploy, groups: [{name: g, targets: [f1]}], bake: 2s,
     alarms: [latency]}
YAML
# probed: a command alarm guards the stage
cat >"$PDIR/probed.yaml" <<'YAML'
pipeline: probed
service: probes
source: application
review: {required: false}
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
alarms:
  health: {command: hooks/probe, below: 0.5, period: 1s}
stages:
  - {name: build, type: build}
  - {name: web, type: deploy, groups: [{name: g, targets: [h1]}], bake: 1s,
     alarms: [health]}
YAML

CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR" \
    "prometheus: http://127.0.0.1:9" "metric_timeout: 500ms" \
    "override_max: 2h" \
    "alarms:" "  site-down: {push: true}"
# an on-call token that may override, with the others
sed -i "/name: deployer/a\\  - {name: oncall, sha256: $(t_token_hash oncall-token), roles: [override]}" "$CONF"
DEPLOY=(-H "Authorization: Bearer deploy-token" -H "Content-Type: application/json")
ADMIN=(-H "Authorization: Bearer admin-token" -H "Content-Type: application/json")
ONCALL=(-H "Authorization: Bearer oncall-token" -H "Content-Type: application/json")
READ=(-H "Authorization: Bearer read-token")
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "ready" || t_fail "never ready"
sleep 0.5

state() { t_state "$1"; }
wait_state() { t_wait_state "$@"; }
trigger() { # PIPELINE REV: prints the id
	curl -s "${DEPLOY[@]}" -X POST --data "{\"revision\":\"$2\",\"reason\":\"test\"}" \
	    "$URL/v1/pipelines/$1/executions" | jq -r .id
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
push() { # NAME STATE REASON
	curl -s -o /dev/null -w '%{http_code}' "${DEPLOY[@]}" -X PUT \
	    --data "{\"state\":\"$2\",\"reason\":\"$3\"}" "$URL/v1/alarms/$1/state"
}

# --- 1. a pushed alarm during the one-box bake rolls the stage back ---------
ID=$(trigger guarded good1)
wait_state "$ID" succeeded 30 && t_pass "guarded good1 succeeded" || t_fail "good1"
ID=$(trigger guarded bad2)
wait_file "$FLEET/c1" "$(sha bad2)" 20 && t_pass "the one-box got bad2" ||
    t_fail "the one-box never got bad2"
[ "$(state "$ID")" = running ] && t_pass "baking" || t_fail "not running: $(state "$ID")"
t_http 200 "push errors=alarm" "${DEPLOY[@]}" -X PUT \
    --data '{"state":"alarm","reason":"5xx ratio 0.034 > 0.01"}' "$URL/v1/alarms/errors/state"
t_contains "the push names what it updated" '"alarm":"errors"'
wait_state "$ID" rolled_back 20 && t_pass "bad2 rolled back" || t_fail "bad2 not rolled back"
[ "$(cat "$FLEET/c1")" = "$(sha good1)" ] && t_pass "c1 back on good1" || t_fail "c1 is $(cat "$FLEET/c1")"
if grep -q "guarded c2 $(sha bad2)\|guarded c3 $(sha bad2)" "$FLEET/deploy-runs"; then
	t_fail "the rest of the fleet received bad2"
else
	t_pass "c2 and c3 never received bad2"
fi
t_http 200 "tree" "${READ[@]}" "$URL/v1/executions/$ID"
[ "$(jq -r .reason <<<"$T_BODY")" = "alarm errors: 5xx ratio 0.034 > 0.01" ] &&
    t_pass "the reason names the alarm" || t_fail "reason: $(jq -r .reason <<<"$T_BODY")"
[ "$(jq -r '.decisions[] | select(.kind=="alarm") | .subject' <<<"$T_BODY")" = errors ] &&
    t_pass "the decision is on the execution" || t_fail "no alarm decision"
grep -q "^$ID " "$FLEET/notified" && t_pass "notify ran" || t_fail "notify did not run"
t_http 200 "metrics" "$URL/metrics"
t_contains "rollback latency observed" 'gantry_alarm_rollback_seconds_count 1'
[ "$(push errors ok recovered)" = 200 ] && t_pass "errors cleared" || t_fail "clear"

# a first deploy rolled back goes back to nothing, not to itself
ID=$(trigger guarded-new first1)
wait_file "$FLEET/n1" "$(sha first1)" 20 || t_fail "n1 never got first1"
push new-errors alarm "first deploy is bad" >/dev/null
wait_state "$ID" rolled_back 20 && t_pass "first1 rolled back" || t_fail "first1"
grep -q "^guarded-new n1 none$" "$FLEET/rollback-runs" &&
    t_pass "the rollback hook was told there is no previous version" ||
    t_fail "rollback-runs: $(grep guarded-new "$FLEET/rollback-runs")"
[ ! -e "$FLEET/n1" ] && t_pass "n1 runs nothing again" || t_fail "n1: $(cat "$FLEET/n1")"

# --- 2. bad pushes ------------------------------------------------------------
[ "$(push nosuch alarm x)" = 404 ] && t_pass "unknown alarm: 404" || t_fail "unknown alarm"
[ "$(push latency alarm x)" = 409 ] && t_pass "evaluated alarm: 409" || t_fail "evaluated alarm"
[ "$(push errors maybe x)" = 400 ] && t_pass "bad state: 400" || t_fail "bad state"
t_http 403 "read token may not push" "${READ[@]}" -X PUT -H "Content-Type: application/json" \
    --data '{"state":"ok"}' "$URL/v1/alarms/errors/state"

# --- 3. the Alertmanager receiver -----------------------------------------------
ID=$(trigger guarded bad3)
wait_file "$FLEET/c1" "$(sha bad3)" 20 || t_fail "the one-box never got bad3"
t_http 200 "alertmanager firing" "${DEPLOY[@]}" -X POST --data '{
  "version": "4", "status": "firing", "receiver": "gantry", "groupKey": "{}:{}",
  "alerts": [{"status": "resolved", "labels": {"alertname": "HighErrors",
    "gantry_alarm": "errors", "instance": "b"},
    "annotations": {"summary": "5xx back to normal on b"},
    "startsAt": "2026-11-27T00:00:00Z", "endsAt": "2026-11-27T00:01:00Z",
    "fingerprint": "b0"},
   {"status": "firing", "labels": {"alertname": "HighErrors",
    "gantry_alarm": "errors", "severity": "page"},
    "annotations": {"summary": "5xx above 1% on orders"},
    "startsAt": "2026-11-27T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
    "fingerprint": "abc123"},
   {"status": "firing", "labels": {"alertname": "Unrelated"},
    "annotations": {}, "startsAt": "2026-11-27T00:00:00Z",
    "fingerprint": "def456"}]}' "$URL/v1/hooks/alertmanager"
t_contains "unknown alerts are ignored, not refused" '"ignored":["Unrelated"]'
# two alerts for one alarm (a group of instances): firing wins
t_contains "one state per alarm" '"updated":[{"scope":"guarded","alarm":"errors","state":"alarm"}]'
wait_state "$ID" rolled_back 20 && t_pass "bad3 rolled back by an Alertmanager alert" ||
    t_fail "bad3 not rolled back"
t_http 200 "alertmanager resolved" "${DEPLOY[@]}" -X POST --data '{
  "version": "4", "status": "resolved", "alerts": [{"status": "resolved",
    "labels": {"alertname": "HighErrors", "gantry_alarm": "errors"},
    "annotations": {"summary": "5xx back to normal"}, "fingerprint": "abc123"}]}' \
    "$URL/v1/hooks/alertmanager"
t_http 200 "alarms" "${READ[@]}" "$URL/v1/alarms"
[ "$(jq -r '.alarms[] | select(.name=="errors") | .state' <<<"$T_BODY")" = ok ] &&
    t_pass "resolved clears the alarm" || t_fail "errors still $(jq -c . <<<"$T_BODY")"
[ "$(jq -r '.alarms[] | select(.name=="errors") | .reason' <<<"$T_BODY")" = \
    "resolved in Alertmanager (was: 5xx back to normal)" ] &&
    t_pass "its reason says it was resolved" ||
    t_fail "reason: $(jq -r '.alarms[] | select(.name=="errors") | .reason' <<<"$T_BODY")"
t_http 400 "alertmanager garbage" "${DEPLOY[@]}" -X POST --data '{"alerts": 3}' \
    "$URL/v1/hooks/alertmanager"

# --- 4. an org-wide alarm blocks until it clears ---------------------------------
[ "$(push site-down alarm "status page red")" = 200 ] && t_pass "site-down firing" || t_fail "site-down"
ID=$(trigger plain org1)
for i in $(seq 1 50); do [ "$(state "$ID")" = blocked ] && break; sleep 0.1; done
t_http 200 "blockers" "${READ[@]}" "$URL/v1/blockers"
BID=$(jq -r ".blockers[] | select(.execution==$ID) | .id" <<<"$T_BODY")
[ "$BID" = "$ID:alarm:site-down" ] && t_pass "blocked by the org-wide alarm" ||
    t_fail "blockers: $(jq -c . <<<"$T_BODY")"
[ "$(state "$ID")" = blocked ] && t_pass "execution blocked" || t_fail "state $(state "$ID")"
[ "$(push site-down ok "green again")" = 200 ] && t_pass "site-down cleared" || t_fail "clear"
wait_state "$ID" succeeded 20 && t_pass "resumes by itself when it clears" || t_fail "org1"

# --- 5. an override lets one stage start, audited -------------------------------
push site-down alarm "status page red" >/dev/null
ID=$(trigger plain ovr1)
for i in $(seq 1 50); do [ "$(state "$ID")" = blocked ] && break; sleep 0.1; done
t_http 403 "deploy token may not override" "${DEPLOY[@]}" -X POST \
    --data '{"reason":"x"}' "$URL/v1/blockers/$ID:alarm:site-down/override"
t_http 400 "override needs a reason" "${ONCALL[@]}" -X POST --data '{}' \
    "$URL/v1/blockers/$ID:alarm:site-down/override"
t_http 400 "override longer than override_max" "${ONCALL[@]}" -X POST \
    --data '{"reason":"x","expires_in":"3h"}' "$URL/v1/blockers/$ID:alarm:site-down/override"
t_http 409 "override of a blocker it does not have" "${ONCALL[@]}" -X POST \
    --data '{"reason":"x"}' "$URL/v1/blockers/$ID:hold:1/override"
t_http 400 "override of a malformed id" "${ONCALL[@]}" -X POST \
    --data '{"reason":"x"}' "$URL/v1/blockers/abc/override"
t_http 202 "override" "${ONCALL[@]}" -X POST \
    --data '{"reason":"the status page is wrong","expires_in":"10m"}' \
    "$URL/v1/blockers/$ID:alarm:site-down/override"
wait_state "$ID" succeeded 20 && t_pass "the overridden stage ran" || t_fail "ovr1"
t_http 200 "tree" "${READ[@]}" "$URL/v1/executions/$ID"
[ "$(jq -r '.overrides[0].used' <<<"$T_BODY")" = true ] && t_pass "override used up" ||
    t_fail "overrides: $(jq -c .overrides <<<"$T_BODY")"
t_http 200 "audit" "${READ[@]}" "$URL/v1/audit"
t_contains "override audited" '"execution.override"'
ID2=$(trigger plain ovr2)
for i in $(seq 1 50); do [ "$(state "$ID2")" = blocked ] && break; sleep 0.1; done
[ "$(state "$ID2")" = blocked ] && t_pass "an override is for one execution only" ||
    t_fail "ovr2 $(state "$ID2")"
push site-down ok "green" >/dev/null
wait_state "$ID2" succeeded 20 && t_pass "ovr2 ran once clear" || t_fail "ovr2"

# --- 6. a hold blocks every pipeline of a service ---------------------------------
t_http 400 "hold without reason" "${DEPLOY[@]}" -X POST --data '{"scope":"service","name":"shop"}' "$URL/v1/holds"
t_http 400 "hold with a bad scope" "${DEPLOY[@]}" -X POST --data '{"scope":"galaxy","name":"x","reason":"r"}' "$URL/v1/holds"
t_http 201 "hold shop" "${DEPLOY[@]}" -X POST \
    --data '{"scope":"service","name":"shop","reason":"incident 4711"}' "$URL/v1/holds"
HOLD=$(jq -r .id <<<"$T_BODY")
IA=$(trigger plain held1)
IB=$(trigger guarded held2)
sleep 1.5
[ "$(state "$IA")" = blocked ] && [ "$(state "$IB")" = blocked ] &&
    t_pass "both pipelines of shop held" || t_fail "held: $(state "$IA") $(state "$IB")"
t_http 200 "blockers" "${READ[@]}" "$URL/v1/blockers"
[ "$(jq -r ".blockers[] | select(.execution==$IA) | .kind" <<<"$T_BODY")" = hold ] &&
    t_pass "the hold is listed" || t_fail "blockers: $(jq -c . <<<"$T_BODY")"
t_contains "the hold is in holds" '"reason":"incident 4711"'
t_http 200 "lift" "${DEPLOY[@]}" -X DELETE --data '{"reason":"resolved"}' "$URL/v1/holds/$HOLD"
t_http 409 "lift again" "${DEPLOY[@]}" -X DELETE "$URL/v1/holds/$HOLD"
t_http 404 "lift unknown" "${DEPLOY[@]}" -X DELETE "$URL/v1/holds/999999"
t_http 400 "lift a bad id" "${DEPLOY[@]}" -X DELETE "$URL/v1/holds/abc"
t_contains "the error names a hold id" "hold id must be a positive integer"
wait_state "$IA" succeeded 20 && t_pass "plain ran after the lift" || t_fail "held1"
wait_state "$IB" succeeded 30 && t_pass "guarded ran after the lift" || t_fail "held2"

# --- 7. a closed window blocks until it opens --------------------------------------
# windowed (put over the API): may only start in a window opening a few
# seconds from now
OPEN_AT=$(($(date +%s) + 6))
H=$(date -u -d "@$OPEN_AT" +%-H)
M=$(date -u -d "@$OPEN_AT" +%-M)
S=$(date -u -d "@$OPEN_AT" +%-S)
t_http 201 "put windowed" -H "Authorization: Bearer admin-token" \
    -H "Content-Type: application/yaml" -X PUT --data-binary @- \
    "$URL/v1/pipelines/windowed" <<YAML
pipeline: windowed
service: batch
source: application
review: {required: false}
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
windows:
  allow: [{rrule: 'FREQ=DAILY;BYHOUR=$H;BYMINUTE=$M;BYSECOND=$S',
           duration: 1h, timezone: UTC}]
stages:
  - {name: build, type: build}
  - {name: nightly, type: deploy, groups: [{name: g, targets: [w1]}]}
YAML
IC=$(trigger windowed night1)
sleep 1.5
if [ "$(date +%s)" -lt "$OPEN_AT" ]; then
	[ "$(state "$IC")" = blocked ] && t_pass "window closed: blocked" || t_fail "window: $(state "$IC")"
	t_http 200 "tree" "${READ[@]}" "$URL/v1/executions/$IC"
	[ "$(jq -r '.blockers[0].until' <<<"$T_BODY")" = "$((OPEN_AT * 1000))" ] &&
	    t_pass "it says when the window opens" || t_fail "until: $(jq -c .blockers <<<"$T_BODY")"
else
	t_log "the window opened before it could be observed closed (slow machine)"
fi
wait_state "$IC" succeeded 30 && t_pass "started when the window opened" || t_fail "windowed"
[ "$(date +%s)" -ge "$OPEN_AT" ] && t_pass "not before it opened" || t_fail "ran early"

# --- 8. a Prometheus that does not answer ------------------------------------------
ID=$(trigger promfail p1)
IP=$(trigger plain during-promfail)
wait_state "$IP" succeeded 20 && t_pass "other pipelines go on" || t_fail "plain stalled"
wait_state "$ID" rolled_back 30 && t_pass "no data fails the bake it guards" || t_fail "promfail"
t_http 200 "tree" "${READ[@]}" "$URL/v1/executions/$ID"
t_contains "the reason says insufficient data" 'insufficient data'
t_http 200 "metrics" "$URL/metrics"
n=$(sed -n 's/^gantry_alarm_source_errors_total{alarm="latency"} \([0-9]*\).*/\1/p' <<<"$T_BODY")
[ "${n:-0}" -ge 2 ] && t_pass "source errors counted ($n)" || t_fail "source errors: ${n:-none}"
t_http 200 "healthz still answers" "$URL/healthz"

# --- 9. a command probe ----------------------------------------------------------------
alarm_state() { curl -s "${READ[@]}" "$URL/v1/alarms" | jq -r ".alarms[] | select(.name==\"$1\") | .state"; }
for i in $(seq 1 50); do [ "$(alarm_state health)" = ok ] && break; sleep 0.1; done
[ "$(alarm_state health)" = ok ] && t_pass "the probe says healthy" || t_fail "health: $(alarm_state health)"
echo 0.2 >"$FLEET/health"
for i in $(seq 1 50); do [ "$(alarm_state health)" = alarm ] && break; sleep 0.1; done
[ "$(alarm_state health)" = alarm ] && t_pass "the probe's alarm fires" || t_fail "health: $(alarm_state health)"
ID=$(trigger probed pr1)
for i in $(seq 1 50); do [ "$(state "$ID")" = blocked ] && break; sleep 0.1; done
[ "$(state "$ID")" = blocked ] && t_pass "its stage is blocked" || t_fail "probed: $(state "$ID")"
echo 1 >"$FLEET/health"
wait_state "$ID" succeeded 20 && t_pass "healthy again: it runs" || t_fail "probed"

# --- 10. a restart keeps a pushed alarm open ----------------------------------------
push errors alarm "still bad" >/dev/null
kill "$GANTRYD_PID"
wait "$GANTRYD_PID" 2>/dev/null
t_start_gantryd "$CONF"
t_wait_ready 15 || t_fail "not ready after restart"
sleep 0.5
t_http 200 "alarms after restart" "${READ[@]}" "$URL/v1/alarms"
[ "$(jq -r '.alarms[] | select(.name=="errors") | .state' <<<"$T_BODY")" = alarm ] &&
    t_pass "the pushed alarm is still open" || t_fail "errors: $(jq -c . <<<"$T_BODY")"

t_finish
