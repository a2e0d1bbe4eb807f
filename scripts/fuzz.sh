#!/bin/sh
# Runs every fuzz target in the tree, each for FUZZTIME (default 20s).
# `make fuzz` calls it; FUZZTIME=2m make fuzz runs longer.
set -eu
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}
go=${GO:-go}
failed=0
# One "dir name" line per target, from the test files that declare them.
grep -rl --include='*_test.go' '^func Fuzz[A-Z0-9_a-z]*(' . |
	xargs grep -H -o '^func Fuzz[A-Za-z0-9_]*' |
	sed 's|^\(.*\)/[^/]*_test.go:func |\1 |' | sort -u >"${TMPDIR:-/tmp}/banger-fuzz.$$"
while read -r dir name; do
	echo "--- $name ($dir, $fuzztime)"
	if ! $go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$dir"; then
		failed=$((failed + 1))
	fi
done <"${TMPDIR:-/tmp}/banger-fuzz.$$"
count=$(wc -l <"${TMPDIR:-/tmp}/banger-fuzz.$$")
rm -f "${TMPDIR:-/tmp}/banger-fuzz.$$"
echo "fuzz: $count targets, $failed failed"
[ "$failed" -eq 0 ]
