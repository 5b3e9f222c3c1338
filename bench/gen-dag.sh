#!/bin/sh
# bench/gen-dag.sh: prints a layered pipeline of N stages for benchmarks: WIDTH stages per
# layer, each needing PARENTS stages of the layer before, every command `true`.
# usage: bench/gen-dag.sh N [PARENTS [WIDTH]]    (defaults: 3 parents, 100 stages a layer)
set -eu
usage() { echo "usage: $0 N [PARENTS [WIDTH]]" >&2; exit 2; }
case ${1-} in ''|*[!0-9]*) usage ;; esac
case ${2-3} in ''|*[!0-9]*) usage ;; esac
case ${3-100} in ''|*[!0-9]*) usage ;; esac
exec awk -v n="$1" -v parents="${2-3}" -v width="${3-100}" 'BEGIN {
	if (width < 1) width = 1
	if (width > n) width = n
	if (parents > width) parents = width
	printf "# %d stages in layers of %d, each needing %d of the layer before (bench/gen-dag.sh)\n", n, width, parents
	printf "pipeline \"bench\" {\n  description = \"generated layered DAG\"\n}\n"
	for (i = 0; i < n; i++) {
		layer = int(i / width)
		pos = i % width
		printf "\nstage \"s%d_%d\" {\n", layer, pos
		if (layer > 0) {
			printf "  needs = ["
			# parents spread over the previous layer, so layers interleave
			for (k = 0; k < parents; k++)
				printf "%s\"s%d_%d\"", k ? ", " : "", layer - 1, (pos + k * int(width / parents)) % width
			printf "]\n  run   = \"true\"\n}\n"
		} else {
			printf "  run = \"true\"\n}\n"
		}
	}
}'
