#!/bin/sh
# bench/validate-100k.sh: how long `ntflow validate` takes, and how much memory, on a generated
# layered DAG of N stages (3 parents each), measured with /usr/bin/time -v over a few runs.
#
# usage: bench/validate-100k.sh [N]          (default: 100000 stages)
# environment: NTFLOW (default: ntflow on PATH), REPS (default 3), TMPDIR
set -eu

usage() { echo "usage: $0 [N]" >&2; exit 2; }
n=${1-100000}
case $n in ''|*[!0-9]*) usage ;; esac
reps=${REPS-3}
case $reps in ''|*[!0-9]*|0) usage ;; esac
ntflow=${NTFLOW-ntflow}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "$0: $*" >&2; exit 1; }
command -v "$ntflow" >/dev/null 2>&1 || die "no ntflow binary ($ntflow); set NTFLOW=/path/to/ntflow"
[ -x /usr/bin/time ] || die "/usr/bin/time missing; apt-get install time"
ntflow=$(command -v "$ntflow")

work=$(mktemp -d "${TMPDIR:-/tmp}/nfvalidate.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

"$here/gen-dag.sh" "$n" 3 >"$work/big.dag"
echo "validate: $n stages (layers of 100, 3 parents), $(wc -c <"$work/big.dag") bytes, $reps runs"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ntflow: $ntflow ($("$ntflow" --version))"
# the first read warms the page cache, so every measured run reads the file from memory
cat "$work/big.dag" >/dev/null
r=1
while [ "$r" -le "$reps" ]; do
	/usr/bin/time -v -o "$work/time.$r" "$ntflow" validate -v "$work/big.dag" >"$work/out.$r" 2>&1 ||
		{ cat "$work/out.$r" >&2; die "ntflow validate failed"; }
	awk -F': ' '
		/Elapsed \(wall clock\)/ { k = split($2, t, ":"); w = 0; for (i = 1; i <= k; i++) w = w * 60 + t[i] }
		/Maximum resident set size/ { m = $2 }
		/User time/ { u = $2 } /System time/ { s = $2 }
		END { printf "%s %s %s %s\n", w, m, u, s }' "$work/time.$r" >>"$work/times"
	r=$((r + 1))
done
sed 's/^/  /' "$work/out.1"
echo
printf '%-6s %8s %12s %8s %8s\n' run "wall s" "peak RSS KB" "user s" "sys s"
awk '{ printf "%-6d %8.2f %12d %8.2f %8.2f\n", NR, $1, $2, $3, $4 }' "$work/times"
sort -n "$work/times" | awk '{ a[NR] = $0 } END { split(a[int((NR + 1) / 2)], m, " ");
	printf "median wall %.2f s; peak RSS (median) ", m[1] }'
awk '{ print $2 }' "$work/times" | sort -n | awk '{ a[NR] = $1 } END { printf "%d KB\n", a[int((NR + 1) / 2)] }'
