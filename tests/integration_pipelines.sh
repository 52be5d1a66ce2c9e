#!/bin/bash
# Integration test of pipelines as code in a real gantryd on a real
# PostgreSQL: files of pipelines_dir are loaded and stored as versions; a
# broken edit plus SIGHUP keeps the old version serving and reports the
# error; a fixed edit makes version 2 while ?version=1 still returns the
# old one; unchanged files make no new version; PUT creates and versions
# API pipelines; versions survive a restart.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

t_setup
mkdir -p "$T_DIR/ex"
cp -r "$top_srcdir/examples/pipelines" "$top_srcdir/examples/calendars" "$T_DIR/ex/"
PDIR="$T_DIR/ex/pipelines"
CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR"
ADMIN=(-H "Authorization: Bearer admin-token")
READ=(-H "Authorization: Bearer read-token")

t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "ready" || t_fail "never ready"
sleep 0.5 # the initial load is stored right after the migrations

t_http 200 "list pipelines" "${READ[@]}" "$URL/v1/pipelines"
n=$(printf %s "$T_BODY" | grep -o '"name":"orders-[a-z-]*"' | wc -l)
[ "$n" -eq 5 ] && t_pass "five example pipelines loaded" || t_fail "loaded $n pipelines: $T_BODY"
t_contains "versions stored" '"current_version":1'
case "$T_BODY" in *'"valid":false'*) t_fail "an example is invalid: $T_BODY" ;; *) t_pass "all examples valid" ;; esac

t_http 200 "get orders-app" "${READ[@]}" "$URL/v1/pipelines/orders-app"
t_contains "definition served" '"definition":{'
t_contains "templates merged into the definition" '"hooks":{'
t_http 404 "unknown pipeline" "${READ[@]}" "$URL/v1/pipelines/nope"
t_http 401 "pipelines need a token" "$URL/v1/pipelines"

# A broken edit: the last good version keeps serving, the error is shown.
APP="$PDIR/orders-app.yaml"
cp "$APP" "$T_DIR/orders-app.good"
echo "bogus_key: 1" >>"$APP"
kill -HUP "$GANTRYD_PID"
sleep 0.5
t_http 200 "get after broken edit" "${READ[@]}" "$URL/v1/pipelines/orders-app"
t_contains "error reported with file and path" 'orders-app.yaml:bogus_key: unknown key'
t_contains "old version still current" '"current_version":1'
t_contains "old definition still valid" '"valid":true'
t_contains "log names the error" "orders-app.yaml:bogus_key" "$(cat "$T_DIR/gantryd.log")"

# A real change: version 2; version 1 still readable.
sed 's/^service: orders$/service: orders\nconcurrency: queue/' "$T_DIR/orders-app.good" >"$APP"
grep -q '^concurrency: queue' "$APP" || echo "concurrency: queue" >>"$APP"
t_http 200 "reload over the API" -X POST "${ADMIN[@]}" "$URL/v1/reload"
t_contains "reload summarises pipelines" '"pipelines":{'
sleep 0.3
t_http 200 "get after fix" "${READ[@]}" "$URL/v1/pipelines/orders-app"
t_contains "new version 2" '"current_version":2'
t_contains "errors cleared" '"errors":[]'
t_http 200 "get version 1" "${READ[@]}" "$URL/v1/pipelines/orders-app?version=1"
t_contains "version 1 is the old definition" '"version":1'
case "$T_BODY" in *'"queue"'*) t_fail "version 1 has the new change" ;; *) t_pass "version 1 unchanged" ;; esac
t_http 200 "get version 2" "${READ[@]}" "$URL/v1/pipelines/orders-app?version=2"
t_contains "version 2 has the change" '"concurrency":"queue"'
t_http 404 "missing version" "${READ[@]}" "$URL/v1/pipelines/orders-app?version=9"
t_http 400 "bad version" "${READ[@]}" "$URL/v1/pipelines/orders-app?version=x"

# Unchanged files: no new version.
kill -HUP "$GANTRYD_PID"
sleep 0.5
t_http 200 "get after no-op reload" "${READ[@]}" "$URL/v1/pipelines/orders-app"
t_contains "still version 2" '"current_version":2'

