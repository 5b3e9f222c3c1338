#!/bin/sh
# t2320-inferred-deps.sh: issue 17's dependencies inferred from files. A stage whose input
# is another stage's output waits for it without `needs` (it used to start at the same time
# and fail); an input inside an output folder, and a folder holding outputs, count too;
# `graph` marks inferred edges in its three forms; a cycle made by them is reported like
# any other; `validate` reports an input that nothing makes and that is not there, with its
# file:line:col, and exit 2.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# make writes build/data/part.csv a moment after it starts; use reads it, and all a folder
# holding it; neither names make in needs.
write_dag p.dag <<\EOF
stage "make" {
  run     = "sleep 0.3 && mkdir -p build/data && echo 1,2 >build/data/part.csv && touch make.done"
  outputs = ["build/data/"]
}

stage "use" {
  run     = "test -e make.done && cat build/data/part.csv >use.txt"
  inputs  = ["build/data/part.csv"]
  outputs = ["use.txt"]
}

stage "all" {
  run     = "ls build >all.txt"
  inputs  = ["build/"]
  outputs = ["all.txt"]
}
EOF

test_expect_success 'setup' '
	printf "/.ntflow/\n/build/\n*.txt\n*.done\n" >.gitignore &&
	git add . && git commit -q -m pipeline
'

test_expect_success 'a stage reading another stage'"'"'s output waits for it, without needs' '
	ntflow validate p.dag &&
	ntflow run --no-tui -j 4 p.dag >out 2>err &&
	echo 1,2 >expect &&
	test_cmp expect use.txt &&
	echo data >expect &&
	test_cmp expect all.txt &&
	show_json &&
	test "$(stage_field show.json use state)" = succeeded
'

test_expect_success 'a change upstream reruns the reader (the upstream digest is in its key)' '
	ntflow run --no-tui -j 4 p.dag >out 2>err &&
	grep "use cached" out &&
	sed -i "s/echo 1,2/echo 3,4/" p.dag &&
	ntflow run --no-tui -j 4 p.dag >out 2>err &&
	grep "use succeeded" out &&
	echo 3,4 >expect &&
	test_cmp expect use.txt
'

test_expect_success 'graph marks inferred edges: text, dot and json' '
	ntflow graph p.dag >g.txt &&
	grep -x "  needs: make (inferred)" g.txt &&
	ntflow graph --format dot p.dag >g.dot &&
	grep -F "n0 -> n1 [style=dashed];" g.dot &&
	ntflow graph --format json p.dag >g.json &&
	test "$(json_get g.json ".nodes[1].inferred[0]")" = make
'

test_expect_success 'needs and an inferred edge to the same stage: one edge, not marked inferred' '
	sed "s/^  inputs  = \[\"build\/data\/part.csv\"\]/  needs   = [\"make\"]\n&/" p.dag >n.dag &&
	grep "needs   = \[\"make\"\]" n.dag &&
	ntflow graph n.dag >g.txt &&
	grep -x "  needs: make" g.txt
'

test_expect_success 'a cycle made by inferred edges is reported, with the input that makes it' '
	cat >cyc.dag <<-\EOF &&
	stage "a" {
	  run     = "true"
	  inputs  = ["b.out"]
	  outputs = ["a.out"]
	}
	stage "b" {
	  run     = "true"
	  inputs  = ["a.out"]
	  outputs = ["b.out"]
	}
	EOF
	test_expect_code 2 ntflow validate cyc.dag 2>err &&
	cat >expect <<-\EOF &&
	cyc.dag:1:1: error: dependency cycle: a -> b -> a
	cyc.dag:3:14: note: stage "a" needs "b" through this input ("b.out"), inferred from the outputs of "b"
	cyc.dag:8:14: note: stage "b" needs "a" through this input ("a.out"), inferred from the outputs of "a"
	EOF
	test_cmp expect err
'

