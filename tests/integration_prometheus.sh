#!/bin/bash
# Integration test of the alarms against a REAL Prometheus and a REAL
# Alertmanager (Debian packages prometheus, prometheus-alertmanager),
# started here on loopback with their own storage under $T_DIR.  The fleet
# is examples/demo/fleet-target processes (one per target, controlled by
# examples/demo/fleetctl), each serving http_requests_total counters with
# the 500 share its release implies (revisions bad-* fail 30%); Prometheus
# scrapes every target each second with static labels target and fleet.
#
#  1. a good rollout: the relative canary alarm sees no errors, every bake
#     has its datapoints, the execution succeeds;
#  2. a bad one-box: the canary alarm (one-box error ratio > 2 x the rest
#     of the stage's, and > 0.1) fires during the one-box bake, the stage
#     is rolled back, the rest of the stage never gets the release;
#  3. Prometheus rule -> Alertmanager -> POST /v1/hooks/alertmanager: a
#     push alarm rolls back a one-box bake; resolved sets it ok again;
#  4. an org-wide threshold alarm (daemon config) blocks a new execution
#     while a bad target is live and lets it go once the target is fixed.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
ALERTMANAGER=${ALERTMANAGER:-/usr/bin/prometheus-alertmanager}
FLEET_TARGET="$top_builddir/examples/demo/fleet-target"
for b in "$PROMETHEUS:prometheus" "$ALERTMANAGER:prometheus-alertmanager"; do
	if [ ! -x "${b%%:*}" ]; then
		echo "SKIP: ${b%%:*} not found; install the Debian package ${b#*:}"
		exit 77
	fi
done
[ -x "$FLEET_TARGET" ] || { echo "FAIL: build $FLEET_TARGET first (make)"; exit 1; }

t_setup
PDIR="$T_DIR/pipelines"
FLEET="$T_DIR/fleet"
mkdir -p "$PDIR/hooks" "$FLEET" "$T_DIR/prometheus" "$T_DIR/alertmanager"
PROM_PID=
AM_PID=

cleanup() {
	[ -x "$FLEET/fleetctl" ] && [ -f "$FLEET/ports" ] &&
	    "$FLEET/fleetctl" stop-all >/dev/null 2>&1
	for p in $PROM_PID $AM_PID; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ "$T_FAILS" -ne 0 ]; then
		tail -n 15 "$T_DIR/prometheus.log" "$T_DIR/alertmanager.log" 2>/dev/null
	fi
	t_cleanup
}
trap cleanup EXIT

# A free loopback TCP port: nothing listens on it (/proc/net/tcp*) and none
# of the ports taken already; random, from 20000-32767 (below the kernel's
# ephemeral range, so no outgoing connection holds it either).
TAKEN=" "
free_port() {
	local p hex
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 12768))
		hex=$(printf ':%04X ' "$p")
		case $TAKEN in *" $p "*) continue ;; esac
		if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		    awk '{print $2 " "}' | grep -q "$hex"; then
			TAKEN="$TAKEN$p "
			echo "$p"
			return 0
		fi
	done
	echo "FAIL: no free port" >&2
	return 1
}

# --- the fleet ------------------------------------------------------------
# web: the canary pipeline's stage; api: the Alertmanager pipeline's; o1:
# a service outside gantry that the org-wide alarm watches.
TARGETS="web:w1 web:w2 web:w3 web:w4 api:a1 api:a2 ops:o1"
sed -e "s|@FLEET_DIR@|$FLEET|g" -e "s|@FLEET_TARGET@|$FLEET_TARGET|g" \
    "$top_srcdir/examples/demo/fleetctl" >"$FLEET/fleetctl"
