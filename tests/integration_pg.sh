#!/bin/bash
# daemon/pg.c against a private PostgreSQL: runs tests/check_pg (pipeline
# mode, FIFO order, error isolation, simple-protocol strings between
# pipelined queries, the client deadline, the server ending the session).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"

t_setup
if GANTRY_TEST_PG=$PG_CONN ${GANTRYD_WRAPPER:-} "$top_builddir/tests/check_pg"; then
	t_pass "check_pg"
else
	t_fail "check_pg"
fi
t_finish
