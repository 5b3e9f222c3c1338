#!/bin/sh
# t3020-cache-commands.sh: `ntflow why` (the last run or a given one, every instance of a
# matrix stage, gates, unknown stages with a suggestion) and `ntflow cache ls|verify|gc`:
# the entries listed, a corrupted object found and its entry dropped (the stage then reruns
# and nothing else), gc dropping what the chosen runs did not use but never what the last
# successful run used, removing unused objects and printing the bytes freed.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

write_dag p.dag <<\EOF
pipeline "cmds" {
  params {
    scale = 1
  }
}

stage "prep" {
  run     = "echo prep >>spawns && mkdir -p build/prep && seq 1 20 >build/prep/rows.txt && echo x >build/prep/sub.txt"
  inputs  = ["data.csv"]
  outputs = ["build/prep/"]
}

stage "tune" {
  needs = ["prep"]
  matrix {
    lr = [1, 2]
  }
  run     = "echo tune >>spawns && mkdir -p build/tune/${matrix.id} && echo '{\"score\": '${matrix.lr}'}' >build/tune/${matrix.id}/m.json"
  outputs = ["build/tune/${matrix.id}/"]
  metrics = "build/tune/${matrix.id}/m.json"
  select  = "max(score)"
}

stage "eval" {
  needs   = ["tune"]
  run     = "echo eval >>spawns && test ${params.scale} != 3 && mkdir -p build && echo '{\"acc\": 0.9, \"s\": '${params.scale}'}' >build/eval.json"
  outputs = ["build/eval.json"]
  metrics = "build/eval.json"
}

gate "promote" {
  needs   = ["eval"]
  require = ["acc >= 0.5"]
}
EOF

write_dag wait.dag <<\EOF
pipeline "wait" {}

stage "hold" {
  run = "touch held && while ! test -f go; do sleep 0.05; done"
}
EOF

nspawns() { if test -f spawns; then wc -l <spawns; else echo 0; fi; }

# object_of FILE: the path of FILE's content in the object store.
object_of() {
	sha=$(sha256sum "$1" | cut -c1-64) &&
	echo ".ntflow/cache/objects/$(echo "$sha" | cut -c1-2)/$(echo "$sha" | cut -c3-)"
}

test_expect_success 'setup: a first run' '
	echo "a,b" >data.csv &&
	printf ".ntflow/\nbuild/\nspawns\nheld\ngo\n" >.gitignore &&
	git add . && git commit -q -m one &&
	ntflow run p.dag >out &&
	cat out
'

test_expect_success 'why: every instance of a matrix stage answers; a node name picks one' '
	cat >expect <<-\EOF &&
	tune[lr=1]: ran: no earlier run
	tune[lr=2]: ran: no earlier run
	EOF
	ntflow why tune >actual &&
	test_cmp expect actual &&
	echo "tune[lr=2]: ran: no earlier run" >expect &&
	ntflow why "tune[lr=2]" >actual &&
	test_cmp expect actual
'

test_expect_success 'why: a gate is never cached, and says so' '
	echo "promote: a gate: evaluated in every run, never cached (succeeded)" >expect &&
	ntflow why promote >actual &&
	test_cmp expect actual
'

test_expect_success 'why: the last run by default, or the one named' '
	ntflow run p.dag >out &&
	c=$(git rev-parse HEAD | cut -c1-7) &&
	d=$(date -u +%Y-%m-%d) &&
	cat >expect <<-EOF &&
	tune[lr=1]: cached: reused the result of run 1 (commit $c, $d)
	tune[lr=2]: cached: reused the result of run 1 (commit $c, $d)
	EOF
	ntflow why tune >actual &&
	test_cmp expect actual &&
	ntflow why 2 tune >actual &&
	test_cmp expect actual &&
	echo "prep: ran: no earlier run" >expect &&
	ntflow why 1 prep >actual &&
	test_cmp expect actual
'

