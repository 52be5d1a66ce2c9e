# tests/lib.sh - shared helpers for gantry's integration tests (sourced).
#
# Each test gets a private PostgreSQL (scripts/pg) and a real gantryd
# listening on an ephemeral loopback port, read back from its log.
# Everything is stopped and removed on exit, pass or fail.

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
GANTRYD="$top_builddir/daemon/gantryd"
PGSCRIPT="$top_srcdir/scripts/pg"
T_NAME=$(basename "$0" .sh)
T_DIR="$top_builddir/tests/tmp/$T_NAME"
T_FAILS=0
T_PASSES=0
GANTRYD_PID=

t_log() { echo "# $*"; }

t_fail() {
	echo "FAIL: $*"
	T_FAILS=$((T_FAILS + 1))
}

t_pass() {
	echo "ok: $*"
	T_PASSES=$((T_PASSES + 1))
}

t_cleanup() {
	if [ -n "$GANTRYD_PID" ] && kill -0 "$GANTRYD_PID" 2>/dev/null; then
		kill -KILL "$GANTRYD_PID" 2>/dev/null
		wait "$GANTRYD_PID" 2>/dev/null
	fi
	"$PGSCRIPT" destroy "$T_DIR/db" >/dev/null 2>&1 || true
	if [ "$T_FAILS" -eq 0 ]; then
		rm -rf "$T_DIR"
	else
		echo "# logs kept in $T_DIR"
		[ -f "$T_DIR/gantryd.log" ] && tail -n 40 "$T_DIR/gantryd.log"
	fi
}

# t_setup: fresh dir, private PostgreSQL; sets PG_CONN.
t_setup() {
	"$PGSCRIPT" destroy "$T_DIR/db" >/dev/null 2>&1 || true
	rm -rf "$T_DIR"
	mkdir -p "$T_DIR"
	trap t_cleanup EXIT
	PG_CONN=$("$PGSCRIPT" start "$T_DIR/db") || {
		echo "FAIL: cannot start PostgreSQL"
		exit 1
	}
	t_log "database: $PG_CONN"
}

# t_token_hash TOKEN: the sha256 hex that gantryd.conf stores.
t_token_hash() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# t_write_config FILE [extra YAML lines...]
t_write_config() {
	local f=$1
	shift
	{
		echo "listen: 127.0.0.1:0"
		echo "database: \"$PG_CONN\""
		echo "log_level: debug"
		echo "state_dir: $T_DIR/state"
		[ "$(id -u)" -eq 0 ] && echo "allow_root: true"
		echo "tokens:"
		echo "  - {name: admin, sha256: $(t_token_hash admin-token), roles: [admin]}"
		echo "  - {name: reader, sha256: $(t_token_hash read-token), roles: [read]}"
		echo "  - {name: deployer, sha256: $(t_token_hash deploy-token), roles: [deploy]}"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# t_start_gantryd CONFIG: start in the foreground (backgrounded here),
# wait for the listen line; sets GANTRYD_PID, PORT, URL.
t_start_gantryd() {
	local conf=$1 i
	PORT=
	touch "$T_DIR/gantryd.log"
	local from=$(($(wc -l <"$T_DIR/gantryd.log") + 1))
	# GANTRYD_WRAPPER: e.g. valgrind (make check-valgrind)
	${GANTRYD_WRAPPER:-} "$GANTRYD" --config "$conf" --foreground \
	    >>"$T_DIR/gantryd.log" 2>&1 &
	GANTRYD_PID=$!
	for i in $(seq 1 300); do
		PORT=$(tail -n +"$from" "$T_DIR/gantryd.log" |
		    sed -n 's/.*event=http.listen addr=[^ ]* port=\([0-9]*\).*/\1/p' |
		    head -n1)
		[ -n "$PORT" ] && break
		kill -0 "$GANTRYD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "${PORT:-}" ]; then
		echo "FAIL: gantryd did not start"
		cat "$T_DIR/gantryd.log"
		exit 1
	fi
	URL="http://127.0.0.1:$PORT"
}

# t_wait_ready [SECONDS]: poll /readyz until 200.
t_wait_ready() {
	local n=$((${1:-15} * 10)) i
	for i in $(seq 1 "$n"); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] &&
		    return 0
		sleep 0.1
	done
	return 1
}

# t_http EXPECTED_STATUS NAME curl-args...: one request; the body is left
# in $T_BODY.
t_http() {
	local want=$1 name=$2 code
	shift 2
	code=$(curl -s -o "$T_DIR/body" -w '%{http_code}' "$@")
	T_BODY=$(cat "$T_DIR/body" 2>/dev/null)
	if [ "$code" = "$want" ]; then
		t_pass "$name ($code)"
	else
		t_fail "$name: expected HTTP $want, got $code: $T_BODY"
	fi
}

# t_contains NAME NEEDLE [HAYSTACK]: HAYSTACK defaults to $T_BODY.
t_contains() {
	local name=$1 needle=$2 hay=${3-$T_BODY}
	case "$hay" in
	*"$needle"*) t_pass "$name" ;;
	*) t_fail "$name: '$needle' not found in: $(printf %s "$hay" | head -c 600)" ;;
	esac
}

# t_state ID: the execution's state ("" when gantryd does not answer).
t_state() {
	curl -s -H "Authorization: Bearer read-token" "$URL/v1/executions/$1" |
	    jq -r '.state // empty'
}

# t_wait_state ID STATE SECONDS: poll until the execution is in STATE;
# false, saying why, when it ended otherwise or the time ran out.
t_wait_state() {
	local i s
	for i in $(seq 1 $(($3 * 10))); do
		s=$(t_state "$1")
		[ "$s" = "$2" ] && return 0
		case "$s" in succeeded | rolled_back | failed | aborted | rejected | superseded)
			echo "# execution $1 ended $s: $(curl -s -H "Authorization: Bearer read-token" \
			    "$URL/v1/executions/$1" | jq -r .reason)"
			return 1
			;;
		esac
		sleep 0.1
	done
	echo "# execution $1 is $s after $3 s"
	return 1
}

t_finish() {
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ]
}
