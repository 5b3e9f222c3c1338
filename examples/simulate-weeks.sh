#!/bin/sh
# examples/simulate-weeks.sh: a quarter of weekly retraining in a minute or two, as a thin
# example of `ntflow backfill`: it runs dags/retrain.dag once per week of its @weekly
# schedule for past weeks, then prints the backfill's table (one line per week: the run,
# the gate's verdict, the model version and where it went, the alerts) and the test metrics
# and drift of those weeks as `ntflow metrics` recorded them.
#
# usage: examples/simulate-weeks.sh [--from YYYY-MM-DD] [--weeks N] [-- BACKFILL_OPTIONS...]
#
# The default is the 11 weeks from Monday 2026-09-07 to Sunday 2026-11-22 (2026-W37 ..
# 2026-W47; @weekly fires on Sunday midnight, so each week's run stands for the interval
# starting on its Sunday). All of them have ended, so the table is the same whatever day it
# runs (README.md prints it); with a later range, weeks that have not ended yet are left out. The data drift as
# examples/ml/README.md describes, so the table shows drift alerts growing and the gate
# rejecting the models of the weeks in which the fraud pattern changes, and of 2026-W38, in
# which one merchant region's labels degrade (its fairness criterion, max_gap(accuracy)). Each run is
# recorded as a backfill in this workspace's .ntflow/ (the registry sees every verdict).
# NTFLOW names the ntflow binary (default: ./ntflow of an in-tree build, else ntflow on PATH).
set -eu

die() { printf 'simulate-weeks: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n 's/^# usage: /usage: /p' "$0" >&2; exit 2; }

cd "$(dirname "$0")/.."
from=2026-09-07 weeks=11
while test $# -gt 0; do
	case $1 in
	--from) test $# -ge 2 || usage; from=$2; shift 2 ;;
	--from=*) from=${1#--from=}; shift ;;
	--weeks) test $# -ge 2 || usage; weeks=$2; shift 2 ;;
	--weeks=*) weeks=${1#--weeks=}; shift ;;
	--) shift; break ;;
	-h|--help) sed -n 's/^# usage: /usage: /p' "$0"; exit 0 ;;
	*) usage ;;
	esac
done
case $weeks in ''|0|*[!0-9]*) die "--weeks wants a number of weeks, not '$weeks'" ;; esac
to=$(date -u -d "$from + $((7 * weeks - 1)) days" +%F 2>/dev/null) ||
	die "--from wants a date (YYYY-MM-DD), not '$from'"
if test -z "${NTFLOW-}"; then
	if test -x ./ntflow; then NTFLOW=./ntflow; else NTFLOW=ntflow; fi
fi
command -v "$NTFLOW" >/dev/null 2>&1 || die "no ntflow binary ($NTFLOW); build it with scripts/setup.sh"

tmp=$(mktemp "${TMPDIR:-/tmp}/simulate-weeks.XXXXXX")
trap 'rm -f "$tmp" "$tmp.rc"' EXIT

# The runs and the table. A week whose model the gate rejects is "gated": the run completed.
{ "$NTFLOW" backfill dags/retrain.dag --from "$from" --to "$to" --keep-going "$@" || echo $? >"$tmp.rc"; } |
	tee "$tmp"
rc=$(cat "$tmp.rc" 2>/dev/null || echo 0)

# What those weeks measured: each run's test metrics and drift, oldest first.
ran=$(sed -n 's/^backfill: \([0-9]*\) interval.*/\1/p' "$tmp")
test -n "$ran" || exit "$rc"
for m in evaluate:accuracy evaluate:auc evaluate:ece drift:max_psi; do
	echo
	"$NTFLOW" metrics --pipeline retrain --node "${m%%:*}" --name "${m#*:}" | sed -n 1p
	"$NTFLOW" metrics --pipeline retrain --node "${m%%:*}" --name "${m#*:}" | tail -n "$ran"
done
exit "$rc"
