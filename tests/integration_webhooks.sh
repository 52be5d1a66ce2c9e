#!/bin/bash
# Integration test of the code review webhooks: real HTTP requests to a
# real gantryd on a real PostgreSQL.  A signed GitHub push starts every
# pipeline following the branch; the same delivery replayed starts
# nothing; a body altered by one byte is refused with 401; an unreviewed
# commit is rejected (after review.wait); an approved one deploys; a self
# approval does not count; GitLab and Gerrit the same way with their
# tokens; notifications arrive at a local HTTP receiver, retried.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

t_setup
PDIR="$T_DIR/pipelines"
FLEET="$T_DIR/fleet"
FIX="$top_srcdir/tests/data/webhooks"
SINK_BIN="${top_builddir:-$top_srcdir}/tests/http_sink"
mkdir -p "$PDIR/hooks" "$FLEET"

# the notification receiver refuses its first message (a retry delivers it)
"$SINK_BIN" --out "$T_DIR/notified" --port-file "$T_DIR/sink.port" --fail 1 &
SINK_PID=$!
trap 'kill $SINK_PID 2>/dev/null; t_cleanup' EXIT
for i in $(seq 1 50); do [ -s "$T_DIR/sink.port" ] && break; sleep 0.1; done
SINK="http://127.0.0.1:$(cat "$T_DIR/sink.port")"