test_expect_success 'validate: an input nothing makes and that is not there is an error at its place' '
	cat >miss.dag <<-\EOF &&
	stage "a" {
	  run     = "true"
	  inputs  = ["p.dag", "data/raw.csv", "build/data/part.csv", "data/${run.week}.csv"]
	  outputs = ["a.out"]
	}
	EOF
	test_expect_code 2 ntflow validate miss.dag 2>err &&
	echo "miss.dag:3:23: error: input \"data/raw.csv\" of stage \"a\" does not exist and no stage declares it as an output" >expect &&
	test_cmp expect err &&
	mkdir data && touch data/raw.csv &&
	ntflow validate miss.dag
'

test_expect_success 'templated paths: inferred from the folder before a per-instance value' '
	cat >tpl.dag <<-\EOF &&
	stage "tune" {
	  matrix {
	    lr = [1, 2]
	  }
	  run     = "mkdir -p build/tune/${matrix.id} && echo ${matrix.lr} >build/tune/${matrix.id}/m"
	  outputs = ["build/tune/${matrix.id}/"]
	}
	stage "pick" {
	  run     = "cat build/tune/*/m | sort >pick.txt"
	  inputs  = ["build/tune/"]
	  outputs = ["pick.txt"]
	}
	stage "week" {
	  run     = "echo w >w-${run.week}.txt"
	  outputs = ["w-${run.week}.txt"]
	}
	stage "read" {
	  run     = "cat w-${run.week}.txt >read.txt"
	  inputs  = ["w-${run.week}.txt"]
	  outputs = ["read.txt"]
	}
	EOF
	ntflow graph tpl.dag >g.txt &&
	grep -x "  needs: tune (2 instances) (inferred)" g.txt &&
	grep -x "  needs: week (inferred)" g.txt &&
	ntflow run --no-tui -j 4 tpl.dag >out 2>err &&
	printf "1\n2\n" >expect &&
	test_cmp expect pick.txt &&
	echo w >expect &&
	test_cmp expect read.txt
'

# A folder input holding an upstream's output and files of its own (a code generator
# writing into src/): the upstream's digest covers only what it wrote, so the folder is
# identified by git as any input is, with that output left out: an edit of its other files
# reruns the reader, and a change upstream reruns it once, not twice (git's status, taken
# at the start of a run, knows nothing of what the upstream wrote), whether git ignores
# the generated file, sees it untracked, or tracks it.
gen_repo() {
	mkdir "$1" && (
	cd "$1" &&
	git init -q . &&
	git config user.email t@example.com && git config user.name t &&
	mkdir src &&
	echo "int main(void) { return 1; }" >src/main.c &&
	printf "/.ntflow/\n/out/\n$2" >.gitignore &&
	cat >p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    x = 1
	  }
	}
	stage "gen" {
	  run     = "echo \"#define X ${params.x}\" >src/gen.h"
	  outputs = ["src/gen.h"]
	}
	stage "build" {
	  inputs  = ["src/"]
	  run     = "mkdir -p out && cat src/main.c src/gen.h >out/prog"
	  outputs = ["out/prog"]
	}
	EOF
	git add . && git commit -q -m init &&
	ntflow run --no-tui p.dag >out.txt 2>err.txt &&
	ntflow run --no-tui p.dag >out.txt 2>err.txt &&
	grep "build cached" out.txt
	)
}

test_expect_success 'a folder input holding an upstream output: its other files are keyed too' '
	gen_repo gen "/src/gen.h\n" && (
	cd gen &&
	echo "int main(void) { return 2; }" >src/main.c &&
	ntflow run --no-tui p.dag >out.txt 2>err.txt &&
	grep "build succeeded" out.txt &&
	grep -F "return 2" out/prog &&
	git commit -q -am edit &&
	ntflow run --no-tui p.dag >out.txt 2>err.txt &&
	grep "build cached" out.txt &&
	echo "int main(void) { return 3; }" >src/main.c &&
	git commit -q -am edit &&
	ntflow run --no-tui p.dag >out.txt 2>err.txt &&
	grep "build succeeded" out.txt &&
	grep -F "return 3" out/prog &&
	ntflow why build >why.txt &&
	grep "input src/ changed" why.txt
	)
