#!/bin/sh
# t9110-slurm-run.sh: the Slurm executor on a real single-node cluster (tests/slurm/
# cluster.sh): examples/hello.dag with --executor slurm; a failing stage retried; a
# rejected submission (invalid partition) retried then failed with sbatch's message; a
# matrix of 4 as one array whose tasks run at the same time; a mixed pipeline (local
# stages around one on Slurm); a job cancelled with scancel from outside; Ctrl-C cancels
# every job; show gives each Slurm stage its job id, state and reason and logs -f follows a
# running job's log; a 50-instance matrix is one sbatch call and each instance ends with its own
# state. Skipped (77) when no cluster can start (not root, packages not installable).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-slurm.sh"

slurm_start

test_expect_success 'examples/hello.dag runs on Slurm, logs in place' '
	mkdir -p examples &&
	cp "$NTFLOW_SRC_DIR/examples/hello.dag" examples/ &&
	git add examples .gitignore && git commit -qm hello &&
	ntflow run examples/hello.dag --executor slurm --no-tui >out 2>&1 &&
	grep "run 1 of hello: 9 nodes" out &&
	grep "succeeded in" out &&
	grep "best lr 0.2" .ntflow/logs/1/report.1.log &&
	grep "attempt 3" .ntflow/logs/1/flaky.3.log &&
	grep "second try" .ntflow/logs/1/slow.2.log &&
	test -s build/hello/report.txt &&
	# tune, a matrix of 3, was one array: 10 submissions for 12 attempts
	test "$(sbatch_calls)" = 10 &&
	grep -c -- "--array=0-2" .sbatch-calls >arrays && test "$(cat arrays)" = 1
'

write_dag retry.dag <<\EOF2
pipeline "retry" {
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
    }
  }
}
stage "flaky" {
  retries = 1
  backoff = "10ms"
  run     = "if test -f build/flaky.once; then echo on Slurm job $SLURM_JOB_ID; else mkdir -p build && touch build/flaky.once && exit 3; fi"
}
stage "rejected" {
  retries = 1
  backoff = "10ms"
  run     = "true"
  slurm {
    partition = "no-such-partition"
  }
}
EOF2

