#!/bin/sh
# t2064-direct-exec.sh: a `run` command with no shell syntax is exec'd without /bin/sh (as
# GNU make does) and behaves exactly as the same command through the shell: outputs, exit
# statuses, retries and logs; a program not found is status 127 in both; `run` as a list of
# words is one argv word per element, whatever its value holds, and runs no shell code; the
# cache tells "a b", ["a", "b"] and ["a b"] apart; a stage that prints nothing has no log,
# and `ntflow logs` says so.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# tool.sh OUT CODE ARGS...: prints its arguments in brackets to stdout and a line to stderr,
# writes them to OUT, records which program started it in OUT.parent (not in the log, so
# that the logs of both modes can be compared), appends to OUT.count, exits CODE.
cat >tool.sh <<\EOF
#!/bin/sh
out=$1 code=$2
shift 2
for a; do printf '[%s]' "$a"; done; echo
echo "to stderr" >&2
for a; do printf '[%s]' "$a"; done >"$out"
cat /proc/$PPID/comm >"$out.parent"
echo x >>"$out.count"
exit "$code"
EOF
chmod +x tool.sh

write_dag modes.dag <<\EOF
pipeline "modes" {
  params {
    v = "two  words; $(touch pwned) *"
  }
}

stage "direct" {
  run     = "./tool.sh out-direct 3 a\tb ${params.v} x${params.v}y"
  retries = 1
  backoff = "0s"
}

# The same command forced through the shell: `exit $?` is shell syntax, and the shell must
# fork for tool.sh before it runs the built-in.
stage "shell" {
  run     = "./tool.sh out-shell 3 a\tb ${params.v} x${params.v}y; exit $?"
  retries = 1
  backoff = "0s"
}
EOF

write_dag missing.dag <<\EOF
stage "direct" {
  run = "ntflow-no-such-program arg"
}
stage "shell" {
  run = "ntflow-no-such-program arg; exit $?"
}
stage "listed" {
  run = ["ntflow-no-such-program", "arg"]
}
EOF

write_dag list.dag <<\EOF
pipeline "list" {
  params {
    v = "a b;c $(touch pwned) `touch pwned` *.sh ~ 'q' \"d\" \\"
  }
}

stage "words" {
  run = ["./tool.sh", "out-list", "0", "${params.v}", "one word", "", "pre-${params.v}"]
}
EOF

write_dag quiet.dag <<\EOF
stage "silent" {
  run = "true"
}
stage "silent-sh" {
  run = "true; true"
}
stage "talks" {
  needs = ["silent", "silent-sh"]
  run   = "./tool.sh out-talks 0 hi"
}
EOF

test_expect_success 'setup' '
	printf "/.ntflow/\n/out-*\n" >.gitignore &&
	git add . && git commit -q -m pipelines
'

test_expect_success 'a shell-free stage is exec'"'"'d without /bin/sh; the shell one through it' '
	test_expect_code 1 ntflow run -k --no-tui modes.dag >out 2>err &&
	grep -v "^sh$" out-direct.parent &&
	grep -x sh out-shell.parent &&
	test_path_is_missing pwned
'

test_expect_success 'both give the same outputs, exit statuses, retries and logs' '
	test_cmp out-direct out-shell &&
	printf "[a]" >expect &&
	printf "[b][two  words; \$(touch pwned) *][xtwo  words; \$(touch pwned) *y]" >>expect &&
	test_cmp expect out-direct &&
	test_line_count = 2 out-direct.count &&
	test_line_count = 2 out-shell.count &&
	grep "^\[./.\] direct failed\( [0-9.]*m\?s\)\?: exit 3" out &&
	grep "^\[./.\] shell failed\( [0-9.]*m\?s\)\?: exit 3" out &&
	for a in 1 2; do
		test_cmp .ntflow/logs/1/direct.$a.log .ntflow/logs/1/shell.$a.log || return 1
	done &&
	{ cat expect && echo && echo "to stderr"; } >expect.log &&
	test_cmp expect.log .ntflow/logs/1/direct.1.log
'

test_expect_success 'a program not found: status 127 in both modes, said in the log' '
	test_expect_code 1 ntflow run -k --no-tui missing.dag >out 2>err &&
	run=$(ntflow runs --json | json_get /dev/stdin "[0].id") &&
	for s in direct shell listed; do
		grep "^\[./.\] $s failed.*: exit 127" out || return 1
	done &&
	echo "ntflow: ntflow-no-such-program: not found" >expect &&
	test_cmp expect .ntflow/logs/$run/direct.1.log &&
	test_cmp expect .ntflow/logs/$run/listed.1.log &&
	grep "ntflow-no-such-program: not found" .ntflow/logs/$run/shell.1.log
'

test_expect_success 'run as a list: each element one argv word, no shell code runs' '
	ntflow run --no-tui list.dag >out 2>err &&
	v="a b;c \$(touch pwned) \`touch pwned\` *.sh ~ '"'"'q'"'"' \"d\" \\" &&
	printf "[%s][one word][][pre-%s]" "$v" "$v" >expect &&
	test_cmp expect out-list &&
	grep -v "^sh$" out-list.parent &&
	test_path_is_missing pwned
