# bench/lib.sh - shared helpers of the engine benchmarks (sourced, not run).
# shellcheck shell=bash disable=SC2034
#
# Used by bench/transitions, bench/rollout, bench/rss, bench/exec_get and
# bench/alarms.
# Each benchmark gets a temporary directory, a private PostgreSQL
# (scripts/pg: unix socket only, fsync=off) and a gantryd from the build
# tree listening on an ephemeral loopback port; b_cleanup (an EXIT trap set
# by b_init) stops everything it started, by pid, and removes the
# directory.  Nothing listens beyond 127.0.0.1.
#
# The caller sets PROG before sourcing.  Environment: GANTRYD (default
# ./daemon/gantryd of the tree), BENCH_KEEP=1 keeps the temporary
# directory (logs) after the run.

B_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GANTRYD=${GANTRYD:-$B_TOP/daemon/gantryd}
B_PGSCRIPT=$B_TOP/scripts/pg
B_TOKEN=bench-admin-token
B_AUTH=(-H "Authorization: Bearer $B_TOKEN")
B_JSON=(-H "Content-Type: application/json")

B_TMP=""
B_PG_STARTED=""
GANTRYD_PID=""
NGINX_PID=""
B_EXTRA_PIDS=()
URL=""
PG_CONN=""

b_die() {
	echo "$PROG: $*" >&2
	exit 1
}

b_note() {
	echo "$PROG: $*" >&2
}

b_now_ms() {
	date +%s%3N
}

