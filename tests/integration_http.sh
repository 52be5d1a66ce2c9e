#!/bin/bash
# Integration test of the foundation: a real gantryd against a real
# PostgreSQL.  Endpoints, auth and roles, body checks, reload with audit,
# readiness across a PostgreSQL stop/start (reconnect), migrations applied
# once, a failed migration rolled back, and a drain on SIGTERM that
# finishes the request in flight.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

t_setup
CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF"

# --- migrations: first run applies, second applies nothing ---------------
${GANTRYD_WRAPPER:-} "$GANTRYD" --config "$CONF" --migrate-only >"$T_DIR/migrate1.log" 2>&1
rc=$?
[ $rc -eq 0 ] && t_pass "--migrate-only exits 0" || t_fail "--migrate-only exit $rc"
t_contains "first run applies 001" "event=db.migrate version=1" "$(cat "$T_DIR/migrate1.log")"
${GANTRYD_WRAPPER:-} "$GANTRYD" --config "$CONF" --migrate-only >"$T_DIR/migrate2.log" 2>&1
t_contains "second run is current" "event=db.schema_current" "$(cat "$T_DIR/migrate2.log")"
if grep -q "event=db.migrate " "$T_DIR/migrate2.log"; then
	t_fail "second run applied a migration again"
else
	t_pass "second run applies nothing"
fi

# --- config checks ----------------------------------------------------------
${GANTRYD_WRAPPER:-} "$GANTRYD" --config "$CONF" --check-config >/dev/null 2>&1 &&
    t_pass "--check-config accepts a good file" || t_fail "--check-config rejected a good file"
printf 'databse: x\nlisten: nope\n' >"$T_DIR/bad.conf"
out=$(${GANTRYD_WRAPPER:-} "$GANTRYD" --config "$T_DIR/bad.conf" --check-config 2>&1)
rc=$?
[ $rc -eq 2 ] && t_pass "bad config exits 2" || t_fail "bad config exit $rc"
t_contains "bad key named with a hint" "bad.conf:databse: unknown key (did you mean \"database\"?)" "$out"
t_contains "all errors at once" "bad.conf:listen:" "$out"

# --- endpoints ------------------------------------------------------------------
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "readyz becomes 200" || t_fail "readyz never became 200"
t_http 200 "healthz" "$URL/healthz"
t_contains "healthz body" '"status":"ok"'
t_http 200 "readyz" "$URL/readyz"
t_contains "readyz schema version" '"schema_version":'
t_http 200 "metrics" "$URL/metrics"
t_contains "metrics build info" 'gantry_build_info{version="'
t_contains "metrics db up" 'gantry_db_up 1'
t_contains "metrics requests by route" 'gantry_http_requests_total{route="/healthz",method="GET",status="200"} 1'
t_contains "metrics latency histogram" 'gantry_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}'

t_http 401 "audit without token" "$URL/v1/audit"
t_contains "401 error body" '"code":"unauthorized"'
t_http 401 "audit with unknown token" -H "Authorization: Bearer nope" "$URL/v1/audit"
t_http 200 "audit with read token" -H "Authorization: Bearer read-token" "$URL/v1/audit"
t_contains "audit is a list" '"entries":[]'
t_http 400 "audit bad limit" -H "Authorization: Bearer read-token" "$URL/v1/audit?limit=0"
t_http 404 "unknown path" "$URL/v1/nothing-here"
t_contains "404 error body" '"code":"not_found"'
t_http 405 "wrong method" -X DELETE "$URL/healthz"

t_http 403 "reload with read role" -X POST -H "Authorization: Bearer read-token" "$URL/v1/reload"
t_contains "403 names the role" 'lacks the role admin'
t_http 403 "reload with deploy role" -X POST -H "Authorization: Bearer deploy-token" "$URL/v1/reload"
t_http 415 "reload with text/plain" -X POST -H "Authorization: Bearer admin-token" \
    -H "Content-Type: text/plain" --data 'hello' "$URL/v1/reload"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$T_DIR/big.json"
t_http 413 "reload with 2 MB body" -X POST -H "Authorization: Bearer admin-token" \
    -H "Content-Type: application/json" --data-binary "@$T_DIR/big.json" "$URL/v1/reload"
t_http 413 "chunked body over the limit" -X POST -H "Authorization: Bearer admin-token" \
    -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" \
    --data-binary "@$T_DIR/big.json" "$URL/v1/reload"
t_http 400 "reload with bad JSON" -X POST -H "Authorization: Bearer admin-token" \
    -H "Content-Type: application/json" --data '{"reason":' "$URL/v1/reload"
t_http 200 "reload as admin" -X POST -H "Authorization: Bearer admin-token" \
    -H "Content-Type: application/json" --data '{"reason":"integration test"}' "$URL/v1/reload"
t_http 200 "audit after reload" -H "Authorization: Bearer read-token" "$URL/v1/audit"
t_contains "audit names the actor" '"actor":"token:admin"'
t_contains "audit keeps the reason" '"reason":"integration test"'

