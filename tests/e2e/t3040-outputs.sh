#!/bin/sh
# t3040-outputs.sh: declared outputs are moved aside before each attempt and must be
# written afresh: a stage that stops writing its output fails naming it and nothing stale
# reaches the cache; a failed attempt (retried or not, timed out, crashed) puts the last
# good output back, and so does the next run for stages a crash left waiting prepared for
# a slot; a success leaves no trash. And stages keep cache entries of their own:
# two stages with the same command and no outputs both run, every run, unless they say
# cache = true, and then each has its own entry; so do matrix instances.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# b writes o/b only while write-b exists; a always writes o/a. v changes the key.
write_dag stale.dag <<\EOF
pipeline "stale" {
  params {
    v = 1
  }
}

stage "a" {
  run     = "mkdir -p o && echo a${params.v} >o/a"
  outputs = ["o/a"]
}

stage "b" {
  needs   = ["a"]
  run     = "if test -e o/b; then echo b saw a stale o/b >>seen; fi; if test -f write-b; then echo b${params.v} >o/b; fi"
  outputs = ["o/b"]
}
EOF

# model writes a good folder when good exists, else half of one and fails; twice.
write_dag retry.dag <<\EOF
pipeline "retry" {
  params {
    v = 1
  }
}

stage "model" {
  retries = 1
  backoff = "10ms"
  run     = "if test -e build/model; then echo stale >>seen; fi; mkdir -p build/model && echo m${params.v} >build/model/weights && test -f good"
  outputs = ["build/model/"]
}
EOF

# slow hangs in its attempt of run $hang after writing half its output.
write_dag crash.dag <<\EOF
pipeline "crash" {
  params {
    v = 1
  }
}

stage "slow" {
  run     = "mkdir -p o && echo half${params.v} >o/slow && touch slow.started && while test -f hang; do sleep 0.05; done; echo whole${params.v} >o/slow # hang-t3040"
  outputs = ["o/slow"]
}

stage "other" {
  run     = "mkdir -p o && echo other >o/other"
  outputs = ["o/other"]
}
EOF

# With -j 1, q1 and q2 wait behind slow, prepared ahead with the process spawner (their
# outputs moved aside) while there is room on the disk.
write_dag queued.dag <<\EOF
pipeline "queued" {
  params {
    v = 1
  }
}

stage "slow" {
  run     = "mkdir -p o && touch qslow.started && while test -f hang; do sleep 0.05; done; echo ${params.v} >o/qslow # hang-t3040"
  outputs = ["o/qslow"]
}

stage "q1" {
  run     = "mkdir -p o && echo q1-${params.v} >o/q1"
  outputs = ["o/q1"]
}

stage "q2" {
  run     = "mkdir -p o && echo q2-${params.v} >o/q2"
  outputs = ["o/q2"]
}
EOF

# The same command twice, without outputs.
write_dag same.dag <<\EOF
pipeline "same" {}

stage "n1" {
  run = "echo notified >>spawns"
}

stage "n2" {
  run = "echo notified >>spawns"
}
EOF

write_dag same-cached.dag <<\EOF
pipeline "same-cached" {}

stage "c1" {
  run   = "echo notified >>spawns-cached"
  cache = true
}

stage "c2" {
  run   = "echo notified >>spawns-cached"
  cache = true
}

stage "m" {
  matrix {
    n = [1, 2, 3]
  }
  run   = "echo notified >>spawns-cached"
  cache = true
}
EOF

# A monitor without outputs: its metrics file is its output.
write_dag monitor.dag <<\EOF
pipeline "mon" {
  params {
    psi = 0.1
  }
}

monitor "drift" {
  run     = "if test -f measure; then echo '{\"max_psi\": ${params.psi}}' >drift.json; fi"
  metrics = "drift.json"
  alert "shift" {
    when     = "max_psi > 0.25"
    severity = "high"
  }
}
EOF

write_dag escape.dag <<\EOF
pipeline "escape" {
  params {
    where = "o/e"
  }
}

stage "e" {
  run     = "true"
  outputs = ["${params.where}"]
}
EOF

