#!/bin/sh
# The man pages, as installed (placeholders substituted), are clean under
# mandoc's linter: no warnings, no errors.
set -u
: "${top_builddir:=.}"
MANDOC=${MANDOC:-$(command -v mandoc)}
if [ -z "$MANDOC" ]; then
	echo "FAIL: mandoc not found (apt-get install mandoc)"
	exit 1
fi
pass=0 fail=0
for page in "$top_builddir"/man/gantryd.8 "$top_builddir"/man/gantryd.conf.5 \
    "$top_builddir"/man/gantryctl.1 "$top_builddir"/man/gantry-pipeline.5; do
	# -W warning reports style notes too; cross-references to pages of
	# other packages (systemd.service(5), ...) are style-level only.
	out=$("$MANDOC" -Tlint -W warning "$page" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL: $page"
		echo "$out"
		fail=$((fail + 1))
	else
		echo "ok: $page"
		pass=$((pass + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
