#!/bin/sh
# examples/simulate-weeks.sh: a quarter of weekly retraining in a minute or two. Runs
# dags/retrain.dag once per week for past logical dates, then prints one line per week
# (test metrics, drift, the gate's verdict, the alerts) read back from ntflow's records.
#
# usage: examples/simulate-weeks.sh [--from YYYY-MM-DD] [--weeks N] [--markdown] [-- RUN_OPTIONS...]
#
# The default quarter is 13 Mondays from 2026-09-07 (2026-W37 .. 2026-W49); the data drift
# as examples/ml/README.md describes, so the table shows drift alerts growing and the gate
# rejecting the models of the weeks in which the fraud pattern changes. Each run is recorded
# as a backfill in this workspace's .ntflow/ (the registry sees every verdict); a week whose
# model the gate rejects exits 3 and the simulation goes on. Needs jq; NTFLOW names the
# ntflow binary (default: ./ntflow of an in-tree build, else ntflow on PATH).
set -eu

die() { printf 'simulate-weeks: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n 's/^# usage: /usage: /p' "$0" >&2; exit 2; }

cd "$(dirname "$0")/.."
from=2026-09-07 weeks=13 markdown=no
while test $# -gt 0; do
	case $1 in
	--from) test $# -ge 2 || usage; from=$2; shift 2 ;;
	--from=*) from=${1#--from=}; shift ;;
	--weeks) test $# -ge 2 || usage; weeks=$2; shift 2 ;;
	--weeks=*) weeks=${1#--weeks=}; shift ;;
	--markdown) markdown=yes; shift ;;
	--) shift; break ;;
	-h|--help) sed -n 's/^# usage: /usage: /p' "$0"; exit 0 ;;
	*) usage ;;
	esac
done
case $weeks in ''|*[!0-9]*) die "--weeks wants a number, not '$weeks'" ;; esac
date -u -d "$from" +%F >/dev/null 2>&1 || die "--from wants a date (YYYY-MM-DD), not '$from'"
command -v jq >/dev/null 2>&1 || die "jq is needed to read ntflow's JSON (apt-get install jq)"
if test -z "${NTFLOW-}"; then
	if test -x ./ntflow; then NTFLOW=./ntflow; else NTFLOW=ntflow; fi
fi
command -v "$NTFLOW" >/dev/null 2>&1 || die "no ntflow binary ($NTFLOW); build it with scripts/setup.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/simulate-weeks.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. One run per week, oldest first, each recorded as a backfill for its Monday.
i=0
: >"$tmp/runs"
while test "$i" -lt "$weeks"; do
	day=$(date -u -d "$from + $((7 * i)) days" +%F)
	week=$(date -u -d "$day" +%G-W%V)
	printf 'simulate-weeks: %s (%s) ... ' "$week" "$day"
	rc=0
	"$NTFLOW" run dags/retrain.dag --date "$day" --trigger backfill --no-tui "$@" \
		>"$tmp/run.log" 2>&1 || rc=$?
	case $rc in
	0) verdict="succeeded" ;;
	3) verdict="gated: the model stays a candidate" ;;
	*)
		echo "failed (exit $rc)"
		cat "$tmp/run.log" >&2
		exit "$rc" ;;
	esac
	run=$("$NTFLOW" show --json | jq -r '.run.id')
	echo "run $run $verdict"
	echo "$week $run" >>"$tmp/runs"
	i=$((i + 1))
done

# 2. The table, from what ntflow recorded for each run.
num() { # a metric of a node of the run in $tmp/show.json, 4 decimals, "-" when absent
	v=$(jq -r --arg n "$1" --arg m "$2" \
		'[.stages[] | select(.name == $n) | .metrics[$m] | numbers][0] // "-"' "$tmp/show.json")
	if test "$v" = -; then echo -; else printf '%.4f\n' "$v"; fi
}
if test $markdown = yes; then
	echo "| week | run | accuracy | auc | ece | max_psi | gate | model | alerts |"
	echo "|---|---|---|---|---|---|---|---|---|"
else
	echo
	printf '%-9s %4s  %-8s  %-6s  %-6s  %-7s  %-22s  %-18s  %s\n' \
		week run accuracy auc ece max_psi gate model alerts
fi
"$NTFLOW" alerts --json >"$tmp/alerts.json"
while read -r week run; do
	"$NTFLOW" show "$run" --json >"$tmp/show.json"
	acc=$(num evaluate accuracy) auc=$(num evaluate auc) ece=$(num evaluate ece)
	psi=$(num drift max_psi)
	gate=$(jq -r '[.gates[]? | if .passed then "pass" else
			"reject (" + ([.criteria[] | select(.verdict != "pass") | .expr | split(" ")[0]] | join(", ")) + ")"
		end][0] // "-"' "$tmp/show.json")
	# The version this run registered and where it went then ("v3 -> production", "v4
	# candidate"); `ntflow registry list` says where each is now.
	model=$(jq -r '([.gates[]?.passed][0] // false) as $pass |
		[.registered[]? | "v\(.version) " + (if $pass then "-> production" else "candidate" end)][0] // "-"' \
		"$tmp/show.json")
	# The most severe alert of the run, with its rule.
	alerts=$(jq -r --argjson run "$run" '
		[.[] | select(.run == $run)] |
		sort_by({"high": 0, "medium": 1, "low": 2}[.severity]) |
		if length > 0 then .[0].severity + " (" + .[0].rule + ")" else "-" end' "$tmp/alerts.json")
	if test $markdown = yes; then
		echo "| $week | $run | $acc | $auc | $ece | $psi | $gate | $model | $alerts |"
	else
		printf '%-9s %4s  %-8s  %-6s  %-6s  %-7s  %-22s  %-18s  %s\n' \
			"$week" "$run" "$acc" "$auc" "$ece" "$psi" "$gate" "$model" "$alerts"
	fi
done <"$tmp/runs"