hung() { ps -ww -eo args= | grep -c "[h]ang-t3040"; }
hung_pids() { ps -ww -eo pid=,args= | awk '/[h]ang-t3040/ { print $1 }'; }
spawned() { if test -f "$1"; then wc -l <"$1"; else echo 0; fi; }

test_expect_success 'setup' '
	printf ".ntflow/\no/\nbuild/\nspawns*\nseen\n*.started\ndrift.json\n" >.gitignore &&
	git add . && git commit -q -m pipelines
'

test_expect_success 'a stage that stops writing its output fails, naming it' '
	touch write-b &&
	ntflow run stale.dag --no-tui >out &&
	test "$(cat o/b)" = b1 &&
	test_path_is_missing seen &&
	rm write-b &&
	test_expect_code 1 ntflow run stale.dag --no-tui -p v=2 >out &&
	cat out &&
	grep -F "b failed" out | grep -F "stage \"b\" did not write its output '\''o/b'\''" &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json b state)" = failed &&
	test "$(stage_field show.json b exit_code)" = 0 &&
	test "$(stage_field show.json b reason)" = "stage \"b\" did not write its output '\''o/b'\''" &&
	ntflow show >show.txt &&
	grep -F "stage \"b\" did not write its output '\''o/b'\''" show.txt
'

test_expect_success 'the stale output was out of sight while the stage ran, and is not in the cache' '
	test_path_is_missing seen &&
	ntflow cache ls --json >ls.json &&
	/usr/bin/python3 - ls.json <<-\PY
	import json, sys
	entries = json.load(open(sys.argv[1]))
	bs = [e for e in entries if e["node"] == "b"]
	assert [e["run_id"] for e in bs] == [1], bs
	PY
'

test_expect_success 'after the failure the last good outputs are back, and no trash is left' '
	test "$(cat o/b)" = b1 &&
	test "$(cat o/a)" = a2 &&
	test_path_is_missing .ntflow/trash
'

test_expect_success 'a successful attempt leaves no trash and its new output' '
	touch write-b &&
	ntflow run stale.dag --no-tui -p v=3 >out &&
	test "$(cat o/b)" = b3 &&
	test_path_is_missing .ntflow/trash &&
	test_path_is_missing seen
'

test_expect_success 'a failing retry puts the last good folder back' '
	touch good &&
	ntflow run retry.dag --no-tui >out &&
	test "$(cat build/model/weights)" = m1 &&
	rm good &&
	test_expect_code 1 ntflow run retry.dag --no-tui -p v=2 >out &&
	cat out &&
	grep "model retrying" out &&
	grep "model failed" out &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json model attempts)" = 2 &&
	test_path_is_missing seen &&
	test "$(cat build/model/weights)" = m1 &&
	test_path_is_missing .ntflow/trash
'

test_expect_success 'an output that did not exist keeps what the failed attempt wrote, uncached' '
	write_dag fresh.dag <<-\EOF &&
	pipeline "fresh" {}

	stage "fresh" {
	  run     = "mkdir -p o && echo partial >o/fresh && exit 3"
	  outputs = ["o/fresh"]
	}
	EOF
	test_expect_code 1 ntflow run fresh.dag --no-tui >out &&
	test "$(cat o/fresh)" = partial &&
	test_path_is_missing .ntflow/trash &&
	ntflow cache ls --json >ls.json &&
	! grep -F "\"fresh\"" ls.json
'

test_expect_success 'a timed-out attempt puts the output back too' '
	write_dag slowfail.dag <<-\EOF &&
	pipeline "slowfail" {}

	stage "model" {
	  timeout = "200ms"
	  grace   = "100ms"
	  run     = "mkdir -p build/model && echo half >build/model/weights && sleep 5"
	  outputs = ["build/model/"]
	}
	EOF
	test_expect_code 1 ntflow run slowfail.dag --no-tui >out &&
	grep "model timed-out" out &&
	test "$(cat build/model/weights)" = m1 &&
	test_path_is_missing .ntflow/trash
'