'

test_expect_success 'the cache tells "a b", ["a", "b"] and ["a b"] apart' '
	cat >c.dag <<-\EOF &&
	stage "c" {
	  run     = "./tool.sh out-c 0 a b"
	  outputs = ["out-c"]
	}
	EOF
	git add c.dag && git commit -q -m c &&
	ntflow run --no-tui c.dag >out &&
	ntflow run --no-tui c.dag >out &&
	grep "c cached" out &&
	cat >c.dag <<-\EOF &&
	stage "c" {
	  run     = ["./tool.sh", "out-c", "0", "a", "b"]
	  outputs = ["out-c"]
	}
	EOF
	git commit -q -am list &&
	ntflow run --no-tui c.dag >out &&
	grep "c succeeded" out &&
	printf "[a][b]" >expect && test_cmp expect out-c &&
	ntflow run --no-tui c.dag >out &&
	grep "c cached" out &&
	cat >c.dag <<-\EOF &&
	stage "c" {
	  run     = ["./tool.sh", "out-c", "0", "a b"]
	  outputs = ["out-c"]
	}
	EOF
	git commit -q -am one-word &&
	ntflow run --no-tui c.dag >out &&
	grep "c succeeded" out &&
	printf "[a b]" >expect && test_cmp expect out-c
'

test_expect_success 'a stage that prints nothing has no log; ntflow logs says so and exits 0' '
	ntflow run --no-tui quiet.dag >out &&
	run=$(ntflow runs --json | json_get /dev/stdin "[0].id") &&
	test_path_is_missing .ntflow/logs/$run/silent.1.log &&
	test_path_is_missing .ntflow/logs/$run/silent-sh.1.log &&
	test_path_is_file .ntflow/logs/$run/talks.1.log &&
	ntflow logs silent >log 2>err &&
	test_must_be_empty log &&
	echo "ntflow: silent printed nothing in attempt 1 of run $run (no log)" >expect &&
	test_cmp expect err &&
	ntflow logs -f silent-sh >log 2>err &&
	test_must_be_empty log &&
	grep "silent-sh printed nothing in attempt 1" err &&
	ntflow logs talks >log &&
	grep -x "\[hi\]" log
'

# A prune removes a run's log folder, then records the run as pruned; stopped between the
# two (or failing on a full disk, where the logs go first), the log is gone, not empty.
test_expect_success 'a log whose run folder is gone: ntflow logs says it is gone, not that nothing was printed' '
	run=$(ntflow runs --json | json_get /dev/stdin "[0].id") &&
	mv .ntflow/logs/$run logs-aside &&
	test_when_finished "mv logs-aside .ntflow/logs/$run" &&
	test_expect_code 1 ntflow logs silent >log 2>err &&
	test_must_be_empty log &&
	grep "ntflow: the log of attempt 1 of silent in run $run is gone: its folder .*/.ntflow/logs/$run was removed (by a prune that did not finish, or by hand)" err &&
	test_expect_code 1 ntflow logs talks 2>err &&
	grep "the log of attempt 1 of talks in run $run is gone" err &&
	test_expect_code 1 ntflow logs -f silent-sh 2>err &&
	grep "the log of attempt 1 of silent-sh in run $run is gone" err
'

# Log paths are stored relative to the project root: with --state elsewhere, a silent
# stage's missing file is looked for beside that folder, and its run's log folder in it.
test_expect_success 'with --state elsewhere, a silent stage still printed nothing, and a gone folder is gone' '
	mkdir -p sub &&
	ntflow run --no-tui quiet.dag --state sub/st >out &&
	ntflow logs silent --state sub/st >log 2>err &&
	test_must_be_empty log &&
	grep "ntflow: silent printed nothing in attempt 1 of run 1 (no log)" err &&
	mv sub/st/logs/1 sub/logs-aside &&
	test_expect_code 1 ntflow logs silent --state sub/st 2>err &&
	grep "the log of attempt 1 of silent in run 1 is gone: its folder .*sub/st/logs/1 was removed" err
'

test_expect_success 'a run of more than 1000 nodes puts its logs in folders of 1000' '
	i=0 &&
	while test $i -lt 1000; do
		printf "stage \"s%d\" {\n  run = \"true\"\n}\n" $i || return 1
		i=$((i + 1))
	done >big.dag &&
	printf "stage \"last\" {\n  run = \"./tool.sh out-last 0 last\"\n}\n" >>big.dag &&
	git add big.dag && git commit -q -m big &&
	ntflow run --no-tui -j 2 big.dag >out &&
	run=$(ntflow runs --json | json_get /dev/stdin "[0].id") &&
	test_path_is_file .ntflow/logs/$run/1/last.1.log &&
	test "$(find .ntflow/logs/$run -type f | wc -l)" = 1 &&
	ntflow logs last >log &&
	grep -x "\[last\]" log
'

test_done
