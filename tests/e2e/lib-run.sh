# tests/e2e/lib-run.sh: helpers for the `ntflow run` tests (t2xxx), sourced after lib.sh:
#	. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"
# Times are seconds since the epoch with fractions (date +%s.%N), compared with awk.

# now: the current time.
now() { date +%s.%N; }

# seconds_since START: the time elapsed since START.
seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", e - s }'; }

# num_lt A B, num_le A B: numeric comparisons (fractions allowed); say why when false.
num_lt() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }' && return 0
	echo "num_lt: not $1 < $2" >&2
	return 1
}
num_le() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }' && return 0
	echo "num_le: not $1 <= $2" >&2
	return 1
}

# wait_until 'COMMAND' [TENTHS]: polls COMMAND every 0.1s until it succeeds, at most
# TENTHS tries (default 150, 15s); fails saying what it waited for.
wait_until() {
	wait_i_=0
	while ! eval "$1" >/dev/null 2>&1; do
		wait_i_=$((wait_i_ + 1))
		if test "$wait_i_" -ge "${2:-150}"; then
			echo "wait_until: gave up waiting for: $1" >&2
			return 1
		fi
		sleep 0.1
	done
}

# wait_for_file FILE [TENTHS]
wait_for_file() { wait_until "test -e '$1'" "${2:-150}"; }

# procs_with_args ARGS: how many live processes have exactly this command line and run in
# this test's trash directory (another checkout's suite may be running the same test).
# (Zombies have no command line, so they do not count.)
procs_with_args() {
	n_=0
	for p_ in $(ps -eo pid=,args= | awk -v a="$1" '{ pid = $1; sub(/^ *[0-9]+ /, ""); if ($0 == a) print pid }'); do
		case $(readlink "/proc/$p_/cwd" 2>/dev/null) in
		"$TRASH_DIRECTORY"|"$TRASH_DIRECTORY"/*) n_=$((n_ + 1)) ;;
		esac
	done
	echo $n_
}

# procs_in_group PGID: how many live (non-zombie) processes are in the process group.
procs_in_group() { ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { n++ } END { print n + 0 }'; }

# stage_field SHOW_JSON NAME FIELD [INSTANCE]: a field of a node in `ntflow show --json`
# output. NAME is the stage name, or a node name such as "tune[lr=0.1]"; INSTANCE (the
# matrix id) picks one instance. Strings raw, other values as JSON; fails when not found.
stage_field() {
	/usr/bin/python3 - "$@" <<\PY
import json, sys
path, name, field = sys.argv[1], sys.argv[2], sys.argv[3]
inst = sys.argv[4] if len(sys.argv) > 4 else None
with open(path) as f:
    doc = json.load(f)
hits = []
for s in doc["stages"]:
    nm = s.get("name") or ""
    if inst is not None:
        ok = s.get("instance") == inst and (nm == name or nm.startswith(name + "["))
    else:
        ok = nm == name
    if ok:
        hits.append(s)
if len(hits) != 1:
    sys.exit("stage_field: %d nodes match %s%s in %s" % (len(hits), name, "@" + inst if inst else "", path))
if field not in hits[0]:
    sys.exit("stage_field: no field %s in %s" % (field, json.dumps(hits[0])))
v = hits[0][field]
print(v if isinstance(v, str) else json.dumps(v))
PY
}

# stage_count SHOW_JSON NAME: how many nodes (matrix instances) the stage has.
stage_count() {
	/usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
n = sys.argv[2]
print(sum(1 for s in doc["stages"] if s.get("name") == n or (s.get("name") or "").startswith(n + "[")))
' "$1" "$2"
}

# show_json [RUN]: ntflow show --json into show.json.
show_json() { ntflow show $1 --json >show.json; }