test_expect_success 'a crash mid-attempt leaves the old output aside; the next run puts it back' '
	ntflow run crash.dag --no-tui >out &&
	test "$(cat o/slow)" = whole1 &&
	rm slow.started &&
	touch hang &&
	{ ntflow run crash.dag --no-tui -p v=2 >run2.out 2>&1 & } &&
	pid=$! &&
	# Whatever happens, nothing of this run may outlive the test: it works on absolute paths.
	test_when_finished "kill -9 \$pid 2>/dev/null; for p in \$(hung_pids); do kill -9 \$p 2>/dev/null; done; rm -f hang; :" &&
	wait_for_file slow.started &&
	test "$(cat o/slow)" = half2 &&
	run=$(ls .ntflow/trash) &&
	ls .ntflow/trash/$run >trash.txt &&
	printf "slow.1.0\nslow.1.json\n" >expect &&
	test_cmp expect trash.txt &&
	test "$(cat .ntflow/trash/$run/slow.1.0)" = whole1 &&
	kill -9 $pid &&
	{ wait $pid; test $? = 137; } &&
	test "$(cat o/slow)" = half2 &&
	ntflow run crash.dag --no-tui --only other >out 2>err &&
	cat out err &&
	grep -F "run $run had crashed: the outputs of slow (attempt 1) are back as they were before it" err &&
	test "$(cat o/slow)" = whole1 &&
	test_path_is_missing .ntflow/trash
'

test_expect_success 'a crash while stages wait prepared for a slot: the next run puts their outputs back' '
	ntflow run queued.dag --no-tui -j 1 >out &&
	test "$(cat o/q1)" = q1-1 && test "$(cat o/q2)" = q2-1 &&
	rm -f qslow.started &&
	touch hang &&
	{ ntflow run queued.dag --no-tui -j 1 -p v=2 >run2.out 2>&1 & } &&
	pid=$! &&
	test_when_finished "kill -9 \$pid 2>/dev/null; for p in \$(hung_pids); do kill -9 \$p 2>/dev/null; done; rm -f hang; :" &&
	wait_for_file qslow.started &&
	# Prepared ahead only with 1 GB free where the state is (ntflow(1), -j).
	avail=$(df -Pk .ntflow | awk "NR == 2 { print \$4 }") &&
	if test "$avail" -ge 1048576
	then
		wait_until "test ! -e o/q2" &&
		test_path_is_missing o/q1
	fi &&
	kill -9 $pid &&
	{ wait $pid; test $? = 137; } &&
	ntflow run crash.dag --no-tui --only other >out 2>err &&
	cat err &&
	test "$(cat o/q1)" = q1-1 && test "$(cat o/q2)" = q2-1 &&
	test_path_is_missing .ntflow/trash &&
	if test "$avail" -ge 1048576
	then
		grep -F "the outputs of q1 (attempt 1) are back as they were before it" err &&
		grep -F "the outputs of q2 (attempt 1) are back as they were before it" err
	fi
'

test_expect_success 'outputs that lie outside the workspace are refused before anything moves' '
	test_expect_code 1 ntflow run escape.dag --no-tui -p where=../outside >out &&
	grep -F "output '\''../outside'\'' is outside the workspace" out &&
	test_expect_code 1 ntflow run escape.dag --no-tui -p where=. >out &&
	grep -F "output '\''.'\'' is the whole workspace" out &&
	test_expect_code 1 ntflow run escape.dag --no-tui -p where=.ntflow >out &&
	grep -F "holds the state directory" out &&
	test_path_is_file .ntflow/state.db &&
	# nor inside it, or inside .git: the database and the repository stay whole
	test_expect_code 1 ntflow run escape.dag --no-tui -p where=.ntflow/state.db >out &&
	grep -F "output '\''.ntflow/state.db'\'' is inside $PWD/.ntflow, which only ntflow writes" out &&
	ntflow runs >/dev/null &&
	test_expect_code 1 ntflow run escape.dag --no-tui -p where=.git/HEAD >out &&
	grep -F "output '\''.git/HEAD'\'' is inside .git, which only git writes" out &&
	git rev-parse HEAD
