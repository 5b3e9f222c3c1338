#!/bin/sh
# tests/summary.sh BUILDDIR [LOG...]: after `make check`, one place with each Check suite's
# summary line and the suite's total, "N passed, N failed[, N skipped]", as the last line.
#
# Counts: a Check suite adds its checks (failures and errors count as failed); an e2e
# script adds the counts of its lib.sh "N passed, N failed" line; anything else, or a test
# that died before its summary, counts as one from automake's verdict in its .trs file.
# Without LOG arguments, every tests/**/*.log under BUILDDIR is read. Exits 1 when
# anything failed, 0 otherwise.
set -u

builddir=${1:?usage: summary.sh BUILDDIR [LOG...]}
shift
if test $# = 0; then
	set -- $(find "$builddir/tests" -name '*.log' ! -name test-suite.log ! -path '*/trash.*' 2>/dev/null | sort)
fi

awk '
function verdict(trs,    line, r) {
	r = ""
	while ((getline line < trs) > 0)
		if (line ~ /^:global-test-result:/ || (r == "" && line ~ /^:test-result:/)) {
			sub(/^:[a-z-]*: */, "", line)
			r = line
		}
	close(trs)
	return r
}
function finish(    name, r, trs) {
	if (file == "")
		return
	name = file
	sub(/\.log$/, "", name)
	trs = name ".trs"
	sub(/^.*\/tests\//, "tests/", name)
	r = verdict(trs)
	if (nchecks > 0) {
		suites++
		printf "%-28s %s\n", name ":", checkline
		passed += ok; failed += bad
		if ((r == "FAIL" || r == "ERROR") && bad == 0) {
			printf "%-28s %s after its summary (see %s)\n", name ":", r, file
			failed++
		}
	} else if (e2eline != "") {
		scripts++
		passed += e2e[1]; failed += e2e[2]; skipped += e2e[3]
		e2epassed += e2e[1]; e2efailed += e2e[2]
		if ((r == "FAIL" || r == "ERROR") && e2e[2] == 0) {
			printf "%-28s %s after its summary (see %s)\n", name ":", r, file
			failed++
		}
	} else if (r == "SKIP") {
		skipped++
	} else if (r == "PASS" || r == "XFAIL") {
		passed++
	} else {
		# FAIL, ERROR, XPASS, or no verdict at all: the test did not finish properly
		printf "%-28s %s without a summary (see %s)\n", name ":", (r == "" ? "no result" : r), file
		failed++
	}
}
function scan(lf,    line, f) {
	file = lf; nchecks = 0; ok = 0; bad = 0; checkline = ""; e2eline = ""
	while ((getline line < lf) > 0) {
		# Check (CK_NORMAL and up): "100%: Checks: 12, Failures: 0, Errors: 0"
		if (line ~ /^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/) {
			split(line, f, /[^0-9]+/)
			nchecks += f[2]; bad += f[3] + f[4]; ok += f[2] - f[3] - f[4]
			checkline = (checkline == "" ? line : checkline "; " line)
		}
		# lib.sh: "N passed, N failed" or "N passed, N failed, N skipped"; the last one wins
		if (line ~ /^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/) {
			e2eline = line
			split(line, e2e, /[^0-9]+/)
			if (e2e[3] == "") e2e[3] = 0
		}
	}
	close(lf)
	finish()
}
BEGIN {
	for (i = 1; i < ARGC; i++)
		scan(ARGV[i])
	exit
}
END {
	if (scripts > 0)
		printf "%-28s %d script%s: %d tests passed, %d failed\n", "tests/e2e:", scripts, \
			(scripts == 1 ? "" : "s"), e2epassed, e2efailed
	if (skipped > 0)
		printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
	else
		printf "%d passed, %d failed\n", passed, failed
	exit (failed > 0)
}
' "$@"