b_stop_pid() { # PID: TERM, up to 5 s, then KILL
	local pid=$1 i
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

b_cleanup() {
	local p
	for p in "${B_EXTRA_PIDS[@]}"; do
		b_stop_pid "$p"
	done
	b_stop_pid "$GANTRYD_PID"
	GANTRYD_PID=""
	b_stop_pid "$NGINX_PID"
	NGINX_PID=""
	if [ -n "$B_PG_STARTED" ]; then
		[ "${BENCH_KEEP:-0}" = 1 ] &&
		    cp "$B_TMP/db/pg/postgres.log" "$B_TMP/" 2>/dev/null
		"$B_PGSCRIPT" destroy "$B_TMP/db" >/dev/null 2>&1 || true
		B_PG_STARTED=""
	fi
	if [ -n "$B_TMP" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			echo "$PROG: kept $B_TMP" >&2
		else
			rm -rf -- "$B_TMP"
		fi
		B_TMP=""
	fi
}

# b_need TOOL PACKAGE...: exit 2 naming the Debian packages of missing tools.
b_need() {
	local missing=() pkgs=()
	while [ $# -ge 2 ]; do
		command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ||
		    { missing+=("$1"); pkgs+=("$2"); }
		shift 2
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "$PROG: missing ${missing[*]}; install with:" >&2
		echo "  apt-get install ${pkgs[*]}" >&2
		exit 2
	fi
}

b_init() {
	[ -x "$GANTRYD" ] || { echo "$PROG: $GANTRYD not found: build first (make)" >&2; exit 2; }
	b_need curl curl
	B_TMP=$(mktemp -d /tmp/gantry-bench.XXXXXX)
	chmod 0711 "$B_TMP"
	trap b_cleanup EXIT
	trap 'exit 130' INT TERM
	# set -e must never end a run without saying where (errtrace: in
	# functions too)
	set -E
	trap 'echo "$PROG: failed (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
}

# b_start_pg: private PostgreSQL in $B_TMP/db; sets PG_CONN.
b_start_pg() {
	B_PG_STARTED=1
	PG_CONN=$("$B_PGSCRIPT" start "$B_TMP/db" 2>"$B_TMP/pg.err") ||
	    { cat "$B_TMP/pg.err" >&2; b_die "cannot start PostgreSQL"; }
}

b_psql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$PG_CONN" "$@"
}

# b_write_conf FILE [extra YAML lines...]: loopback, the private database,
# one admin token, state under $B_TMP.
b_write_conf() {
	local f=$1 l
	shift
	{
		echo "listen: 127.0.0.1:0"
		echo "database: \"$PG_CONN\""
		echo "log_level: info"
		echo "state_dir: $B_TMP/state"
		[ "$(id -u)" -eq 0 ] && echo "allow_root: true"
		echo "tokens:"
		echo "  - {name: bench, sha256: $(printf %s "$B_TOKEN" | sha256sum | cut -d' ' -f1), roles: [admin]}"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# b_start_gantryd CONF [READY_SECONDS]: start, wait for the listen line
# and /readyz; sets GANTRYD_PID, URL.
b_start_gantryd() {
	local conf=$1 wait_s=${2:-30} i port=""
	: >"$B_TMP/gantryd.log"
	"$GANTRYD" --config "$conf" --foreground >>"$B_TMP/gantryd.log" 2>&1 &
	GANTRYD_PID=$!
	for i in $(seq 300); do
		port=$(sed -n 's/.*event=http.listen addr=[^ ]* port=\([0-9]*\).*/\1/p;T;q' \
		    "$B_TMP/gantryd.log")
		[ -n "$port" ] && break
		kill -0 "$GANTRYD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$port" ]; then
		tail -n 20 "$B_TMP/gantryd.log" >&2
		b_die "gantryd did not start (log above)"
	fi
	URL=http://127.0.0.1:$port
	for i in $(seq $((wait_s * 10))); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] &&
		    return 0
		kill -0 "$GANTRYD_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$B_TMP/gantryd.log" >&2
	b_die "gantryd not ready after $wait_s s (log above)"
}

# b_wait_pipelines N SECONDS: until gantryd has stored N pipelines.
b_wait_pipelines() {
	local want=$1 secs=$2 i n=0
	for _ in $(seq $((secs * 10))); do
		n=$(b_psql -c "SELECT count(DISTINCT pipeline) FROM pipeline_versions" 2>/dev/null || echo 0)
		[ "$n" -ge "$want" ] && return 0
		sleep 0.1
	done
	b_die "only $n of $want pipelines stored after $secs s (see $B_TMP/gantryd.log)"
}

# b_metric NAME: the value of an unlabelled metric (empty if absent).
b_metric() {
	# awk reads to the end: leaving early would close the pipe under
	# curl, which then fails (status 23) and pipefail ends the run
	curl -s --max-time 30 "$URL/metrics" | awk -v m="$1" '$1 == m && !done { print $2; done = 1 }'
}

# b_rss_kb PID: VmRSS in kB.
b_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# b_cpu_ticks PID: utime + stime of PID, in clock ticks.
b_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# b_sched_wait_ns PID: nanoseconds the threads of PID spent runnable but
# waiting for a CPU (/proc/PID/task/*/schedstat, 2nd field), summed; 0
# without schedstats.
b_sched_wait_ns() {
	cat "/proc/$1/task/"*/schedstat 2>/dev/null |
	    awk '{ t += $2 } END { printf "%.0f\n", t }'
}

# b_machine_ticks: "BUSY TOTAL" clock ticks of every CPU since boot
# (/proc/stat; idle and iowait are not busy).
b_machine_ticks() {
	awk '$1 == "cpu" { for (i = 2; i <= NF; i++) t += $i
		print t - $5 - $6, t; exit }' /proc/stat
}

# b_trigger_many LIST OUT PARALLEL [SECONDS]: POST one execution for every pipeline
# name in the file LIST, PARALLEL requests at a time over keep-alive
# connections (curl --parallel, one process: forking one curl per request
# would cost more CPU than gantryd on 2 cores).  OUT gets one HTTP status
# per line; prints the number of 201s.  SECONDS (default 600) bounds the
# whole batch.  B_TRIGGER_EXTRA: more JSON members for every body, with
# their leading comma and escaped quotes (e.g. ',\"dry_run\":true').
b_trigger_many() {
	local list=$1 out=$2 par=$3 secs=${4:-600} cfg=$B_TMP/trigger.curl
	local extra=${B_TRIGGER_EXTRA:-}
	{
		echo 'request = "POST"'
		echo "header = \"Authorization: Bearer $B_TOKEN\""
		echo 'header = "Content-Type: application/json"'
		echo 'data = "{\"revision\":\"r1\",\"reason\":\"bench\"'"$extra"'}"'
		# shellcheck disable=SC2028 # a literal \n: curl expands it
		echo 'write-out = "%{http_code}\n"'
		echo 'output = "/dev/null"'
		echo 'silent'
		echo 'max-time = 120'
		local p
		while read -r p; do
			echo "url = \"$URL/v1/pipelines/$p/executions\""
			echo 'output = "/dev/null"'
		done <"$list"
	} >"$cfg"
	timeout -k 5 "$secs" curl --parallel --parallel-immediate --parallel-max "$par" -K "$cfg" >"$out" 2>>"$B_TMP/curl.err" || true
	grep -c '^201$' "$out" || true
}

# b_ratio A B: A/B with 2 decimals, or n/a.
b_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'
}

