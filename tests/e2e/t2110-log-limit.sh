#!/bin/sh
# t2110-log-limit.sh: logs capped per attempt. A stage's log keeps at most log_limit bytes
# (default "100MB"); what the stage writes after that is discarded, the log ends with a line
# saying so and the run warns; the log is cut while the stage still runs, not only at its
# end; a log under the limit is whole; defaults { } sets it for every stage and "0" means
# none; validate refuses a malformed size.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_expect_success 'setup' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {}

	stage "chatty" {
	  run       = "i=0; while [ $i -lt 3000 ]; do echo line $i of a stage that talks a lot; i=$((i+1)); done; echo the end >&2"
	  log_limit = "4KB"
	  cache     = false
	}

	stage "quiet" {
	  run   = "echo a few words; echo to stderr >&2"
	  cache = false
	}
	EOF
	git add p.dag && git commit -q -m pipeline
'

test_expect_success 'a log is cut at log_limit, ends with a note, and the run warns' '
	ntflow run p.dag >out 2>err &&
	grep "^\[[0-9]/2\] chatty succeeded" out &&
	grep -x "ntflow: warning: chatty: attempt 1'\''s log was capped at 4 KB (log_limit); the rest was discarded" err &&
	log=.ntflow/logs/1/chatty.1.log &&
	head -n 1 $log >first &&
	echo "line 0 of a stage that talks a lot" >expect &&
	test_cmp expect first &&
	tail -n 1 $log >last &&
	echo "ntflow: this log was capped at 4 KB (log_limit): what the stage wrote after that was discarded" >expect &&
	test_cmp expect last &&
	! grep "the end" $log &&
	size=$(wc -c <$log) &&
	test "$size" -le $((4096 + 200)) &&
	head -c 4096 $log >kept &&
	i=0 && while test $i -lt 3000; do echo "line $i of a stage that talks a lot"; i=$((i + 1)); done >all &&
	head -c 4096 all >expect &&
	test_cmp expect kept
'

test_expect_success 'a log under the limit is whole, with no note' '
	printf "a few words\nto stderr\n" >expect &&
	test_cmp expect .ntflow/logs/1/quiet.1.log &&
	! grep -q "quiet: attempt" err
'

test_expect_success 'the log is cut while the stage still runs' '
	write_dag slow.dag <<-\EOF &&
	pipeline "slow" {}

	stage "burst" {
	  run       = "head -c 1000000 /dev/zero | tr \"\\\\000\" x; touch wrote; while ! test -e go; do sleep 0.05; done; echo after"
	  log_limit = "64KB"
	  cache     = false
	}
	EOF
	rm -f wrote go &&
	ntflow run slow.dag >out 2>err &
	pid=$! &&
	wait_for_file wrote &&
	log=.ntflow/logs/$(ntflow runs --json | json_get /dev/stdin "[0].id")/burst.1.log &&
	wait_until "test \$(wc -c <$log) -le 65536" &&
	touch go &&
	wait $pid &&
	test $(wc -c <$log) -le $((65536 + 200)) &&
	tail -n 1 $log | grep "^ntflow: this log was capped at 64 KB (log_limit)"
'

test_expect_success 'defaults { log_limit } applies to every stage; "0" is no limit' '
	write_dag d.dag <<-\EOF &&
	pipeline "d" {
	  defaults {
	    log_limit = "1KB"
	  }
	}

	stage "a" {
	  run   = "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done"
	  cache = false
	}

	stage "b" {
	  run       = "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done"
	  log_limit = "0"
	  cache     = false
	}
	EOF
	ntflow run d.dag >out 2>err &&
	id=$(ntflow runs --json | json_get /dev/stdin "[0].id") &&
	tail -n 1 .ntflow/logs/$id/a.1.log | grep "capped at 1 KB" &&
	grep -x "ntflow: warning: a: attempt 1'\''s log was capped at 1 KB (log_limit); the rest was discarded" err &&
	i=0 && while test $i -lt 200; do echo "line $i"; i=$((i + 1)); done >expect &&
	test_cmp expect .ntflow/logs/$id/b.1.log
'

test_expect_success 'validate refuses a malformed size, naming it' '
	for bad in "\"0x10\"" "\"1.5MB\"" "\"10 MB\"" "\"-1\"" "\"lots\"" "100"; do
		write_dag bad.dag <<-EOF &&
		stage "a" {
		  run       = "true"
		  log_limit = $bad
		}
		EOF
		test_expect_code 2 ntflow validate bad.dag 2>err || return 1
		grep "^bad.dag:3:15: error: " err || return 1
	done &&
	write_dag bad.dag <<-\EOF &&
	stage "a" {
	  run       = "true"
	  log_limit = "1.5MB"
	}
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	echo "bad.dag:3:15: error: invalid size \"1.5MB\": expected a whole number followed by B, KB, MB, GB or TB" >expect &&
	test_cmp expect err
'

test_done
