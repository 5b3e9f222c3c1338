#!/bin/sh
# t2000-run-basic.sh: `ntflow run` on a chain: order, progress lines, --dry-run, -p,
# --only/--from, the stage environment, working directory and signals, logs, and the record
# of the run in `ntflow runs`, `ntflow show --json` and `ntflow logs`.
# Runs use --no-cache: caching is not what these tests are about (t3xxx test it).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# A chain one -> two -> three; each checks that its predecessor's file is there.
write_dag chain.dag <<\EOF
pipeline "chain" {
  params {
    word = "hello"
  }
}

stage "one" {
  run     = "echo one >>order && mkdir -p build && echo out-of-one && echo err-of-one >&2 && echo ${params.word} >build/one.txt"
  outputs = ["build/one.txt"]
}

stage "two" {
  needs   = ["one"]
  run     = "test -f build/one.txt && echo two >>order && echo out-of-two && cp build/one.txt build/two.txt"
  outputs = ["build/two.txt"]
}

stage "three" {
  needs   = ["two"]
  run     = "test -f build/two.txt && echo three >>order && echo 3 >build/three.txt"
  outputs = ["build/three.txt"]
}
EOF

# Parameters of each type, seen as ${params.*} and as NTFLOW_PARAM_*.
write_dag params.dag <<\EOF
pipeline "params" {
  params {
    greeting = "hello"
    n        = 3
    flag     = false
    rate     = 0.5
  }
}

stage "show" {
  run = "printf %s ${params.greeting} >p-greeting; printf %s \"$NTFLOW_PARAM_GREETING\" >e-greeting; printf %s ${params.n} >p-n; printf %s \"$NTFLOW_PARAM_N\" >e-n; printf %s ${params.flag} >p-flag; printf %s \"$NTFLOW_PARAM_FLAG\" >e-flag; printf %s ${params.rate} >p-rate"
}
EOF

# The environment of a plain stage and of a matrix instance, from a DAG in a subfolder.
mkdir -p dags tools sub
write_dag dags/env.dag <<\EOF
pipeline "envtest" {
  params {
    seed = 42
  }
  env {
    FROM_PIPELINE = "pipe ${params.seed}"
  }
}

stage "plain" {
  run     = "env | grep '^NTFLOW_' | sort >env-plain.txt && pwd -P >cwd.txt && echo \"$FROM_PIPELINE|$FROM_STAGE\" >blocks.txt && echo '{\"x\": 1}' >m.json"
  metrics = "m.json"
  env {
    FROM_STAGE = "stage ${run.id}"
  }
}

stage "mx" {
  needs = ["plain"]
  matrix {
    k = ["a"]
  }
  run = "env | grep '^NTFLOW_' | sort >env-mx.txt && echo matrix-said"
}
EOF

# What a stage's process has of ntflow's signals: through sh -c (its own status) and exec'd
# directly (its status, into its log).
write_dag sigs.dag <<\EOF
# grep reads its own status (what the shell passed on), not the shell's: a dash that forks
# blocks every signal until its child has exec'd, so /proc/$$ would race.
stage "sh" {
  run = "grep -E '^Sig(Blk|Ign):' /proc/self/status >sigs-sh.txt"
}

stage "direct" {
  run = ["grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"]
}
EOF

# no_sigs FILE: FILE says "SigBlk: 0" and "SigIgn: 0", libc's own signals (32 and 33, out of
# reach of its sigaction: make's posix_spawn leaves them ignored in everything it starts)
# aside.
no_sigs() {
	blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "$1") &&
	ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "$1") &&
	test -n "$blk" && test -n "$ign" &&
	test $((0x$blk)) -eq 0 &&
	test $((0x$ign & ~0x180000000)) -eq 0 && return 0
	echo "no_sigs: $1: blocked $blk, ignored $ign" >&2
	return 1
}

# Two DAG errors: an unknown stage in needs (line 6) and a cycle.
write_dag bad-needs.dag <<\EOF
stage "tune" {
  run = "true"
}