'

test_expect_success 'a monitor that stops writing its metrics fails instead of reading last week' '
	touch measure &&
	ntflow run monitor.dag --no-tui -p psi=0.3 >out &&
	grep -F "alert" out &&
	rm measure &&
	test_expect_code 1 ntflow run monitor.dag --no-tui -p psi=0.05 >out &&
	cat out &&
	grep -F "drift failed" out | grep -F "drift.json" &&
	test "$(cat drift.json)" = "{\"max_psi\": 0.3}"
'

test_expect_success 'a metrics file another stage declares as its output, or in a folder it declares, is not moved aside' '
	write_dag shared.dag <<-\EOF &&
	pipeline "shared" {}

	stage "eval" {
	  run     = "mkdir -p e && echo {\\\"auc\\\": 0.9} >e/metrics.json"
	  outputs = ["e/"]
	  metrics = "e/metrics.json"
	}

	monitor "watch" {
	  needs   = ["eval"]
	  run     = "cat e/metrics.json"
	  metrics = "e/metrics.json"
	  cache   = false
	}

	stage "score" {
	  run     = "mkdir -p r && echo {\\\"auc\\\": 0.8} >r/score.json"
	  outputs = ["r/score.json"]
	}

	monitor "exact" {
	  needs   = ["score"]
	  run     = "cat r/score.json"
	  metrics = "r/score.json"
	  cache   = false
	}
	EOF
	ntflow run shared.dag --no-tui >out &&
	ntflow run shared.dag --no-tui >out &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json watch state)" = succeeded &&
	test "$(stage_field show.json watch metrics)" = "{\"auc\": 0.9}" &&
	test "$(stage_field show.json exact state)" = succeeded &&
	test "$(stage_field show.json exact metrics)" = "{\"auc\": 0.8}"
'

test_expect_success 'a monitor with a metrics file and no outputs is still cached' '
	touch measure &&
	ntflow run monitor.dag --no-tui -p psi=0.05 >out &&
	ntflow run monitor.dag --no-tui -p psi=0.05 >out &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json drift state)" = cached
'

test_expect_success 'two stages with the same command and no outputs both run, in every run' '
	ntflow run same.dag --no-tui -j 1 >out &&
	test "$(spawned spawns)" = 2 &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json n1 state)" = succeeded &&
	test "$(stage_field show.json n2 state)" = succeeded &&
	ntflow run same.dag --no-tui -j 1 >out &&
	test "$(spawned spawns)" = 4 &&
	ntflow show --json >show.json &&
	test "$(stage_field show.json n1 state)" = succeeded &&
	test "$(stage_field show.json n2 state)" = succeeded &&
	test "$(stage_field show.json n2 miss_reason)" = "not cached: no declared outputs (set cache = true to cache it)" &&
	echo "n1: ran: not cached: no declared outputs (set cache = true to cache it)" >expect &&
	ntflow why n1 >actual &&
	test_cmp expect actual &&
	ntflow show >show.txt &&
	grep -E "^n2 +succeeded .* not cached: no declared outputs$" show.txt &&
	ntflow cache ls --json >ls.json &&
	! grep -E "\"node\":.*\"n[12]\"" ls.json
'

test_expect_success 'with cache = true each stage and each instance has an entry of its own' '
	ntflow run same-cached.dag --no-tui -j 1 >out &&
	test "$(spawned spawns-cached)" = 5 &&
	ntflow show --json >show.json &&
	ntflow cache ls --json >ls.json &&
	/usr/bin/python3 - show.json ls.json <<-\PY &&
	import json, sys
	show = json.load(open(sys.argv[1]))
	stages, run = show["stages"], show["run"]["id"]
	assert [s["state"] for s in stages] == ["succeeded"] * 5, stages
	keys = [s["cache_key"] for s in stages]
	assert len(set(keys)) == 5, keys
	entries = [e for e in json.load(open(sys.argv[2])) if e["run_id"] == run]
	assert sorted(e["key"] for e in entries) == sorted(keys), entries
	PY
	ntflow run same-cached.dag --no-tui -j 1 >out &&
	test "$(spawned spawns-cached)" = 5 &&
	ntflow show --json >show2.json &&
	/usr/bin/python3 - show.json show2.json <<-\PY
	import json, sys
	one = json.load(open(sys.argv[1]))
	two = json.load(open(sys.argv[2]))["stages"]
	assert [s["state"] for s in two] == ["cached"] * 5, two
	assert [s["cache_key"] for s in one["stages"]] == [s["cache_key"] for s in two]
	assert [s["reused_run"] for s in two] == [one["run"]["id"]] * 5, two
	PY
