#!/bin/sh
# t3010-cache-early-cutoff.sh: downstream keys use the upstream's output digests, not its
# key. An upstream whose command changed but which wrote the same bytes reruns alone: its
# dependents stay cached. When its bytes do change, its dependents rerun (`why` says the
# upstream produced different outputs), and one of them that writes the same bytes as
# before cuts the chain again. Folder outputs are compared by content too.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# p.dag is written by each test from a template: $1 is the upstream's command.
gen_dag() {
	cat >p.dag <<EOF
pipeline "cutoff" {}

stage "gen" {
  run     = "echo gen >>spawns && mkdir -p build/gen && $1"
  outputs = ["build/gen/"]
}

stage "use" {
  needs   = ["gen"]
  run     = "echo use >>spawns && cat build/gen/a.txt build/gen/b.txt | tr a-z A-Z >build/use.txt"
  outputs = ["build/use.txt"]
}

stage "last" {
  needs   = ["use"]
  run     = "echo last >>spawns && wc -c <build/use.txt >build/last.txt"
  outputs = ["build/last.txt"]
}
EOF
}

spawns_since() { tail -n +"$(($1 + 1))" spawns | sort | tr '\n' ' '; }
nspawns() { if test -f spawns; then wc -l <spawns; else echo 0; fi; }

test_expect_success 'setup: a first run' '
	printf ".ntflow/\nbuild/\nspawns\n" >.gitignore &&
	gen_dag "printf hello >build/gen/a.txt && printf world >build/gen/b.txt" &&
	git add . && git commit -q -m one &&
	ntflow run p.dag >out &&
	test "$(spawns_since 0)" = "gen last use "
'

test_expect_success 'the upstream command changes but writes the same bytes: only it reruns' '
	n=$(nspawns) &&
	gen_dag "printf world >build/gen/b.txt && printf hel >build/gen/a.txt && printf lo >>build/gen/a.txt" &&
	git commit -q -a -m "same bytes, another way" &&
	ntflow run p.dag >out &&
	cat out &&
	test "$(spawns_since $n)" = "gen " &&
	show_json &&
	test "$(stage_field show.json gen state)" = succeeded &&
	test "$(stage_field show.json gen miss_reason)" = "command changed" &&
	test "$(stage_field show.json use state)" = cached &&
	test "$(stage_field show.json use reused_run)" = 1 &&
	test "$(stage_field show.json last state)" = cached &&
	echo "gen: ran: command changed" >expect &&
	ntflow why gen >actual &&
	test_cmp expect actual &&
	ntflow why use >actual &&
	grep "^use: cached: reused the result of run 1 (commit " actual
'

test_expect_success 'new bytes upstream: the dependent reruns, says why, and writes the same bytes: the next one stays cached' '
	n=$(nspawns) &&
	gen_dag "printf HELLO >build/gen/a.txt && printf world >build/gen/b.txt" &&
	git commit -q -a -m "other bytes" &&
	ntflow run p.dag >out &&
	test "$(spawns_since $n)" = "gen use " &&
	echo "use: ran: upstream gen produced different outputs" >expect &&
	ntflow why use >actual &&
	test_cmp expect actual &&
	show_json &&
	test "$(stage_field show.json last state)" = cached &&
	test "$(cat build/use.txt)" = HELLOWORLD
'

test_expect_success 'bytes that change all the way down rerun everything downstream' '
	n=$(nspawns) &&
	gen_dag "printf hello >build/gen/a.txt && printf there >>build/gen/a.txt && printf world >build/gen/b.txt" &&
	git commit -q -a -m "longer" &&
	ntflow run p.dag >out &&
	test "$(spawns_since $n)" = "gen last use " &&
	echo "last: ran: upstream use produced different outputs" >expect &&
	ntflow why last >actual &&
	test_cmp expect actual &&
	test "$(cat build/last.txt)" = 15
'

test_expect_success 'a new file inside the folder output is a change downstream' '
	n=$(nspawns) &&
	gen_dag "printf hellothere >build/gen/a.txt && printf world >build/gen/b.txt && mkdir -p build/gen/d && touch build/gen/d/e" &&
	git commit -q -a -m "one more file" &&
	ntflow run p.dag >out &&
	test "$(spawns_since $n)" = "gen use " &&
	echo "use: ran: upstream gen produced different outputs" >expect &&
	ntflow why use >actual &&
	test_cmp expect actual
'

test_done