chmod +x "$FLEET/fleetctl"
: >"$FLEET/ports"
SCRAPE=
for ft in $TARGETS; do
	p=$(free_port) || exit 1
	echo "${ft#*:} $p" >>"$FLEET/ports"
	SCRAPE="$SCRAPE
      - {targets: ['127.0.0.1:$p'], labels: {fleet: ${ft%%:*}, target: ${ft#*:}}}"
done
# Before gantry deploys anything every target runs v0, without errors.
for ft in $TARGETS; do
	"$FLEET/fleetctl" start "${ft#*:}" v0 --error-ratio 0 >/dev/null ||
	    { echo "FAIL: cannot start ${ft#*:}"; exit 1; }
done
t_pass "fleet of $(wc -l <"$FLEET/ports") targets runs v0"
version_of() { "$FLEET/fleetctl" version "$1"; }
pid_of() { "$FLEET/fleetctl" pid "$1"; }

# --- Prometheus -------------------------------------------------------------
PROM_PORT=$(free_port) || exit 1
AM_PORT=$(free_port) || exit 1
PROM="http://127.0.0.1:$PROM_PORT"
AM="http://127.0.0.1:$AM_PORT"
cat >"$T_DIR/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
rule_files: [rules.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: ['127.0.0.1:$AM_PORT']}]}]
scrape_configs:
  - job_name: fleet
    static_configs:$SCRAPE
EOF
# The api fleet's error ratio, per target: a page through Alertmanager,
# labelled with the gantry alarm it sets.
cat >"$T_DIR/rules.yml" <<'EOF'
groups:
  - name: gantry
    interval: 1s
    rules:
      - alert: ErrorsHigh
        expr: >
          sum by (target) (rate(http_requests_total{fleet="api",code="500"}[5s]))
          / sum by (target) (rate(http_requests_total{fleet="api"}[5s])) > 0.1
        for: 0s
        labels: {gantry_alarm: am, severity: page}
        annotations:
          summary: 'error ratio of {{ $labels.target }} is {{ $value | printf "%.2f" }}'
EOF
# resend-delay: a firing alert is sent again every 2s, so an Alertmanager
# that was not up for the first send still hears of it.
"$PROMETHEUS" --config.file="$T_DIR/prometheus.yml" \
    --storage.tsdb.path="$T_DIR/prometheus" \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    --rules.alert.resend-delay=2s --log.level=info \
    >"$T_DIR/prometheus.log" 2>&1 &
PROM_PID=$!