# An invalid file is rejected as a whole and the old config stays.
cp "$CONF" "$CONF.good"
echo "log_levl: debug" >>"$CONF"
t_http 422 "reload of an invalid file" -X POST -H "Authorization: Bearer admin-token" "$URL/v1/reload"
t_contains "422 details name file and key" "gantryd.conf:log_levl: unknown key"
t_http 200 "old tokens still work" -H "Authorization: Bearer read-token" "$URL/v1/audit"
cp "$CONF.good" "$CONF"

# SIGHUP re-reads the file: a token removed from it stops working.
sed -i '/name: reader/d' "$CONF"
kill -HUP "$GANTRYD_PID"
sleep 0.5
t_http 401 "SIGHUP dropped the removed token" -H "Authorization: Bearer read-token" "$URL/v1/audit"
cp "$CONF.good" "$CONF"
kill -HUP "$GANTRYD_PID"
sleep 0.5
t_http 200 "SIGHUP restored the token" -H "Authorization: Bearer read-token" "$URL/v1/audit"

# --- PostgreSQL down and back: 503, then 200 after reconnecting ------------
"$PGSCRIPT" stop "$T_DIR/db" 2>/dev/null
t_http 503 "readyz while PostgreSQL is stopped" "$URL/readyz"
t_contains "503 says the database is unreachable" "database unreachable"
t_http 503 "audit while PostgreSQL is stopped" -H "Authorization: Bearer read-token" "$URL/v1/audit"
t_http 200 "healthz while PostgreSQL is stopped" "$URL/healthz"
"$PGSCRIPT" start "$T_DIR/db" >/dev/null 2>&1
t_wait_ready 20 && t_pass "readyz 200 again after PostgreSQL restarts" ||
    t_fail "gantryd did not reconnect"
t_http 200 "metrics after reconnect" "$URL/metrics"
t_contains "reconnects counted" "gantry_db_reconnects_total"

# --- drain: SIGTERM waits for the request in flight ----------------------
backend=$(psql -X -A -t -d "$PG_CONN" -c \
    "SELECT pid FROM pg_stat_activity WHERE application_name = 'gantryd' LIMIT 1")
if [ -z "$backend" ]; then
	t_fail "cannot find gantryd's backend"
else
	kill -STOP "$backend"
	curl -s -o "$T_DIR/inflight" -w '%{http_code}' "$URL/readyz" >"$T_DIR/inflight.code" &
	curl_pid=$!
	sleep 0.5
	kill -TERM "$GANTRYD_PID"
	sleep 0.5
	kill -0 "$GANTRYD_PID" 2>/dev/null && t_pass "gantryd waits for the request in flight" ||
	    t_fail "gantryd exited with a request in flight"
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz")
	[ "$code" = 000 ] && t_pass "no new connections while draining" ||
	    t_fail "accepted a new request while draining ($code)"
	kill -CONT "$backend"
	wait "$curl_pid"
	[ "$(cat "$T_DIR/inflight.code")" = 200 ] && t_pass "request in flight answered 200" ||
	    t_fail "request in flight got $(cat "$T_DIR/inflight.code")"
fi
wait "$GANTRYD_PID"
rc=$?
GANTRYD_PID=
[ $rc -eq 0 ] && t_pass "gantryd exits 0 after SIGTERM" || t_fail "gantryd exit status $rc"

# --- a failed migration leaves the database as it was --------------------
psql -X -q -d "$PG_CONN" -c "CREATE DATABASE broken" >/dev/null
BROKEN_CONN="${PG_CONN% dbname=*} dbname=broken"
psql -X -q -d "$BROKEN_CONN" -c "CREATE TABLE audit_log (x int)" >/dev/null
sed "s|^database: .*|database: \"$BROKEN_CONN\"|" "$CONF" >"$T_DIR/broken.conf"
${GANTRYD_WRAPPER:-} "$GANTRYD" --config "$T_DIR/broken.conf" --migrate-only >"$T_DIR/broken.log" 2>&1
rc=$?
[ $rc -eq 1 ] && t_pass "failed migration exits 1" || t_fail "failed migration exit $rc"
t_contains "error names the file" "migration 001_init.sql failed" "$(cat "$T_DIR/broken.log")"
n=$(psql -X -A -t -d "$BROKEN_CONN" -c \
    "SELECT count(*) FROM schema_migrations")
[ "$n" = 0 ] && t_pass "nothing recorded" || t_fail "schema_migrations has $n rows"
n=$(psql -X -A -t -d "$BROKEN_CONN" -c \
    "SELECT count(*) FROM pg_tables WHERE tablename = 'pipelines'")
[ "$n" = 0 ] && t_pass "partial migration rolled back" || t_fail "table pipelines was left behind"

# A database newer than the binary is refused.
psql -X -q -d "$BROKEN_CONN" -c "DROP TABLE audit_log" >/dev/null
${GANTRYD_WRAPPER:-} "$GANTRYD" --config "$T_DIR/broken.conf" --migrate-only >/dev/null 2>&1
psql -X -q -d "$BROKEN_CONN" -c \
    "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')" >/dev/null
${GANTRYD_WRAPPER:-} "$GANTRYD" --config "$T_DIR/broken.conf" --migrate-only >"$T_DIR/newer.log" 2>&1
rc=$?
[ $rc -eq 1 ] && t_pass "newer database exits 1" || t_fail "newer database exit $rc"
t_contains "newer database explained" "newer than this binary" "$(cat "$T_DIR/newer.log")"

t_finish