test_expect_success 'why: an unknown stage exits 1 with a suggestion; usage errors exit 2' '
	test_expect_code 1 ntflow why prpe >out 2>err &&
	test_must_be_empty out &&
	echo "ntflow: run 2 has no stage '\''prpe'\''; did you mean '\''prep'\''?" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow why 1 zzzzzz 2>err &&
	echo "ntflow: run 1 has no stage '\''zzzzzz'\''" >expect &&
	test_cmp expect err &&
	test_expect_code 1 ntflow why 9 prep 2>err &&
	grep "no run 9" err &&
	test_expect_code 2 ntflow why 2>err &&
	grep "^usage: ntflow why" err &&
	test_expect_code 2 ntflow why 1 prep extra 2>err &&
	test_expect_code 2 ntflow why abc prep 2>err &&
	grep "'\''abc'\'' is not a run id" err &&
	ntflow help why | grep "^usage: ntflow why"
'

test_expect_success 'cache ls: one line per entry; --json with sizes and outputs' '
	ntflow cache ls >ls.txt &&
	cat ls.txt &&
	grep -E "^KEY +NODE +RUN +COMMIT +CREATED +SIZE$" ls.txt &&
	c=$(git rev-parse HEAD | cut -c1-7) &&
	grep -E "^[0-9a-f]{12} +prep +1 +$c +[0-9-]+ [0-9:]+ +[0-9.]+[BKMG]$" ls.txt &&
	grep -E "^[0-9a-f]{12} +tune\[lr=2\] +1 " ls.txt &&
	test_line_count = 5 ls.txt &&
	ntflow cache ls --json >ls.json &&
	test "$(json_get ls.json "[3]")" != "" &&
	/usr/bin/python3 -c "