stage "train" {
  needs = ["tuen"]
  run   = "touch ran"
}
EOF
write_dag bad-cycle.dag <<\EOF
stage "a" {
  needs = ["b"]
  run   = "touch ran"
}

stage "b" {
  needs = ["a"]
  run   = "touch ran"
}
EOF

test_expect_success 'a chain runs in order and exits 0' '
	ntflow run --no-cache chain.dag --no-tui >out 2>err &&
	printf "one\ntwo\nthree\n" >expect &&
	test_cmp expect order &&
	echo hello >expect &&
	test_cmp expect build/one.txt &&
	test_cmp expect build/two.txt &&
	test_path_is_file build/three.txt
'

test_expect_success 'progress lines: [done/total] NODE STATE [duration]' '
	grep -E "^\[0/3\] one running$" out &&
	grep -E "^\[1/3\] one succeeded [0-9][0-9.]*(ms|s)$" out &&
	grep -E "^\[1/3\] two running$" out &&
	grep -E "^\[2/3\] two succeeded [0-9][0-9.]*(ms|s)$" out &&
	grep -E "^\[3/3\] three succeeded [0-9][0-9.]*(ms|s)$" out &&
	grep -E "^run [0-9]+ succeeded in " out &&
	# in order: each stage ends before the next starts
	grep -E "^\[[0-9]+/3\] [a-z]+ (running|succeeded)" out | sed "s/ [0-9][0-9.]*m*s$//" >lines &&
	cat >expect <<-\EOF &&
	[0/3] one running
	[1/3] one succeeded
	[1/3] two running
	[2/3] two succeeded
	[2/3] three running
	[3/3] three succeeded
	EOF
	test_cmp expect lines &&
	# a stage s output goes to its log, not to ntflow s
	! grep -e out-of-one -e err-of-one out err
'

test_expect_success 'the run is recorded: ntflow runs lists it' '
	ntflow runs >runs &&
	cat runs &&
	grep -E "(^|[^0-9])1([^0-9]|$).*chain.*succeeded" runs
'

test_expect_success 'show --json: the run succeeded, each stage with attempts, exit code, wall time' '
	show_json 1 &&
	test "$(json_get show.json .run.id)" = 1 &&
	test "$(json_get show.json .run.status)" = succeeded &&
	test "$(json_get show.json .run.params.word)" = hello &&
	for s in one two three
	do
		test "$(stage_field show.json $s state)" = succeeded &&
		test "$(stage_field show.json $s attempts)" = 1 &&
		test "$(stage_field show.json $s exit_code)" = 0 &&
		wall=$(stage_field show.json $s wall_ms) &&
		num_le 0 "$wall" && num_lt "$wall" 60000 || return 1
	done &&
	test "$(json_get show.json ".stages[0].name")" = one &&
	test "$(json_get show.json ".stages[2].name")" = three &&
	# show with no run is the last run
	ntflow show --json >last.json &&
	test "$(json_get last.json .run.id)" = 1
'

test_expect_success 'logs are written at .ntflow/logs/RUN/STAGE.ATTEMPT.log, only when the stage printed' '
	test_path_is_file .ntflow/logs/1/one.1.log &&
	test_path_is_file .ntflow/logs/1/two.1.log &&
	test_path_is_missing .ntflow/logs/1/three.1.log &&
	grep -x out-of-one .ntflow/logs/1/one.1.log &&
	grep -x err-of-one .ntflow/logs/1/one.1.log &&
	grep -x out-of-two .ntflow/logs/1/two.1.log
'

test_expect_success 'ntflow logs RUN STAGE prints the log; without RUN the last run' '
	ntflow logs 1 one >log1 &&
	grep -x out-of-one log1 &&
	grep -x err-of-one log1 &&
	ntflow logs two >log2 &&
	grep -x out-of-two log2 &&
	test_must_fail ntflow logs 1 nosuchstage
'