# ready URL SECONDS: poll until GET URL answers 200.
ready() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
# promql EXPR: the value of an instant query, or nothing.
promql() {
	curl -s -G --data-urlencode "query=$1" "$PROM/api/v1/query" |
	    jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
ready "$PROM/-/ready" 30 && t_pass "prometheus ready" || {
	t_fail "prometheus never ready"
	exit 1
}
# Every target scraped, with rates over a full window: 7 series.
for i in $(seq 1 200); do
	[ "$(promql 'count(sum by (target) (rate(http_requests_total[5s])) > 0)')" = 7 ] && break
	sleep 0.1
done
[ "$(promql 'count(sum by (target) (rate(http_requests_total[5s])) > 0)')" = 7 ] &&
    t_pass "prometheus has the rates of all 7 targets" ||
    t_fail "prometheus: $(curl -s "$PROM/api/v1/targets" | jq -c '[.data.activeTargets[] | {l: .labels.target, h: .health, e: .lastError}]')"

# --- hooks and pipelines ---------------------------------------------------------
# The artifact names the release and its error ratio; deploy keeps a copy
# (a rollback re-installs the previous one) and restarts the target's
# process with what the release implies.
cat >"$PDIR/hooks/build" <<'SH'
#!/bin/sh
case $GANTRY_REVISION in bad-*) e=0.3 ;; *) e=0 ;; esac
printf 'release=%s\nerrors=%s\n' "$GANTRY_REVISION" "$e" >"$GANTRY_OUT"
SH
cat >"$PDIR/hooks/deploy" <<'SH'
#!/bin/sh
set -eu
release=${GANTRY_ARTIFACT#file://}
v=$(sed -n 's/^release=//p' "$release")
e=$(sed -n 's/^errors=//p' "$release")
mkdir -p "$FLEET/releases"
cp "$release" "$FLEET/releases/$GANTRY_VERSION"
echo "$GANTRY_PIPELINE $GANTRY_TARGET $v" >>"$FLEET/deploy-runs"
"$FLEET/fleetctl" start "$GANTRY_TARGET" "$v" --error-ratio "$e"
"$FLEET/fleetctl" check "$GANTRY_TARGET" "$v"
SH
cat >"$PDIR/hooks/rollback" <<'SH'
#!/bin/sh
# GANTRY_VERSION: the previous release; empty: back to the v0 gantry found.
set -eu
v=v0 e=0
if [ -n "${GANTRY_VERSION:-}" ]; then
	v=$(sed -n 's/^release=//p' "$FLEET/releases/$GANTRY_VERSION")
	e=$(sed -n 's/^errors=//p' "$FLEET/releases/$GANTRY_VERSION")
fi
echo "$GANTRY_PIPELINE $GANTRY_TARGET $v ${GANTRY_VERSION:-none}" >>"$FLEET/rollback-runs"
"$FLEET/fleetctl" start "$GANTRY_TARGET" "$v" --error-ratio "$e"
"$FLEET/fleetctl" check "$GANTRY_TARGET" "$v"
SH
chmod +x "$PDIR"/hooks/*
# Hooks see only PATH, HOME and GANTRY_*: the fleet path is baked in.
sed -i "s|\$FLEET|$FLEET|g" "$PDIR"/hooks/*

# web: the relative canary alarm guards its one stage.  The floor (above
# 0.1) is higher than the whole stage's ratio with one bad box out of four
# (0.3 / 4), so what fires is the one-box vs fleet comparison.
cat >"$PDIR/web.yaml" <<'YAML'
pipeline: web
service: shop
source: application
review: {required: false}
concurrency: queue
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
hook_timeout: 30s
alarms:
  canary:
    prometheus: >-
      sum(rate(http_requests_total{fleet="web",target=~"{{target}}",code="500"}[5s]))
      / sum(rate(http_requests_total{fleet="web",target=~"{{target}}"}[5s]))
    factor: 2
    above: 0.1
    period: 1s
    datapoints: 2/3
stages:
  - {name: build, type: build}
  - name: prod
    type: deploy
    groups: [{name: g, targets: [w1, w2, w3, w4]}]
    one_box: {bake: 8s}
    bake: 2s
    alarms: [canary]
YAML
# api: only the pushed alarm guards it, with a one-box bake long enough
# for Prometheus -> Alertmanager -> gantryd.
cat >"$PDIR/api.yaml" <<'YAML'
pipeline: api
service: shop
source: application
review: {required: false}
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
hook_timeout: 30s
alarms:
  am: {push: true}
stages:
  - {name: build, type: build}
  - name: prod
    type: deploy
    groups: [{name: g, targets: [a1, a2]}]
    one_box: {bake: 60s}
    bake: 1s
    alarms: [am]
YAML
CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR" \
    "prometheus: $PROM" "metric_timeout: 900ms" \
    "alertmanager_label: gantry_alarm" \
    "alarms:" \
    "  ops-errors: {prometheus: 'sum(rate(http_requests_total{fleet=\"ops\",code=\"500\"}[5s])) / sum(rate(http_requests_total{fleet=\"ops\"}[5s]))', above: 0.05, period: 1s, datapoints: 2/3}"
DEPLOY=(-H "Authorization: Bearer deploy-token" -H "Content-Type: application/json")
READ=(-H "Authorization: Bearer read-token")
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "gantryd ready" || t_fail "gantryd never ready"

# --- Alertmanager -> gantryd ------------------------------------------------------
cat >"$T_DIR/alertmanager.yml" <<EOF
route:
  receiver: gantry
  group_by: [alertname, target]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1m
receivers:
  - name: gantry
    webhook_configs:
      - url: $URL/v1/hooks/alertmanager
        send_resolved: true
        http_config: {authorization: {credentials: deploy-token}}
EOF
"$ALERTMANAGER" --config.file="$T_DIR/alertmanager.yml" \
    --storage.path="$T_DIR/alertmanager" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
    --log.level=debug >"$T_DIR/alertmanager.log" 2>&1 &
AM_PID=$!
ready "$AM/-/ready" 30 && t_pass "alertmanager ready" || t_fail "alertmanager never ready"

state() { t_state "$1"; }
wait_state() { t_wait_state "$@"; }
trigger() { # PIPELINE REV: prints the id
	curl -s "${DEPLOY[@]}" -X POST --data "{\"revision\":\"$2\",\"reason\":\"test\"}" \
	    "$URL/v1/pipelines/$1/executions" | jq -r .id
}
wait_version() { # TARGET VERSION SECONDS
	local i
	for i in $(seq 1 $(($3 * 10))); do
		[ "$(version_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
alarm_state() { # NAME: its state in GET /v1/alarms
	curl -s "${READ[@]}" "$URL/v1/alarms" |
	    jq -r --arg n "$1" '.alarms[] | select(.name==$n) | .state'
}
wait_alarm() { # NAME STATE SECONDS
	local i
	for i in $(seq 1 $(($3 * 10))); do
		[ "$(alarm_state "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- 1. a good rollout -------------------------------------------------------------
ID=$(trigger web good-1)
wait_state "$ID" succeeded 60 && t_pass "web good-1 succeeded" || t_fail "web good-1"
V=$(for t in w1 w2 w3 w4; do version_of $t; done | tr '\n' ' ')
[ "$V" = "good-1 good-1 good-1 good-1 " ] && t_pass "w1..w4 serve good-1" ||
    t_fail "w1..w4 serve $V"
t_http 200 "tree good-1" "${READ[@]}" "$URL/v1/executions/$ID"
if jq -e '[.decisions[] | select(.kind=="alarm")] | length == 0' <<<"$T_BODY" >/dev/null; then
	t_pass "no alarm decision on a good rollout"
else
	t_fail "decisions: $(jq -c .decisions <<<"$T_BODY")"
fi

# --- 2. a bad one-box: the relative canary alarm -------------------------------------
ID=$(trigger web bad-2)
wait_version w1 bad-2 30 && t_pass "the one-box w1 got bad-2" || t_fail "w1 never got bad-2"
BADPID=$(pid_of w1)
wait_state "$ID" rolled_back 30 && t_pass "bad-2 rolled back" || t_fail "bad-2 not rolled back"
t_http 200 "tree bad-2" "${READ[@]}" "$URL/v1/executions/$ID"
REASON=$(jq -r .reason <<<"$T_BODY")
t_contains "the reason names the canary alarm" "alarm canary:" "$REASON"
D=$(jq -c '[.decisions[] | select(.kind=="alarm" and .subject=="canary")][0]' <<<"$T_BODY")
[ "$(jq -r '.detail.datapoints | length' <<<"$D")" -ge 2 ] 2>/dev/null &&
    t_pass "the canary decision has its datapoints" || t_fail "canary decision: $D"
t_contains "judged one-box against the fleet" "one-box" "$(jq -r .detail.rule <<<"$D")"
jq -e '[.detail.datapoints[].value | select(. != null and . > 0.1)] | length >= 2' \
    <<<"$D" >/dev/null && t_pass "two breaching one-box datapoints" ||
    t_fail "datapoints: $(jq -c .detail.datapoints <<<"$D")"
[ "$(version_of w1)" = good-1 ] && t_pass "w1 serves good-1 again" ||
    t_fail "w1 serves $(version_of w1)"
[ "$(pid_of w1)" != "$BADPID" ] && t_pass "w1's process was restarted" ||
    t_fail "w1 still runs process $BADPID"
grep -q "^web w1 good-1 " "$FLEET/rollback-runs" && t_pass "rollback hook ran on w1" ||
    t_fail "rollback-runs: $(cat "$FLEET/rollback-runs" 2>/dev/null)"
if grep -q "^web w[234] bad-2$" "$FLEET/deploy-runs"; then
	t_fail "the rest of the stage received bad-2: $(cat "$FLEET/deploy-runs")"
else
	t_pass "w2..w4 never received bad-2"
fi
t_http 200 "metrics" "$URL/metrics"
n=$(sed -n 's/^gantry_alarm_source_errors_total{alarm="canary"} \([0-9]*\).*/\1/p' <<<"$T_BODY")
[ "${n:-0}" -eq 0 ] && t_pass "a live Prometheus: no source errors" ||
    t_fail "canary source errors: $n"

# --- 3. Prometheus rule -> Alertmanager -> gantryd ---------------------------------------
ID=$(trigger api bad-3)
wait_version a1 bad-3 30 && t_pass "the one-box a1 got bad-3" || t_fail "a1 never got bad-3"
T0=$(date +%s)
wait_state "$ID" rolled_back 45 && t_pass "bad-3 rolled back by the alert ($(($(date +%s) - T0)) s)" ||
    t_fail "bad-3 not rolled back"
t_http 200 "tree bad-3" "${READ[@]}" "$URL/v1/executions/$ID"
t_contains "the reason is the alert's summary" "alarm am: error ratio of a1 is 0." \
    "$(jq -r .reason <<<"$T_BODY")"
[ "$(jq -r '.decisions[] | select(.kind=="alarm") | .subject' <<<"$T_BODY")" = am ] &&
    t_pass "the decision names the am alarm" ||
    t_fail "decisions: $(jq -c .decisions <<<"$T_BODY")"
[ "$(version_of a1)" = v0 ] && t_pass "a1 back on v0" || t_fail "a1 serves $(version_of a1)"
if grep -q "^api a2 bad-3$" "$FLEET/deploy-runs"; then
	t_fail "a2 received bad-3"
else
	t_pass "a2 never received bad-3"
fi
# The first deploy of a1 had no previous release to go back to.
GOT=$(sed -n 's/^api a1 [^ ]* //p' "$FLEET/rollback-runs")
BAD3=$(printf 'release=bad-3\nerrors=0.3\n' | sha256sum | cut -d' ' -f1)
if [ "$GOT" = none ]; then
	t_pass "a first deploy's rollback gets no GANTRY_VERSION"
elif [ "$GOT" = "$BAD3" ]; then
	t_fail "the rollback of a first deploy got GANTRY_VERSION=$GOT, the release it rolls back"
else
	t_fail "a1's rollback got GANTRY_VERSION=$GOT"
fi
grep -q 'receiver=gantry .*msg="Notify success"' "$T_DIR/alertmanager.log" &&
    t_pass "alertmanager notified its webhook receiver" ||
    t_fail "no delivery in alertmanager.log"
grep -q 'path="/v1/hooks/alertmanager" status=200 .*token=deployer' "$T_DIR/gantryd.log" &&
    t_pass "gantryd took it with the deploy token" ||
    t_fail "no accepted POST /v1/hooks/alertmanager in gantryd.log"
T0=$(date +%s)
wait_alarm am ok 40 && t_pass "resolved: am ok again ($(($(date +%s) - T0)) s)" ||
    t_fail "am still $(alarm_state am)"
t_http 200 "alarms" "${READ[@]}" "$URL/v1/alarms"
jq -e '.alarms[] | select(.name=="am") | .detail.source | startswith("alertmanager")' \
    <<<"$T_BODY" >/dev/null &&
    t_pass "the state came from alertmanager" ||
    t_fail "am: $(jq -c '.alarms[] | select(.name=="am")' <<<"$T_BODY")"

# --- 4. an org-wide threshold alarm blocks, then lets go ---------------------------------
"$FLEET/fleetctl" start o1 v0-broken --error-ratio 0.3 >/dev/null
wait_alarm ops-errors alarm 20 && t_pass "org-wide ops-errors firing" ||
    t_fail "ops-errors is $(alarm_state ops-errors)"
ID=$(trigger web good-4)
for i in $(seq 1 100); do [ "$(state "$ID")" = blocked ] && break; sleep 0.1; done
[ "$(state "$ID")" = blocked ] && t_pass "good-4 blocked" || t_fail "good-4 is $(state "$ID")"
t_http 200 "blockers" "${READ[@]}" "$URL/v1/blockers"
[ "$(jq -r ".blockers[] | select(.execution==$ID) | .id" <<<"$T_BODY")" = "$ID:alarm:ops-errors" ] &&
    t_pass "blocked by the org-wide alarm" || t_fail "blockers: $(jq -c . <<<"$T_BODY")"
grep -q "^web w1 good-4$" "$FLEET/deploy-runs" && t_fail "good-4 deployed while blocked" ||
    t_pass "nothing deployed while blocked"
"$FLEET/fleetctl" start o1 v0 --error-ratio 0 >/dev/null
wait_alarm ops-errors ok 20 && t_pass "ops-errors ok once o1 is fixed" ||
    t_fail "ops-errors is $(alarm_state ops-errors)"
wait_state "$ID" succeeded 40 && t_pass "good-4 went on by itself" || t_fail "good-4"
[ "$(version_of w4)" = good-4 ] && t_pass "w4 serves good-4" || t_fail "w4 serves $(version_of w4)"

t_finish
