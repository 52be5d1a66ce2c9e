#!/bin/sh
# Docs are part of the change: every config key of lib/config.c is
# documented in gantryd.conf(5), every gantryd option in gantryd(8) and
# --help, and every API route in gantryd(8).
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
pass=0 fail=0
check() { # NAME FILE-or-TEXT-cmd PATTERN
	if grep -qF -- "$3" "$2"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $1: '$3' not documented in $2"
		fail=$((fail + 1))
	fi
}
keys=$(sed -n 's/^[[:space:]]*{ *"\([a-z_]*\)", KT_.*/\1/p' "$top_srcdir/lib/config.c")
[ -n "$keys" ] || { echo "FAIL: no config keys found in lib/config.c"; exit 1; }
for k in $keys; do
	check "config key $k" "$top_srcdir/man/gantryd.conf.5.in" ".It Ic $k "
done
help=$(mktemp)
"$top_builddir/daemon/gantryd" --help >"$help"
opts=$(sed -n 's/^[[:space:]]*{ *"\([a-z-]*\)", [a-z_]*argument.*/\1/p' "$top_srcdir/daemon/main.c")
[ -n "$opts" ] || { echo "FAIL: no options found in daemon/main.c"; exit 1; }
for o in $opts; do
	check "option --$o" "$top_srcdir/man/gantryd.8.in" "Fl \\-$o"
	check "option --$o in --help" "$help" "--$o"
done
"$top_builddir/cli/gantryctl" --help >"$help"
opts=$(sed -n 's/^[[:space:]]*{ *"\([a-z0-9-]*\)", [a-z_]*argument.*/\1/p' "$top_srcdir/cli/gantryctl.c")
[ -n "$opts" ] || { echo "FAIL: no options found in cli/gantryctl.c"; exit 1; }
for o in $opts; do
	check "gantryctl option --$o" "$top_srcdir/man/gantryctl.1.in" "Fl \\-$o"
	check "gantryctl option --$o in --help" "$help" "--$o"
done
for k in $(sed -n 's/^[[:space:]]*{ *"\([a-z_]*\)", FT_.*/\1/p' "$top_srcdir/lib/floors.c"); do
	check "floor $k" "$top_srcdir/man/gantryd.conf.5.in" "$k"
done
rm -f "$help"
routes=$(sed -n 's/^[[:space:]]*{ *"\([A-Z]*\)", "\([^"]*\)", AUTH_.*/\1 \2/p' "$top_srcdir/daemon/api.c")
[ -n "$routes" ] || { echo "FAIL: no routes found in daemon/api.c"; exit 1; }
echo "$routes" | while read -r m p; do
	p=$(printf %s "$p" | sed 's/\*}/}/g')
	grep -qF -- ".It Li $m $p" "$top_srcdir/man/gantryd.8.in" ||
	    echo "FAIL: route $m $p not documented in gantryd.8.in"
done >"${TMPDIR:-/tmp}/gantry-docs.$$"
if [ -s "${TMPDIR:-/tmp}/gantry-docs.$$" ]; then
	cat "${TMPDIR:-/tmp}/gantry-docs.$$"
	fail=$((fail + $(wc -l <"${TMPDIR:-/tmp}/gantry-docs.$$")))
else
	pass=$((pass + 1))
fi
rm -f "${TMPDIR:-/tmp}/gantry-docs.$$"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
