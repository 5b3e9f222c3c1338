#!/bin/sh
# check-includes.sh [ROOT]: the layering of ntflow's modules, read from the #include lines.
#
# A module is a directory src/DIR (every file in it), the top-level src/*.c and src/*.h
# (the commands: module "cmd"), and a public header include/ntflow/NAME.h, which belongs
# to src/NAME when there is one, else to the module named in HEADER_MODULES below (else to
# a module NAME of its own). A file that includes another module's header makes an edge.
# Two rules, each a failure (exit 1) with the files to blame:
#   1. no include cycle between modules (a -> b -> ... -> a);
#   2. a private header (src/DIR/*.h) is included only from src/DIR: other modules go
#      through include/ntflow/.
# Run by make check (tests/e2e/t0020-include-cycles.sh); ROOT defaults to the source tree
# holding this script.
set -u

ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# Public headers implemented by a directory of another name.
HEADER_MODULES='
diag util
expr dag
cachekey cache
state exec
slurm exec
lineage gov
'

# Known exceptions, to be deleted when the change that removes them lands: one per line,
# "FILE INCLUDED" as the report below prints them. A listed pair that no longer occurs is
# an error too, so that the line goes as soon as it can. $CHECK_INCLUDES_KNOWN, when set,
# replaces the list (the tests of this script).
#  (none: the last ones, gov's run steps including run's internal header, went with the
#  run object, which moved those steps into src/run/)
KNOWN=''
KNOWN=${CHECK_INCLUDES_KNOWN-$KNOWN}

cd "$ROOT" || exit 2
[ -d src ] && [ -d include/ntflow ] || { echo "check-includes: $ROOT is no ntflow tree" >&2; exit 2; }

# One line per #include "..." of a source file: FILE RESOLVED (RESOLVED is the included
# file's path from ROOT, or "-" when it is none of ours: config.h, a system header).
list_includes() {
	find src include/ntflow -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort |
	while read -r f; do
		dir=$(dirname "$f")
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
		while read -r h; do
			if [ -f "$dir/$h" ]; then
				r="$dir/$h"
			elif [ -f "include/$h" ]; then
				r="include/$h"
			elif [ -f "src/$h" ]; then
				r="src/$h"
			else
				r=-
			fi
			# normalise dir/../x
			while :; do
				n=$(printf '%s\n' "$r" | sed 's|[^/][^/]*/\.\./||')
				[ "$n" = "$r" ] && break
				r=$n
			done
			printf '%s %s\n' "$f" "$(printf '%s\n' "$r" | sed 's|/\./|/|g')"
		done
	done
}

dirs=$(cd src && for d in */; do printf '%s ' "${d%/}"; done)

list_includes | awk -v dirs="$dirs" -v hmap="$HEADER_MODULES" -v known="$KNOWN" '
function module(path,   p, n, name) {
	n = split(path, p, "/")
	if (p[1] == "include") {
		name = p[n]; sub(/\.h$/, "", name)
		if (name in isdir) return name
		if (name in hmod) return hmod[name]
		return name
	}
	if (n == 2) return "cmd"
	return p[2]
}
BEGIN {
	split(dirs, d, " "); for (i in d) isdir[d[i]] = 1
	isdir["cmd"] = 1
	n = split(hmap, l, "\n")
	for (i = 1; i <= n; i++) if (split(l[i], w, " ") == 2) hmod[w[1]] = w[2]
	n = split(known, l, "\n")
	for (i = 1; i <= n; i++) if (split(l[i], w, " ") == 2) { isknown[w[1] " " w[2]] = 1; nknown++ }
	bad = 0
}
$2 != "-" {
	a = module($1); b = module($2)
	mods[a] = 1; mods[b] = 1
	# rule 2: private headers
	np = split($2, p, "/")
	if (p[1] == "src" && np == 3 && a != b) {
		if (($1 " " $2) in isknown) { seen[$1 " " $2] = 1; next }
		printf "check-includes: %s includes %s, private to src/%s: go through include/ntflow/\n", $1, $2, b
		bad = 1
	}
	if (($1 " " $2) in isknown) { seen[$1 " " $2] = 1; next }
	if (a != b) {
		if (!((a, b) in edge)) edge[a, b] = $1 " includes " $2
		reach[a, b] = 1
	}
}
END {
	for (k in mods) for (i in mods) for (j in mods)
		if (((i, k) in reach) && ((k, j) in reach)) reach[i, j] = 1
	# rule 1: modules that reach each other are in a cycle; report each group once
	for (m in mods) {
		if ((m in done) || !((m, m) in reach)) continue
		grp = ""
		for (o in mods) if (o == m || (((m, o) in reach) && ((o, m) in reach))) { done[o] = 1; grp = grp " " o }
		printf "check-includes: include cycle between modules:%s\n", grp
		ng = split(grp, g, " ")
		for (i = 1; i <= ng; i++) for (j = 1; j <= ng; j++)
			if ((g[i], g[j]) in edge) printf "  %s -> %s: %s\n", g[i], g[j], edge[g[i], g[j]]
		bad = 1
	}
	for (k in isknown) if (!(k in seen)) {
		printf "check-includes: known exception \"%s\" no longer occurs: delete it from KNOWN in scripts/check-includes.sh\n", k
		bad = 1
	}
	exit bad
}'