test_expect_success '--dry-run lists the stages in order and runs nothing' '
	rm -rf order build &&
	ntflow runs >runs-before &&
	ntflow run --no-cache chain.dag --dry-run >plan 2>err &&
	cat plan &&
	sed -n "s/^\([0-9]*\)\. \([a-z]*\): .*/\1 \2/p" plan >names &&
	printf "1 one\n2 two\n3 three\n" >expect &&
	test_cmp expect names &&
	# the plan shows the commands as they would run, parameters expanded
	grep "^1\. one: echo one >>order.* echo hello >build/one.txt$" plan &&
	test_path_is_missing order &&
	test_path_is_missing build &&
	ntflow runs >runs-after &&
	test_cmp runs-before runs-after
'

test_expect_success '-n is --dry-run; --dry-run with -p shows the override' '
	ntflow run -n chain.dag -p word=bye >plan &&
	grep "^1\. one: .*echo bye >build/one.txt$" plan &&
	test_path_is_missing order
'

# A value's escape sequence would clear the screen, its line break split the line: shown
# as \xNN by the plan and by show (the stage itself gets the bytes).
test_expect_success '--dry-run and show print the control characters of a value as \xNN' '
	esc=$(printf "a\033[2Jb\nc") &&
	ntflow run -n chain.dag -p "word=$(printf "a\033[2Jb")" >plan &&
	grep -F "echo '\''a\x1b[2Jb'\'' >build/one.txt" plan &&
	test_line_count = 3 plan &&
	ntflow run --no-tui chain.dag -p "word=$esc" >/dev/null &&
	ntflow show >show &&
	grep -xF "params    word=a\x1b[2Jb\x0ac" show &&
	printf "%s\n" "$esc" >expect &&
	test_cmp expect build/one.txt
'

# The listings and the messages that quote a value: runs --params and diff (tables), why
# (a miss that names the value), and the error of a -p whose name is unknown.
test_expect_success 'runs --params, diff, why and a -p error print control characters as \xNN' '
	ntflow run --no-tui chain.dag -p "word=$(printf "x\033]0;T\007y")" >/dev/null &&
	ntflow runs --params >runs &&
	grep -F "x\x1b]0;T\x07y" runs &&
	ntflow diff >diff &&
	grep -F "x\x1b]0;T\x07y" diff &&
	ntflow why one >why &&
	grep -F "x\x1b]0;T\x07y" why &&
	test_expect_code 2 ntflow run --no-tui chain.dag -p "$(printf "wo\033[2Jrd")=1" 2>err &&
	grep -F "no parameter '\''wo\x1b[2Jrd'\''" err &&
	for f in runs diff why err; do
		! grep -q "$(printf "\033")" $f || return 1
	done
'

# What show, a run's progress lines, audit show, an option's error and a pipeline file's
# diagnostics quote: a reason naming an output path made of a value, a metric's name a stage
# wrote, an argument, a stage's name. (A metric file written with printf: its name holds
# an escape and a C1 CSI.)
test_expect_success 'show, progress lines, audit show and error messages print control characters as \xNN' '
	mkdir -p escp && cat >escp/esc.dag <<-\EOF &&
	pipeline "esc" {
	  params {
	    word = "x"
	  }
	}

	stage "mk" {
	  run     = "true"
	  outputs = ["build/${params.word}"]
	}

	stage "met" {
	  run     = "mkdir -p build && printf \"{\\\"a\\\\u001b[2Jb\\\": 1, \\\"c\\\\u009bd\\\": 2}\" >build/m.json"
	  metrics = "build/m.json"
	}
	EOF
	test_expect_code 1 ntflow run --no-tui escp/esc.dag -p "word=$(printf "w\033[2Jz\302\233q")" >out 2>err &&
	grep -F "did not write its output '\''build/w\x1b[2Jz\xc2\x9bq'\''" out &&
	ntflow show >show &&
	grep -F "build/w\x1b[2Jz\xc2\x9bq" show &&
	grep -F "a\x1b[2Jb" show &&
	grep -F "c\xc2\x9bd" show &&
	ntflow audit show >audit &&
	grep -F "z\xc2\x9bq" audit &&
	test_expect_code 2 ntflow runs --limit "$(printf "X\033[2JY")" 2>lim &&
	grep -F "X\x1b[2JY" lim &&
	printf "stage \"s\033[2J\" {\n  run = \"true\"\n}\n" >escp/bad.dag &&
	test_expect_code 2 ntflow validate escp/bad.dag 2>diag &&
	grep -F "s\x1b[2J" diag &&
	for f in out show audit lim diag; do
		! grep -q "$(printf "\033")" $f || return 1
		! grep -q "$(printf "\302\233")" $f || return 1
	done
'

test_expect_success 'parameters: defaults reach ${params.*} and NTFLOW_PARAM_*' '
	ntflow run --no-cache params.dag --no-tui &&
	test "$(cat p-greeting)" = hello &&
	test "$(cat e-greeting)" = hello &&
	test "$(cat p-n)" = 3 &&
	test "$(cat e-n)" = 3 &&
	test "$(cat p-flag)" = false &&
	test "$(cat e-flag)" = false &&
	test "$(cat p-rate)" = 0.5
'

test_expect_success '-p overrides reach ${params.*} and NTFLOW_PARAM_*' '
	ntflow run --no-cache params.dag --no-tui -p greeting=bonjour -p n=7 --param flag=true -p rate=1e-3 &&
	test "$(cat p-greeting)" = bonjour &&
	test "$(cat e-greeting)" = bonjour &&
	test "$(cat p-n)" = 7 &&
	test "$(cat e-n)" = 7 &&
	test "$(cat p-flag)" = true &&
	test "$(cat e-flag)" = true &&
	test "$(cat p-rate)" = 1e-3 &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.params.greeting)" = bonjour &&
	test "$(json_get show.json .run.params.n)" = 7
'

test_expect_success 'the last -p of a name wins' '
	ntflow run --no-cache params.dag --no-tui -p n=1 -p n=2 &&
	test "$(cat p-n)" = 2
'

test_expect_success 'bad -p: unknown name (with a suggestion), wrong type, no "=": exit 2, nothing runs' '
	rm -f p-greeting &&
	ntflow runs >runs-before &&
	test_expect_code 2 ntflow run --no-cache params.dag --no-tui -p greting=x 2>err &&
	cat err &&
	grep "greting" err &&
	grep "did you mean .greeting.?" err &&
	test_expect_code 2 ntflow run --no-cache params.dag --no-tui -p n=abc 2>err &&
	grep "abc" err && grep "number" err &&
	test_expect_code 2 ntflow run --no-cache params.dag --no-tui -p n= 2>err &&
	grep "number" err &&
	test_expect_code 2 ntflow run --no-cache params.dag --no-tui -p flag=maybe 2>err &&
	grep "true or false" err &&
	test_expect_code 2 ntflow run --no-cache params.dag --no-tui -p rate=1.5x 2>err &&
	test_expect_code 2 ntflow run --no-cache params.dag --no-tui -p noequals 2>err &&
	grep "NAME=VALUE" err &&
	test_expect_code 2 ntflow run --no-cache params.dag --no-tui -p =x 2>err &&
	test_path_is_missing p-greeting &&
	ntflow runs >runs-after &&
	test_cmp runs-before runs-after
'

test_expect_success 'a DAG error: exit 2, file:line:col: error:, nothing runs' '
	test_expect_code 2 ntflow run bad-needs.dag --no-tui >out 2>err &&
	cat err &&
	grep -E "^bad-needs\.dag:6:[0-9]+: error: .*tuen" err &&
	test_path_is_missing ran &&
	test_expect_code 2 ntflow run bad-cycle.dag --no-tui 2>err &&
	cat err &&
	grep -E "^bad-cycle\.dag:[0-9]+:[0-9]+: error: .*(a -> b -> a|b -> a -> b)" err &&
	test_path_is_missing ran
'

# DESIGN.md's own example; nf_suggest counts a transposition as two edits (Levenshtein),
# too many for a four-letter name.
test_expect_success 'a transposed stage name gets a suggestion (DESIGN.md example)' '
	test_expect_code 2 ntflow run bad-needs.dag --no-tui 2>err &&
	grep "bad-needs.dag:6:[0-9]*: error: .*\"tuen\"; did you mean \"tune\"?" err
'

test_expect_success 'usage errors: exit 2' '
	test_expect_code 2 ntflow run --no-tui 2>err &&
	test_expect_code 2 ntflow run --no-cache chain.dag params.dag 2>err &&
	test_expect_code 2 ntflow run --no-cache chain.dag -j 0 2>err &&
	test_expect_code 2 ntflow run --no-cache chain.dag --date 2026-02-30 2>err &&
	grep "2026-02-30" err &&
	test_expect_code 2 ntflow run --no-cache chain.dag --bogus 2>err
'

test_expect_success 'a missing DAG file is an error naming it' '
	test_must_fail ntflow run --no-cache nosuch.dag --no-tui 2>err &&
	grep "nosuch.dag" err
'

test_expect_success '--only runs just the named stage' '
	rm -rf order build &&
	mkdir build &&
	echo hello >build/one.txt &&
	ntflow run --no-cache chain.dag --no-tui --only two >out &&
	echo two >expect &&
	test_cmp expect order &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json two state)" = succeeded &&
	test "$(stage_field show.json one state)" != succeeded &&
	test "$(stage_field show.json three state)" != succeeded
'

test_expect_success '--only twice runs both' '
	rm -f order &&
	ntflow run --no-cache chain.dag --no-tui --only three --only one &&
	# three needs only two, which is not selected: it need not wait for one
	sort order >sorted &&
	printf "one\nthree\n" >expect &&
	test_cmp expect sorted
'

test_expect_success '--from runs the stage and everything downstream' '
	rm -f order &&
	ntflow run --no-cache chain.dag --no-tui --from two &&
	printf "two\nthree\n" >expect &&
	test_cmp expect order
'

test_expect_success '--only/--from of an unknown stage: exit 2 with a suggestion' '
	rm -f order &&
	test_expect_code 2 ntflow run --no-cache chain.dag --no-tui --only twoo 2>err &&
	grep "did you mean .two.?" err &&
	test_expect_code 2 ntflow run --no-cache chain.dag --no-tui --from thre 2>err &&
	grep "did you mean .three.?" err &&
	test_path_is_missing order
'

test_expect_success 'the stage environment: NTFLOW_* identity, params, metrics file, env blocks' '
	(cd sub && NTFLOW_STAGE=leaked NTFLOW_RUN_ID=999 ntflow run ../dags/env.dag --no-tui) >out &&
	run=$(sed -n "s/^run \([0-9]*\) of envtest.*/\1/p" out) &&
	test -n "$run" &&
	root=$(pwd -P) &&
	grep -x "NTFLOW_RUN_ID=$run" env-plain.txt &&
	grep -x "NTFLOW_STAGE=plain" env-plain.txt &&
	grep -x "NTFLOW_NODE=plain" env-plain.txt &&
	grep -x "NTFLOW_ATTEMPT=1" env-plain.txt &&
	grep -x "NTFLOW_PARAM_SEED=42" env-plain.txt &&
	grep -x "NTFLOW_METRICS_FILE=$root/m.json" env-plain.txt &&
	! grep "^NTFLOW_INSTANCE=" env-plain.txt &&
	! grep "^NTFLOW_MATRIX_" env-plain.txt &&
	! grep "leaked" env-plain.txt &&
	echo "pipe 42|stage $run" >expect &&
	test_cmp expect blocks.txt &&
	grep -x "NTFLOW_STAGE=mx" env-mx.txt &&
	grep -x "NTFLOW_NODE=mx\[k=a\]" env-mx.txt &&
	grep -x "NTFLOW_MATRIX_K=a" env-mx.txt &&
	grep "^NTFLOW_INSTANCE=." env-mx.txt &&
	grep -x "NTFLOW_RUN_ID=$run" env-mx.txt &&
	! grep "^NTFLOW_METRICS_FILE=" env-mx.txt
'

test_expect_success 'stages run at the root of the git repository holding the DAG' '
	echo "$(pwd -P)" >expect &&
	test_cmp expect cwd.txt &&
	test_path_is_missing sub/cwd.txt &&
	test_path_is_missing dags/cwd.txt
'

test_expect_success 'the workspace is .ntflow at the repository root; a matrix log has @INSTANCE' '
	(cd sub && ntflow show --json) >show.json &&
	run=$(json_get show.json .run.id) &&
	test_path_is_file .ntflow/state.db &&
	test_path_is_missing sub/.ntflow &&
	test_path_is_missing dags/.ntflow &&
	inst=$(sed -n "s/^NTFLOW_INSTANCE=//p" env-mx.txt) &&
	test_path_is_file ".ntflow/logs/$run/mx@$inst.1.log" &&
	grep -x matrix-said ".ntflow/logs/$run/mx@$inst.1.log" &&
	# plain printed nothing: it has no log
	test_path_is_missing ".ntflow/logs/$run/plain.1.log"
'

test_expect_success 'the run records the git commit it ran at' '
	git add chain.dag &&
	git commit -q -m chain &&
	ntflow run --no-cache chain.dag --no-tui >out &&
	ntflow show --json >show.json &&
	git rev-parse HEAD >expect &&
	json_get show.json .run.commit >actual &&
	test_cmp expect actual &&
	ntflow runs >runs &&
	grep "$(git rev-parse --short=7 HEAD)" runs
'

test_expect_success '--json: one JSON object per line, the last with the status' '
	ntflow run --no-cache chain.dag --json >out.jsonl &&
	/usr/bin/python3 -c "
import json, sys
lines = [json.loads(l) for l in open(\"out.jsonl\")]
assert lines[0][\"event\"] == \"start\", lines[0]
assert lines[-1][\"event\"] == \"end\" and lines[-1][\"status\"] == \"succeeded\", lines[-1]
states = [(l[\"node\"], l[\"state\"]) for l in lines if l[\"event\"] == \"state\"]
assert (\"three\", \"succeeded\") in states, states
assert states.index((\"one\", \"succeeded\")) < states.index((\"two\", \"running\")), states
"
'

test_expect_success 'a stage starts with no signal ignored or blocked, under an ntflow started with SIGHUP, SIGINT and SIGPIPE ignored' '
	(trap "" HUP INT PIPE && exec grep "^SigIgn:" /proc/self/status) >ign &&
	ign=$(sed -n "s/^SigIgn:[[:space:]]*//p" ign) &&
	test $((0x$ign & 0x1003)) -eq $((0x1003)) &&
	(trap "" HUP INT PIPE && exec ntflow run --no-cache sigs.dag --no-tui) >out &&
	no_sigs sigs-sh.txt &&
	ntflow logs direct >sigs-direct.txt &&
	no_sigs sigs-direct.txt
'

test_expect_success 'into a file, the lines of a turn go out before the run waits: a running stage is in the log while it runs' '
	cat >slow-log.dag <<-\EOF &&
	pipeline "slowlog" {
	}
	stage "first" {
	  run = "true"
	}
	stage "waits" {
	  needs = ["first"]
	  run   = "touch waits.ready; while ! test -e waits.go; do sleep 0.1; done"
	}
	EOF
	rm -f waits.ready waits.go &&
	{ ntflow run --no-cache slow-log.dag --no-tui >slow.out 2>&1 & pid=$!; } &&
	wait_for_file waits.ready &&
	wait_until "grep \"first succeeded\" slow.out && grep \"waits running\" slow.out" 50 &&
	touch waits.go &&
	wait $pid &&
	grep "waits succeeded" slow.out
'

test_done