import json, sys
e = json.load(open(\"ls.json\"))
assert len(e) == 4, e
assert sorted(x[\"node\"] for x in e) == [\"eval\", \"prep\", \"tune[lr=1]\", \"tune[lr=2]\"], e
ev = [x for x in e if x[\"node\"] == \"eval\"][0]
assert ev[\"size_bytes\"] == len(open(\"build/eval.json\", \"rb\").read()), ev
assert ev[\"outputs\"][0][\"path\"] == \"build/eval.json\", ev
assert ev[\"outputs\"][0][\"digest\"].startswith(\"file:\"), ev
pr = [x for x in e if x[\"node\"] == \"prep\"][0]
assert pr[\"outputs\"][0][\"digest\"].startswith(\"dir:\"), pr
assert pr[\"size_bytes\"] > 51 + 2, pr
assert len(pr[\"key\"]) == 64 and len(pr[\"commit\"]) == 40 and pr[\"run_id\"] == 1, pr
"
'

test_expect_success 'cache verify: a clean store passes' '
	ntflow cache verify >out &&
	cat out &&
	grep -E "^checked [0-9]+ objects: 0 corrupt; 0 of 4 cache entries dropped$" out
'

test_expect_success 'cache verify: a corrupted object is reported and its entry dropped (exit 1)' '
	obj=$(object_of build/prep/rows.txt) &&
	test_path_is_file "$obj" &&
	sha=$(sha256sum build/prep/rows.txt | cut -c1-64) &&
	key=$(ntflow show 1 --json >s1.json && stage_field s1.json prep cache_key | cut -c1-12) &&
	chmod u+w "$obj" &&
	echo "garbage" >>"$obj" &&
	test_expect_code 1 ntflow cache verify >out &&
	cat out &&
	grep -x "corrupt object $sha (removed)" out &&
	grep -x "dropped cache entry $key (prep, run 1): an object it needs is missing or corrupt" out &&
	grep -E "^checked [0-9]+ objects: 1 corrupt; 1 of 4 cache entries dropped$" out &&
	test_path_is_missing "$obj" &&
	ntflow cache ls >ls.txt &&
	! grep " prep " ls.txt &&
	ntflow cache verify >out
'

test_expect_success 'after verify the stage reruns; writing the same bytes, its dependents stay cached' '
	n=$(nspawns) &&
	ntflow run p.dag >out &&
	test "$(tail -n +$((n + 1)) spawns)" = prep &&
	show_json &&
	test "$(stage_field show.json "tune[lr=1]" cached)" = true &&
	test "$(stage_field show.json "tune[lr=2]" cached)" = true &&
	test "$(stage_field show.json eval state)" = cached &&
	ntflow cache verify >out
'

test_expect_success 'cache gc without options removes only objects no entry uses' '
	printf "orphan" >orphan &&
	obj=$(object_of orphan) &&
	mkdir -p "$(dirname "$obj")" &&
	cp orphan "$obj" &&
	touch -d "2 hours ago" "$obj" &&
	ntflow cache ls >before &&
	ntflow cache gc >out &&
	cat out &&
	echo "dropped 0 of 4 cache entries; removed 1 object; freed 6B (6 bytes)" >expect &&
	test_cmp expect out &&
	test_path_is_missing "$obj" &&
	ntflow cache ls >after &&
	test_cmp before after
'

# A put killed midway leaves its copy in objects/tmp; cache verify takes such files only
# after an hour (a put may be in progress), and nothing else took them: under the workspace
# lock none is, and gc removes what is older than its start.
test_expect_success 'cache gc removes what a killed put left in objects/tmp' '
	mkdir -p .ntflow/cache/objects/tmp &&
	printf "partial model" >.ntflow/cache/objects/tmp/put.12345 &&
	touch -d "1 minute ago" .ntflow/cache/objects/tmp/put.12345 &&
	ntflow cache gc >out &&
	cat out &&
	echo "dropped 0 of 4 cache entries; removed 0 objects; freed 13B (13 bytes)" >expect &&
	test_cmp expect out &&
	test_path_is_missing .ntflow/cache/objects/tmp/put.12345
'

test_expect_success 'cache gc --keep-runs 1 drops what the last run did not use, and its objects' '
	ntflow run p.dag -p scale=2 >out &&
	size=$(wc -c <build/eval.json) &&
	ntflow run p.dag >out &&
	test "$(cat build/eval.json)" = "{\"acc\": 0.9, \"s\": 1}" &&
	ntflow cache gc --keep-runs 1 >out &&
	cat out &&
	echo "dropped 1 of 5 cache entries; removed 1 object; freed ${size}B ($size bytes)" >expect &&
	test_cmp expect out &&
	n=$(nspawns) &&
	ntflow run p.dag >out &&
	test "$(nspawns)" = "$n" &&
	ntflow cache verify >out
'

test_expect_success 'cache gc --keep-days 0 keeps what the last successful run used, even after a failed run' '
	ntflow run p.dag -p scale=4 >out &&
	ntflow run p.dag >out &&
	test_expect_code 1 ntflow run p.dag -p scale=3 >out &&
	ntflow cache ls >ls.txt &&
	test_line_count = 6 ls.txt &&
	ntflow cache gc --keep-days 1 >out &&
	grep "^dropped 0 of 5 cache entries; removed 0 objects; freed 0B (0 bytes)$" out &&
	ntflow cache gc --keep-days 0 >out &&
	cat out &&
	grep -E "^dropped 1 of 5 cache entries; removed 1 object; freed [0-9]+B \([0-9]+ bytes\)$" out &&
	n=$(nspawns) &&
	ntflow run p.dag >out &&
	test "$(nspawns)" = "$n" &&
	ntflow run p.dag -p scale=4 >out &&
	test "$(tail -n +$((n + 1)) spawns)" = eval
'

test_expect_success 'cache gc waits for a run in progress (the workspace lock), or refuses with --no-wait' '
	ntflow run wait.dag >wait.out 2>&1 &
	pid=$! &&
	test_when_finished "touch go" &&
	wait_for_file held &&
	test_expect_code 75 ntflow cache gc --no-wait >out 2>err &&
	test_must_be_empty out &&
	grep "holds the workspace lock" err &&
	{ ntflow cache gc >gc.out 2>gc.err & } &&
	gc=$! &&
	wait_until "grep -q \"^ntflow: waiting for run\" gc.err" &&
	test_must_be_empty gc.out &&
	touch go &&
	wait $pid &&
	wait $gc &&
	grep "^dropped 0 of" gc.out
'

test_expect_success 'cache: usage errors exit 2' '
	test_expect_code 2 ntflow cache 2>err &&
	grep "which subcommand" err &&
	test_expect_code 2 ntflow cache lss 2>err &&
	grep "did you mean '\''ls'\''?" err &&
	test_expect_code 2 ntflow cache gc --json 2>err &&
	test_expect_code 2 ntflow cache ls --keep-runs 2 2>err &&
	test_expect_code 2 ntflow cache gc --keep-days x 2>err &&
	grep -- "--keep-days needs a number" err &&
	test_expect_code 2 ntflow cache ls extra 2>err &&
	ntflow help cache | grep "^usage: ntflow cache ls"
'

test_done