# PUT: API-defined pipelines.
cat >"$T_DIR/api.json" <<JSON
{"pipeline": "api-made", "service": "orders", "source": "config", "extends": "service-defaults",
 "stages": [{"name": "beta", "type": "deploy", "groups": [{"name": "beta", "targets": ["b1", "b2"]}]}]}
JSON
t_http 201 "PUT creates version 1" -X PUT "${ADMIN[@]}" -H "Content-Type: application/json" \
    --data-binary "@$T_DIR/api.json" "$URL/v1/pipelines/api-made"
t_contains "PUT says version 1" '"version":1'
t_http 200 "PUT unchanged" -X PUT "${ADMIN[@]}" -H "Content-Type: application/json" \
    --data-binary "@$T_DIR/api.json" "$URL/v1/pipelines/api-made"
t_contains "no new version" '"created":false'
cat >"$T_DIR/api.yaml" <<YAML
pipeline: api-made
service: orders
source: config
extends: service-defaults
stages:
  - {name: beta, type: deploy, groups: [{name: beta, targets: [b1, b2, b3]}]}
YAML
t_http 201 "PUT YAML makes version 2" -X PUT "${ADMIN[@]}" -H "Content-Type: application/yaml" \
    --data-binary "@$T_DIR/api.yaml" "$URL/v1/pipelines/api-made"
t_contains "PUT says version 2" '"version":2'
t_http 200 "version 1 of the API pipeline" "${READ[@]}" "$URL/v1/pipelines/api-made?version=1"
case "$T_BODY" in *'"b3"'*) t_fail "version 1 changed" ;; *) t_pass "version 1 kept" ;; esac
t_http 403 "PUT needs admin" -X PUT "${READ[@]}" -H "Content-Type: application/json" \
    --data-binary "@$T_DIR/api.json" "$URL/v1/pipelines/api-made"
t_http 415 "PUT as text/plain" -X PUT "${ADMIN[@]}" -H "Content-Type: text/plain" \
    --data-binary "@$T_DIR/api.json" "$URL/v1/pipelines/api-made"
t_http 409 "PUT over a file pipeline" -X PUT "${ADMIN[@]}" -H "Content-Type: application/json" \
    --data-binary "@$T_DIR/api.json" "$URL/v1/pipelines/orders-app"
t_http 422 "PUT with another name" -X PUT "${ADMIN[@]}" -H "Content-Type: application/json" \
    --data-binary "@$T_DIR/api.json" "$URL/v1/pipelines/other-name"
t_contains "422 explains the name" 'differs from the URL'
printf '{"pipeline":"bad","service":"orders","source":"config","stages":[{"name":"x","type":"deploy","groups":[]}],"colour":1}' >"$T_DIR/bad.json"
t_http 422 "PUT an invalid pipeline" -X PUT "${ADMIN[@]}" -H "Content-Type: application/json" \
    --data-binary "@$T_DIR/bad.json" "$URL/v1/pipelines/bad"
t_contains "422 lists every error" '"details":["PUT /v1/pipelines/bad:'
t_contains "422 names the unknown key" 'colour: unknown key'
t_http 400 "PUT malformed JSON" -X PUT "${ADMIN[@]}" -H "Content-Type: application/json" \
    --data '{"pipeline":' "$URL/v1/pipelines/bad"

t_http 200 "audit lists new versions" "${READ[@]}" "$URL/v1/audit?limit=50"
t_contains "audit pipeline.version" '"action":"pipeline.version"'

# Restart: versions persist and nothing new is created.
kill -TERM "$GANTRYD_PID"
wait "$GANTRYD_PID"
GANTRYD_PID=
t_start_gantryd "$CONF"
t_wait_ready 15 || t_fail "not ready after restart"
sleep 0.5
t_http 200 "list after restart" "${READ[@]}" "$URL/v1/pipelines/orders-app"
t_contains "orders-app still version 2" '"current_version":2'
n=$(psql -X -A -t -d "$PG_CONN" -c "SELECT count(*) FROM pipeline_versions WHERE pipeline = 'orders-app'")
[ "$n" = 2 ] && t_pass "exactly two stored versions" || t_fail "$n stored versions"

t_finish