cat >"$PDIR/hooks/build" <<'SH'
#!/bin/sh
printf 'artifact of %s\n' "$GANTRY_REVISION" >"$GANTRY_OUT"
SH
cat >"$PDIR/hooks/deploy" <<'SH'
#!/bin/sh
printf '%s %s\n' "$GANTRY_REVISION" "$GANTRY_VERSION" >"$FLEET/$GANTRY_TARGET"
SH
cat >"$PDIR/hooks/rollback" <<'SH'
#!/bin/sh
rm -f "$FLEET/$GANTRY_TARGET"
SH
chmod +x "$PDIR"/hooks/*
sed -i "s|\$FLEET|$FLEET|g" "$PDIR"/hooks/*

pipeline() { # NAME SOURCE-KIND REPOSITORY REVIEW-REQUIRED TARGET [EXTRA]
	cat >"$PDIR/$1.yaml" <<YAML
pipeline: $1
service: orders
source: {kind: $2, repository: $3, branch: main}
review: {required: $4, min_approvals: 1, wait: 3s}
concurrency: queue
hooks: {build: hooks/build, deploy: hooks/deploy, rollback: hooks/rollback}
${6:-}
stages:
  - {name: build, type: build}
  - {name: prod, type: deploy, groups: [{name: g, targets: [$5]}]}
YAML
}
pipeline gh-app application acme/orders true t-gh "notifications: {webhook: '$SINK/notify', timeout: 2s}"
pipeline gh-cfg config acme/orders false t-cfg
pipeline gl-app application shop/orders true t-gl
pipeline gr-app application platform/orders true t-gr
pipeline other application acme/other true t-other

CONF="$T_DIR/gantryd.conf"
t_write_config "$CONF" "pipelines_dir: $PDIR" "github_secret: 'It''s a s3cret'" \
    "gitlab_token: gl-t0ken" "gerrit_token: gr-t0ken" \
    "public_url: https://gantry.example"
READ=(-H "Authorization: Bearer read-token")
t_start_gantryd "$CONF"
t_wait_ready 15 && t_pass "ready" || t_fail "never ready"
sleep 0.5

state() { t_state "$1"; }
wait_state() { t_wait_state "$@"; }
count() { curl -s "${READ[@]}" "$URL/v1/executions?pipeline=$1&limit=100" | jq '.executions | length'; }
# gh EVENT FILE DELIVERY: a delivery signed as GitHub does
gh() {
	local sig
	sig=$(openssl dgst -sha256 -hmac "It's a s3cret" -hex <"$2" | sed 's/^.* //')
	t_http "$4" "github $1 $3" -H "Content-Type: application/json" \
	    -H "X-GitHub-Event: $1" -H "X-GitHub-Delivery: $3" \
	    -H "X-Hub-Signature-256: sha256=$sig" --data-binary @"$2" \
	    "$URL/v1/hooks/github"
}
executions_of() { jq -r ".triggered[] | select(.pipeline==\"$1\") | .execution" <<<"$T_BODY"; }

# --- 1. a signed push starts every pipeline following the branch --------------
U1=1111111111111111111111111111111111111111
jq --arg s "$U1" '.after=$s | .head_commit.id=$s' "$FIX/github/push.json" >"$T_DIR/push1.json"
gh push "$T_DIR/push1.json" d-1 202
APP1=$(executions_of gh-app)
CFG1=$(executions_of gh-cfg)
[ -n "$APP1" ] && [ -n "$CFG1" ] && t_pass "both pipelines of acme/orders main triggered" ||
    t_fail "triggered: $T_BODY"
[ -z "$(executions_of other)" ] && t_pass "a pipeline of another repository is not" || t_fail "other triggered"
wait_state "$CFG1" succeeded 30 && t_pass "the unreviewed config pipeline deploys" || t_fail "gh-cfg"
[ "$(cut -d' ' -f1 "$FLEET/t-cfg")" = "$U1" ] && t_pass "it deployed the pushed commit" || t_fail "t-cfg: $(cat "$FLEET/t-cfg")"

# --- 2. the same delivery replayed starts nothing ---------------------------------
gh push "$T_DIR/push1.json" d-1 200
t_contains "replay answered as a duplicate" '"duplicate":true'
[ "$(count gh-cfg)" = 1 ] && t_pass "no second execution" || t_fail "executions: $(count gh-cfg)"

# --- 3. a body altered by one byte is refused ---------------------------------------
sig=$(openssl dgst -sha256 -hmac "It's a s3cret" -hex <"$T_DIR/push1.json" | sed 's/^.* //')
sed 's/mhansen/mhanseN/' "$T_DIR/push1.json" >"$T_DIR/push1-altered.json"
cmp -s "$T_DIR/push1.json" "$T_DIR/push1-altered.json" && t_fail "the test did not alter the body"
t_http 401 "altered body" -H "Content-Type: application/json" -H "X-GitHub-Event: push" \
    -H "X-GitHub-Delivery: d-2" -H "X-Hub-Signature-256: sha256=$sig" \
    --data-binary @"$T_DIR/push1-altered.json" "$URL/v1/hooks/github"
t_http 401 "no signature" -H "Content-Type: application/json" -H "X-GitHub-Event: push" \
    --data-binary @"$T_DIR/push1.json" "$URL/v1/hooks/github"
t_http 200 "metrics" "$URL/metrics"
t_contains "refusals counted" 'gantry_webhook_rejected_total{source="github"} 2'

# --- 4. the unreviewed commit is rejected ----------------------------------------------
wait_state "$APP1" rejected 30 && t_pass "unreviewed commit rejected" || t_fail "gh-app $APP1"
t_http 200 "tree" "${READ[@]}" "$URL/v1/executions/$APP1"
t_contains "the reason names the revision" "revision $U1 of acme/orders has 0 of the 1 approvals"
[ ! -e "$FLEET/t-gh" ] && t_pass "nothing deployed" || t_fail "t-gh deployed"

# --- 5. approved on the pull request, merged, pushed: deploys -------------------------
gh pull_request_review "$FIX/github/pull_request_review-approved.json" d-3 202
t_contains "approval recorded" '"kind":"approved"'
gh pull_request "$FIX/github/pull_request-merged.json" d-4 202
M=$(jq -r .pull_request.merge_commit_sha "$FIX/github/pull_request-merged.json")
jq --arg s "$M" '.after=$s | .head_commit.id=$s' "$FIX/github/push.json" >"$T_DIR/push2.json"
gh push "$T_DIR/push2.json" d-5 202
APP2=$(executions_of gh-app)
wait_state "$APP2" succeeded 30 && t_pass "the approved merge deploys" || t_fail "gh-app $APP2"
[ "$(cut -d' ' -f1 "$FLEET/t-gh")" = "$M" ] && t_pass "t-gh runs the merge commit" || t_fail "t-gh: $(cat "$FLEET/t-gh")"

# --- 6. a self approval does not count ----------------------------------------------------
# pull request 999, approved by its own author only
SELF=999
S1=2222222222222222222222222222222222222222
jq --argjson n "$SELF" '.number=$n | .pull_request.number=$n' \
    "$FIX/github/pull_request_review-self-approved.json" >"$T_DIR/review-self.json"
gh pull_request_review "$T_DIR/review-self.json" d-6 202
jq --argjson n "$SELF" --arg m "$S1" \
    '.number=$n | .pull_request.number=$n | .pull_request.merge_commit_sha=$m |
     .pull_request.user=(.pull_request.user | .login="'"$(jq -r .review.user.login "$FIX/github/pull_request_review-self-approved.json")"'")' \
    "$FIX/github/pull_request-merged.json" >"$T_DIR/merged-self.json"
gh pull_request "$T_DIR/merged-self.json" d-7 202
jq --arg s "$S1" '.after=$s | .head_commit.id=$s' "$FIX/github/push.json" >"$T_DIR/push3.json"
gh push "$T_DIR/push3.json" d-8 202
APP3=$(executions_of gh-app)
wait_state "$APP3" rejected 30 && t_pass "a self-approved change is rejected" || t_fail "gh-app $APP3"
t_http 200 "tree" "${READ[@]}" "$URL/v1/executions/$APP3"
t_contains "the reason says why" "its author's own approval does not count"

# --- 7. events gantry does not act on ---------------------------------------------------------
gh issues "$FIX/github/issues.json" d-9 202
t_contains "ignored" '"kind":"ignored"'

# --- 8. GitLab ------------------------------------------------------------------------------------
gl() { # EVENT FILE UUID TOKEN STATUS
	t_http "$5" "gitlab $1 $3" -H "Content-Type: application/json" -H "X-Gitlab-Event: $1" \
	    -H "X-Gitlab-Event-UUID: $3" -H "X-Gitlab-Token: $4" --data-binary @"$2" \
	    "$URL/v1/hooks/gitlab"
}
gl "Push Hook" "$FIX/gitlab/push.json" g-0 wrong 401
gl "Merge Request Hook" "$FIX/gitlab/mr-approved.json" g-1 gl-t0ken 202
gl "Merge Request Hook" "$FIX/gitlab/mr-merge.json" g-2 gl-t0ken 202
GM=$(jq -r .object_attributes.merge_commit_sha "$FIX/gitlab/mr-merge.json")
jq --arg s "$GM" '.after=$s | .checkout_sha=$s | .commits[-1].id=$s' "$FIX/gitlab/push.json" >"$T_DIR/gl-push.json"
gl "Push Hook" "$T_DIR/gl-push.json" g-3 gl-t0ken 202
GL=$(executions_of gl-app)
wait_state "$GL" succeeded 30 && t_pass "GitLab: the approved merge deploys" || t_fail "gl-app $GL"

# --- 9. Gerrit (the webhooks plugin cannot sign: a token in the URL) ---------------------------------
gr() { # FILE QUERY STATUS
	t_http "$3" "gerrit $(jq -r .type "$1")" -H "Content-Type: application/json" \
	    --data-binary @"$1" "$URL/v1/hooks/gerrit$2"
}
gr "$FIX/gerrit/ref-updated.json" "?token=nope" 401
gr "$FIX/gerrit/comment-added-cr2.json" "?token=gr-t0ken" 202
gr "$FIX/gerrit/change-merged.json" "?token=gr-t0ken" 202
t_http 202 "gerrit ref-updated (bearer)" -H "Content-Type: application/json" \
    -H "Authorization: Bearer gr-t0ken" --data-binary @"$FIX/gerrit/ref-updated.json" \
    "$URL/v1/hooks/gerrit"
GR=$(executions_of gr-app)
wait_state "$GR" succeeded 30 && t_pass "Gerrit: Code-Review +2, merged: deploys" || t_fail "gr-app $GR"

# --- 10. notifications ------------------------------------------------------------------------------
for i in $(seq 1 100); do
	grep -q '"outcome":"succeeded"' "$T_DIR/notified" 2>/dev/null && break
	sleep 0.1
done
grep -q '^# refused' "$T_DIR/notified" && t_pass "the receiver refused one message" || t_fail "no refusal"
n=$(grep -c "\"execution\":$APP1," "$T_DIR/notified")
grep -q "\"execution\":$APP1,.*\"outcome\":\"blocked\"" "$T_DIR/notified" &&
    t_pass "blocked notified (delivered on retry)" || t_fail "no blocked message: $(cat "$T_DIR/notified")"
grep -q "\"execution\":$APP1,.*\"outcome\":\"rejected\"" "$T_DIR/notified" &&
    t_pass "rejected notified" || t_fail "no rejected message"
grep -q "\"execution\":$APP2,.*\"outcome\":\"succeeded\".*\"link\":\"https://gantry.example/v1/executions/$APP2\"" "$T_DIR/notified" &&
    t_pass "succeeded notified with a link" || t_fail "no succeeded message: $(cat "$T_DIR/notified")"
t_http 200 "metrics" "$URL/metrics"
t_contains "notifications counted" 'gantry_notifications_total{outcome="sent"}'

t_finish