'

# The key covers a stage's command and inputs, not where its outputs go: an output path
# with ${run.week} in it moves every week, and an output added to the list is one the
# entry does not hold. Either way the entry is not used: the stage runs.
write_dag weekly.dag <<\EOF
stage "ingest" {
  run     = "mkdir -p data && echo rows >data/$NTFLOW_RUN_WEEK.csv"
  outputs = ["data/${run.week}.csv"]
}
EOF

# listed_dag FILE OUTPUTS: the stage "two", writing l/a and l/b, with those outputs listed
listed_dag() {
	printf 'stage "two" {\n  run     = "mkdir -p l && echo A >l/a && echo B >l/b"\n  outputs = [%s]\n}\n' "$2" >"$1"
}
listed_dag listed.dag '"l/a"'
listed_dag listed2.dag '"l/a", "l/b"'
listed_dag listed3.dag '"l/b", "l/a"'

test_expect_success 'an output path that moved (a new week): the stage runs and writes it' '
	ntflow run weekly.dag --no-tui --date 2026-11-16 >out &&
	test_path_is_file data/2026-W47.csv &&
	ntflow run weekly.dag --no-tui --date 2026-11-16 >out &&
	grep "ingest cached" out &&
	ntflow run weekly.dag --no-tui --date 2026-11-23 >out &&
	grep "ingest succeeded" out &&
	test_path_is_file data/2026-W48.csv &&
	ntflow why ingest >why.txt &&
	cat why.txt &&
	grep "its outputs changed" why.txt
'

test_expect_success 'an output added to the list: the stage runs and makes it' '
	ntflow run listed.dag --no-tui >out &&
	cp listed2.dag listed.dag &&
	rm l/b &&
	ntflow run listed.dag --no-tui >out &&
	grep "two succeeded" out &&
	test_path_is_file l/b &&
	ntflow run listed.dag --no-tui >out &&
	grep "two cached" out
'

test_expect_success 'the same outputs listed in another order: still cached' '
	cp listed3.dag listed.dag &&
	ntflow run listed.dag --no-tui >out &&
	grep "two cached" out
'

# A metrics file in no declared output counts as one: cached with the outputs, and a hit
# brings it back as recorded, so that what the run records and what a reader of the file
# sees agree.
write_dag evalm.dag <<\EOF
stage "ev" {
  run     = "mkdir -p em && echo m >em/model && echo {\\\"auc\\\": 0.9} >em/m.json"
  outputs = ["em/model"]
  metrics = "em/m.json"
}

stage "report" {
  needs   = ["ev"]
  inputs  = ["em/m.json"]
  run     = "cat em/m.json >em-report.txt"
  outputs = ["em-report.txt"]
}
EOF

test_expect_success 'a metrics file in no output is restored on a hit, edited or deleted' '
	ntflow run evalm.dag --no-tui >out &&
	grep -F "\"auc\": 0.9" em/m.json &&
	echo "{\"auc\": 0.1}" >em/m.json &&
	ntflow run evalm.dag --no-tui >out &&
	grep "ev cached" out &&
	grep "report cached" out &&
	grep -F "\"auc\": 0.9" em/m.json &&
	grep -F "\"auc\": 0.9" em-report.txt &&
	rm em/m.json &&
	ntflow run evalm.dag --no-tui >out &&
	grep "report cached" out &&
	grep -F "\"auc\": 0.9" em/m.json
'

test_done
