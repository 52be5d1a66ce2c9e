#!/bin/sh
# gantryd's loop must never block: no synchronous libpq call (PQexec,
# PQconnectdb, ...) and no sleep anywhere in daemon/.
set -u
: "${top_srcdir:=.}"
hits=$(grep -nE '\b(PQexec|PQexecParams|PQexecPrepared|PQconnectdb|PQconnectdbParams|PQsetdbLogin|PQprepare|PQdescribePrepared|PQping|PQpingParams|PQreset|PQcancel|sleep|usleep|nanosleep)\(' \
    "$top_srcdir"/daemon/*.c)
if [ -n "$hits" ]; then
	echo "FAIL: blocking calls in daemon/:"
	echo "$hits"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "ok: no blocking libpq call or sleep in daemon/"
echo "1 passed, 0 failed"
