#!/bin/sh
# tests/fuzz/make-corpus.sh: (re)writes the seed corpora of the fuzz targets, the files
# tests/fuzz/corpus/TARGET/seed-*, from what the project ships and tests: every .dag under
# dags/, examples/ and tests/dag/, the pipelines the end-to-end tests write, the gate
# criteria and alert conditions in all of those, the -p arguments the tests pass, and a
# few hand-written metrics files and overrides. Other files in the corpora (crash-*: inputs
# that once crashed a target, kept as regression tests) are left alone.
# Run from anywhere; commit what changed.
set -eu

cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus
for t in dag expr params metrics cron import; do
	mkdir -p "$out/$t"
	rm -f "$out/$t"/seed-*
done

# A file name from a path: tests/dag/bad/cycle.dag -> tests-dag-bad-cycle.dag
flat() { printf '%s' "$1" | tr '/' '-'; }

# ---- dag: the pipeline files as they are ----
find dags examples tests/dag -name '*.dag' | LC_ALL=C sort | while read -r f; do
	cp "$f" "$out/dag/seed-$(flat "$f")"
done
# The pipelines written by the end-to-end tests (`write_dag NAME <<-\EOF` or
# `cat >NAME.dag <<...`), tabs that <<- strips removed; numbered per script.
for f in tests/e2e/t*.sh; do
	awk -v dir="$out/dag" -v base="seed-$(basename "$f" .sh)" '
		/(write_dag [^ ]+|cat >[^ ]*\.dag) <</ { n++; file = sprintf("%s/%s-%02d.dag", dir, base, n); inside = 1; next }
		inside && /^\t*(EOF|\\?EOF)$/ { inside = 0; close(file); next }
		inside { sub(/^\t+/, ""); print > file }
	' "$f"
done

# ---- expr: gate criteria (require = [...]) and alert conditions (when = "...") ----
cat "$out"/dag/seed-* | awk '
	/require *= *\[/ { req = 1 }
	req || /when *= *"/ {
		line = $0
		while (match(line, /"([^"\\]|\\.)*"/)) {
			s = substr(line, RSTART + 1, RLENGTH - 2)
			if (s != "" && !(s in seen)) { seen[s] = 1; print s }
			line = substr(line, RSTART + RLENGTH)
		}
	}
	req && /\]/ { req = 0 }
' | {
	n=0
	while IFS= read -r e; do
		n=$((n + 1))
		printf '%s' "$e" >"$out/expr/seed-dag-$(printf '%03d' $n)"
	done
}
# and the language's corners the files above may not reach
i=0
while IFS= read -r e; do
	i=$((i + 1))
	printf '%s' "$e" >"$out/expr/seed-hand-$(printf '%02d' $i)"
done <<'EXPRS'
eval.auc >= production.eval.auc - 0.01 and eval.loss < 1
not (a < 1 or b > 2) and -c * (d + e) / f != 0
--1 == 1
1e308 * 10 > 0
x / 0 > 1
((((((((((((((((((((1))))))))))))))))))))
a.b.c.d <= 1.5e-3
production.n > 0
1 + 2 * 3 - 4 / 5 == 0.2 or not not true_metric
a <
EXPRS

# ---- params: -p arguments, one per line (tests/fuzz/fuzz_params.c declares greeting,
# rate, rows, verbose and empty) ----
grep -hoE -- "-p '?[A-Za-z_][A-Za-z0-9_]*=[^ ']*" tests/e2e/*.sh | sed "s/^-p '\{0,1\}//" | LC_ALL=C sort -u \
	>"$out/params/seed-e2e"
i=0
while IFS= read -r p; do
	i=$((i + 1))
	printf '%s\n' "$p" | tr '|' '\n' >"$out/params/seed-hand-$(printf '%02d' $i)"
done <<'PARAMS'
greeting=bonjour|rate=0.1|rows=1e3|verbose=true|empty=
rate=nan
rate=1e999
rate=0x10
rows=
verbose=yes
weeks=2026-W03
=value
greting=hi
nosuch
greeting=a=b|greeting=c
PARAMS

# ---- metrics: metrics files, good and bad ----
i=0
while IFS= read -r m; do
	i=$((i + 1))
	printf '%s' "$m" >"$out/metrics/seed-hand-$(printf '%02d' $i)"
done <<'METRICS'
{"accuracy": 0.91, "auc": 0.87, "loss": 0.25}
{"eval": {"auc": 0.8, "by_class": {"0": 0.9, "1": 0.7}}, "rows": 20000}
{"ok": true, "bad": false, "note": "text", "list": [1, 2], "none": null}
{"a.b": 1, "a": {"b": 2}}
{"x": NaN}
{"x": -Infinity}
{"x": 1e999}
{"x": 1,
[1, 2, 3]
{"x": "\u00e9\ud83d\ude00"}
{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}
{"dup": 1, "dup": 2}
METRICS
printf '' >"$out/metrics/seed-empty"
printf ' \n\t\n' >"$out/metrics/seed-blank"
printf '{"x": 1}\0{"y": 2}' >"$out/metrics/seed-nul"

# ---- cron: the expressions of check_cron's cases and the schedules of the pipelines ----
{
	sed -n 's/^[[:space:]]*{ "\([^"]*\)", \(NF_CRON\|-1\|"\).*/\1/p' tests/unit/check_cron.c
	cat "$out"/dag/seed-* | sed -n 's/^[[:space:]]*schedule *= *"\([^"]*\)".*/\1/p'
} | LC_ALL=C sort -u | {
	k=0
	while IFS= read -r e; do
		k=$((k + 1))
		printf '%s' "$e" >"$out/cron/seed-$(printf '%03d' $k)"
	done
}

# ---- import: the dvc.yaml files the end-to-end tests write (`cat >X.yaml <<-\EOS`) ----
for f in tests/e2e/t*.sh; do
	awk -v dir="$out/import" -v base="seed-$(basename "$f" .sh)" '
		/cat >[^ ]*\.yaml <</ { n++; file = sprintf("%s/%s-%02d.yaml", dir, base, n); inside = 1; next }
		inside && /^\t*\\?EOS$/ { inside = 0; close(file); next }
		inside { sub(/^\t+/, ""); print > file }
	' "$f"
done

for t in dag expr params metrics cron import; do
	printf '%s: %d files\n' "$t" "$(find "$out/$t" -type f | wc -l)"
done