# b_pg_cpu_ticks: utime + stime of the children of the private PostgreSQL
# postmaster (backends, background processes), in clock ticks.
b_pg_cpu_ticks() {
	local cl pm
	cl=$(sed -n 's/^cluster=//p' "$B_TMP/db/pg.location" 2>/dev/null)
	pm=$(head -n1 "$cl/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" '
		{ sub(/^[0-9]+ \(.*\) /, "X ") }
		$1 == "X" && ($3 == pm) { t += $13 + $14 }
		END { print t + 0 }'
}

# --- wrk against nginx (the approach of bench/http) ----------------------

b_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# b_start_nginx ROOT PATH CTYPE: a private nginx (1 worker, access_log off,
# keep-alive unlimited) on a free loopback port serving the files of ROOT
# with Content-Type CTYPE; waits until PATH answers.  Sets NGINX_PID,
# NGINX_PORT.
b_start_nginx() {
	local root=$1 path=$2 ctype=$3 try port user_line="" bin
	bin=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
	# Workers of a root master switch to `nobody`, which cannot read a
	# 0711 mktemp dir; a throwaway benchmark server may stay root.
	[ "$(id -u)" -eq 0 ] && user_line="user root;"
	mkdir -p "$B_TMP/nginx/tmp"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 40000))
		b_port_in_use "$port" && continue
		cat >"$B_TMP/nginx/nginx.conf" <<NGINX
$user_line
worker_processes 1;
pid $B_TMP/nginx/nginx.pid;
error_log $B_TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $B_TMP/nginx/tmp/body;
	proxy_temp_path $B_TMP/nginx/tmp/proxy;
	fastcgi_temp_path $B_TMP/nginx/tmp/fastcgi;
	uwsgi_temp_path $B_TMP/nginx/tmp/uwsgi;
	scgi_temp_path $B_TMP/nginx/tmp/scgi;
	types { }
	default_type "$ctype";
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$port;
		root $root;
	}
}
NGINX
		"$bin" -p "$B_TMP/nginx" -c "$B_TMP/nginx/nginx.conf" \
		    -e "$B_TMP/nginx/error.log" -g 'daemon off;' \
		    </dev/null >>"$B_TMP/nginx/error.log" 2>&1 &
		NGINX_PID=$!
		for _ in $(seq 50); do
			if curl -fsS -o /dev/null --max-time 1 \
			    "http://127.0.0.1:$port$path" 2>/dev/null; then
				NGINX_PORT=$port
				return 0
			fi
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.1
		done
		b_stop_pid "$NGINX_PID"
		NGINX_PID=""
		tail -n 3 "$B_TMP/nginx/error.log" >&2 || true
	done
	b_die "cannot start nginx; see above"
}

# b_to_ms 812.00us|1.23ms|1.02s: milliseconds.
b_to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000
		else if (v ~ /ms$/) n = n
		else if (v ~ /m$/) n *= 60000
		else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

# b_run_wrk URL DURATION [wrk args...]: prints "reqs p50ms p99ms errors".
b_run_wrk() {
	local url=$1 duration=$2 out rps p50 p99 non2xx sockerr
	shift 2
	out=$(wrk -t"${WRK_THREADS:-2}" -c"${WRK_CONNS:-64}" -d"$duration" --latency "$@" "$url" 2>&1) ||
	    { echo "$out" >&2; b_die "wrk failed against $url"; }
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
	sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
	[ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] ||
	    { echo "$out" >&2; b_die "cannot parse wrk output (above)"; }
	echo "$rps $(b_to_ms "$p50") $(b_to_ms "$p99") $(( ${non2xx:-0} + ${sockerr:-0} ))"
}

# b_better OLD NEW: the "reqs ..." line with more req/s.
b_better() {
	if [ -z "$1" ]; then
		echo "$2"
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		print (y[1] + 0 > x[1] + 0) ? b : a
	}'
}