'

test_expect_success 'a generated file git sees in a folder input: one rerun per change upstream' '
	gen_repo gen2 "" && (
	cd gen2 &&
	ntflow run --no-tui -p x=2 p.dag >out.txt 2>err.txt &&
	grep "build succeeded" out.txt &&
	ntflow run --no-tui -p x=2 p.dag >out.txt 2>err.txt &&
	grep "build cached" out.txt &&
	git add src/gen.h && git commit -q -m gen &&
	ntflow run --no-tui -p x=3 p.dag >out.txt 2>err.txt &&
	grep "build succeeded" out.txt &&
	ntflow run --no-tui -p x=3 p.dag >out.txt 2>err.txt &&
	grep "build cached" out.txt &&
	grep -F "#define X 3" out/prog
	)
'

# A stage reading another stage's metrics file (one in no output: that stage writes it)
# waits for it, as for an output.
test_expect_success 'an input that is another stage'"'"'s metrics file: an inferred edge' '
	mkdir mx && (
	cd mx &&
	git init -q . &&
	git config user.email t@example.com && git config user.name t &&
	printf "%s\n" "sleep 0.3" "mkdir -p m" "echo \"{\\\"auc\\\": 0.9}\" >m/metrics.json" >ev.sh &&
	cat >p.dag <<-\EOF &&
	stage "ev" {
	  run     = "sh ev.sh"
	  metrics = "m/metrics.json"
	}
	stage "report" {
	  inputs  = ["m/metrics.json"]
	  run     = "cat m/metrics.json >report.txt"
	  outputs = ["report.txt"]
	}
	EOF
	printf "/.ntflow/\n/m/\n/report.txt\n" >.gitignore &&
	git add . && git commit -q -m init &&
	ntflow graph p.dag >g.txt &&
	grep -x "  needs: ev (inferred)" g.txt &&
	ntflow run --no-tui -j 2 p.dag >out.txt 2>err.txt &&
	grep -F "\"auc\": 0.9" report.txt
	)
'

# The metrics file committed (DVC keeps them in git): its reader, and the reader of the
# folder holding it, rerun once after a change upstream, not twice (it is keyed on the
# upstream's digest, not on what git's status said at the start of the run).
test_expect_success 'a tracked metrics file: its readers rerun once per change upstream' '
	mkdir mt && (
	cd mt &&
	git init -q . &&
	git config user.email t@example.com && git config user.name t &&
	mkdir rep &&
	printf "%s\n" "mkdir -p rep" "echo \"{\\\"x\\\": \$(cat a.in)}\" >rep/m.json" >a.sh &&
	cat >p.dag <<-\EOF &&
	stage "a" {
	  inputs  = ["a.in", "a.sh"]
	  run     = "sh a.sh"
	  metrics = "rep/m.json"
	}
	stage "b" {
	  inputs  = ["rep/m.json"]
	  run     = "cat rep/m.json >b.txt"
	  outputs = ["b.txt"]
	}
	stage "c" {
	  inputs  = ["rep/"]
	  run     = "cat rep/* >c.txt"
	  outputs = ["c.txt"]
	}
	EOF
	echo 1 >a.in && echo "{\"x\": 1}" >rep/m.json && echo n >rep/note.txt &&
	printf "/.ntflow/\n/b.txt\n/c.txt\n" >.gitignore &&
	git add . && git commit -q -m init &&
	ntflow run --no-tui p.dag >out.txt 2>err.txt &&
	echo 2 >a.in &&
	ntflow run --no-tui p.dag >out.txt 2>err.txt &&
	grep "b succeeded" out.txt && grep "c succeeded" out.txt &&
	ntflow run --no-tui p.dag >out.txt 2>err.txt &&
	grep "b cached" out.txt && grep "c cached" out.txt
	)
'

test_done