test_expect_success 'a failing stage is retried on Slurm; a rejected submission fails with sbatch'"'"'s message' '
	: >.sbatch-calls &&
	test_must_fail ntflow run retry.dag -k --no-tui >out 2>&1 &&
	grep "flaky retrying.*Slurm job [0-9]* FAILED (exit 3)" out &&
	grep "flaky succeeded" out &&
	grep "on Slurm job [0-9]" .ntflow/logs/*/flaky.2.log &&
	grep "rejected retrying.*sbatch failed: .*[Ii]nvalid partition" out &&
	grep "rejected failed.*sbatch failed: .*[Ii]nvalid partition" out
'

write_dag matrix.dag <<\EOF2
pipeline "matrix" {
  concurrency = 8
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
    }
  }
}
stage "four" {
  matrix {
    x = [1, 2, 3, 4]
  }
  run = "mkdir -p build/m && date +%s.%N >build/m/start-${matrix.x} && sleep 2 && date +%s.%N >build/m/end-${matrix.x}"
}
EOF2

test_expect_success 'a matrix of 4 is one array job whose tasks run at the same time' '
	: >.sbatch-calls &&
	ntflow run matrix.dag --no-tui >out 2>&1 &&
	test "$(sbatch_calls)" = 1 &&
	grep -- "--array=0-3" .sbatch-calls &&
	latest_start=$(cat build/m/start-* | sort -n | tail -1) &&
	earliest_end=$(cat build/m/end-* | sort -n | head -1) &&
	num_lt "$latest_start" "$earliest_end"
'

write_dag mixed.dag <<\EOF2
pipeline "mixed" {
  defaults {
    slurm {
      poll = "250ms"
    }
  }
}
stage "fetch" {
  run     = "mkdir -p build/x && echo data >build/x/in.txt && echo $${SLURM_JOB_ID:-local} >build/x/fetch.where"
  outputs = ["build/x/in.txt", "build/x/fetch.where"]
}
stage "heavy" {
  needs    = ["fetch"]
  executor = "slurm"
  run      = "tr a-z A-Z <build/x/in.txt >build/x/heavy.txt && echo $${SLURM_JOB_ID:-local} >build/x/heavy.where"
  outputs  = ["build/x/heavy.txt", "build/x/heavy.where"]
}
stage "report" {
  needs   = ["heavy"]
  run     = "cat build/x/heavy.txt >build/x/report.txt && echo $${SLURM_JOB_ID:-local} >build/x/report.where"
  outputs = ["build/x/report.txt", "build/x/report.where"]
}
EOF2

test_expect_success 'a mixed pipeline: local stages around a heavy one on Slurm' '
	: >.sbatch-calls &&
	ntflow run mixed.dag --no-tui >out 2>&1 &&
	test "$(sbatch_calls)" = 1 &&
	echo local >expect && test_cmp expect build/x/fetch.where && test_cmp expect build/x/report.where &&
	grep "^[0-9][0-9]*$" build/x/heavy.where &&
	echo DATA >expect && test_cmp expect build/x/report.txt
'

write_dag hold.dag <<\EOF2
pipeline "hold" {
  concurrency = 8
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
    }
  }
}
stage "a" {
  run = "sleep 120"
}
stage "b" {
  run = "sleep 120"
}
stage "c" {
  run = "sleep 120"
}
EOF2

test_expect_success 'a job cancelled with scancel from outside is reported as such' '
	ntflow run hold.dag --only a --no-tui >out 2>&1 &
	pid=$! &&
	wait_until "squeue -h -t running -o %j | grep -q -- -a\$" 300 &&
	scancel --name="$(squeue -h -t running -o %j | grep -- -a\$)" &&
	test_expect_code 1 wait $pid &&
	grep "a failed.*cancelled outside ntflow (Slurm job [0-9]* CANCELLED)" out
'

test_expect_success 'Ctrl-C cancels every job of the run' '
	ntflow run hold.dag --no-tui >out 2>&1 &
	pid=$! &&
	wait_until "test \$(squeue -h -t running | wc -l) = 3" 300 &&
	kill -INT $pid &&
	test_expect_code 130 wait $pid &&
	grep "cancelled" out &&
	test -z "$(squeue_names)"
'

write_dag busy.dag <<\EOF2
pipeline "busy" {
  concurrency = 8
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
      cpus = 40
    }
  }
}
stage "talk" {
  run = "for i in 1 2 3; do echo line $i; sleep 1; done"
}
stage "queued" {
  run = "echo queued ran; sleep 2"
}
EOF2

test_expect_success 'show gives each Slurm stage its job, state and reason; logs -f follows a running job' '
	ntflow run busy.dag --no-tui >out 2>&1 &
	pid=$! &&
	# 40 + 40 CPUs on a node of 64: one waits for the other.
	wait_until "ntflow show 2>/dev/null | grep -q \"job [0-9]*  *PENDING (Resources)\"" 300 &&
	wait_until "ntflow show | grep -q \"talk  *job [0-9]*  *RUNNING\"" 300 &&
	ntflow logs -f talk >follow &&
	printf "line 1\nline 2\nline 3\n" >expect &&
	test_cmp expect follow &&
	wait $pid &&
	ntflow show >show &&
	grep "^slurm jobs" show &&
	grep "talk  *job [0-9]*  *COMPLETED  ntflow-[0-9]*-talk" show &&
	ntflow show --json >show.json &&
	test "$(json_get show.json .stages[0].slurm.state)" = COMPLETED &&
	json_get show.json .stages[0].slurm.job_id | grep "^[0-9][0-9]*$"
'

write_dag fifty.dag <<\EOF2
pipeline "fifty" {
  concurrency = 64
  defaults {
    executor = "slurm"
    slurm {
      poll = "250ms"
    }
  }
}
stage "many" {
  matrix {
    i = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
         25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]
  }
  run = "echo instance ${matrix.i}; case ${matrix.i} in 3|10|17|24|31|38|45) exit 7 ;; esac"
}
EOF2

test_expect_success 'a 50-instance matrix is one sbatch call; each instance ends with its own state' '
	: >.sbatch-calls &&
	test_must_fail ntflow run fifty.dag -k --json >events 2>err &&
	test "$(sbatch_calls)" = 1 &&
	grep -- "--array=0-49" .sbatch-calls &&
	ntflow show --json >show.json &&
	i=0 && failed=0 && succeeded=0 &&
	while test $i -lt 50; do
		st=$(json_get show.json ".stages[$i].state") &&
		name=$(json_get show.json ".stages[$i].name") &&
		x=${name#many[i=} && x=${x%]} &&
		if test $((x % 7)) = 3; then want=failed; else want=succeeded; fi &&
		test "$st" = "$want" || { echo "$name: $st, not $want"; return 1; }
		grep "instance $x\$" ".ntflow/logs/$(json_get show.json .run.id)/many@i-$x.1.log" >/dev/null || {
			echo "no log for $name"; ls .ntflow/logs/*/ | head; return 1; }
		i=$((i + 1))
	done
'

test_done
