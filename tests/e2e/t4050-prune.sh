#!/bin/sh
# t4050-prune.sh: `ntflow prune`, the history's retention. Runs of two pipelines, one with a
# model in production: --keep-runs and --keep-days pick per pipeline; the newest run, the
# last successful one and the run of the production version always stay; a pruned run keeps
# its row, metrics and audit records, loses its other stage rows and its logs, and says so
# in show, runs --json, logs and why; its cache entries still serve later runs and why still
# explains a miss against them; audit verify holds and records each prune; a kill inside a
# prune's transaction leaves the run whole, one after it leaves the log folder to the next
# prune; a run in progress holds prune off; bad options exit 2.
. "$(dirname "$0")/lib.sh"

test_need_hooks

write_dag p.dag <<-\EOF
pipeline "p" {
  params {
    n    = 1
    acc  = 0.9
    fail = 0
  }
}

stage "train" {
  phase   = "training"
  run     = "mkdir -p build && echo weights ${params.acc} >build/model.txt"
  outputs = ["build/model.txt"]
}

stage "prep" {
  run     = "mkdir -p build && echo prepared ${params.n} && echo ${params.n} >build/a.txt"
  outputs = ["build/a.txt"]
}

stage "evaluate" {
  needs   = ["train", "prep"]
  run     = "mkdir -p build/eval && echo {\\\"accuracy\\\": ${params.acc}} >build/eval/metrics.json"
  outputs = ["build/eval/"]
  metrics = "build/eval/metrics.json"
}

gate "promote" {
  needs   = ["evaluate"]
  require = ["accuracy >= 0.85"]
}

model "clf" {
  artifact = "build/model.txt"
  gate     = "promote"
}

stage "report" {
  needs   = ["evaluate"]
  run     = "echo reporting && test ${params.fail} = 0 && echo ${params.n} >build/r.txt"
  outputs = ["build/r.txt"]
}
EOF
write_dag q.dag <<-\EOF
pipeline "q" {
  params {
    n = 1
  }
}

stage "only" {
  run     = "mkdir -p build && echo q ${params.n} && echo ${params.n} >build/q.txt"
  outputs = ["build/q.txt"]
}
EOF
printf "/.ntflow/\n/build/\n/models/\n" >.gitignore
git add . && git commit -q -m pipelines

# q_workspace DIR: enter DIR, made already, as a git repository holding q.dag, committed
q_workspace() {
	cd "$1" && git init -q && cp ../q.dag . && git add q.dag && git commit -q -m q
}

# pruned RUN: whether show marks run RUN pruned
pruned() { ntflow show "$1" >show.out && grep -q "^pruned    " show.out; }

test_expect_success 'setup: run 1 puts clf v1 in production, runs 2-5 leave it, run 6 fails; q runs twice' '
	ntflow run p.dag >out 2>err &&
	grep "clf v1 → production" out &&
	for n in 2 3 4 5; do
		ntflow run p.dag -p n=$n >out 2>err || return 1
	done &&
	grep "clf v1 unchanged" out &&
	test_expect_code 1 ntflow run p.dag -p n=6 -p fail=1 >out 2>err &&
	ntflow run q.dag >out 2>err &&
	ntflow run q.dag -p n=2 >out 2>err &&
	test -d .ntflow/logs/2 && test -d .ntflow/logs/3
'

test_expect_success 'bad options exit 2 and change nothing' '
	test_expect_code 2 ntflow prune 2>err &&
	grep "^ntflow prune: which runs to keep? give --keep-runs N, --keep-days N or both$" err &&
	test_expect_code 2 ntflow prune --keep-runs x 2>err &&
	grep "^ntflow prune: --keep-runs needs a number (0 or more), not .x.$" err &&
	test_expect_code 2 ntflow prune --keep-days -1 2>err &&
	test_expect_code 2 ntflow prune --keep-runs 1 --dry-run --vacuum 2>err &&
	grep "does not go with --dry-run" err &&
	test_expect_code 2 ntflow prune --keep-runs 1 3 2>err &&
	grep "unexpected argument .3." err &&
	for r in 1 2 3 4 5 6 7 8; do ! pruned $r || return 1; done
'

test_expect_success '--dry-run lists the runs that would go and changes nothing' '
	ntflow runs --json >before.json &&
	ntflow prune --keep-runs 2 --dry-run >out &&
	cat out &&
	grep -E "^ *RUN +PIPELINE +STARTED +STAGE ROWS$" out &&
	grep -E "^ *2 +p .* 3$" out && grep -E "^ *3 +p .* 3$" out &&
	grep -E "^ *4 +p .* 1$" out &&
	! grep -E "^ *[15678] " out &&
	grep "^would prune 3 runs (7 stage rows); nothing was changed$" out &&
	ntflow runs --json >after.json &&
	test_cmp before.json after.json &&
	test -d .ntflow/logs/2
'

test_expect_success '--keep-days 1 keeps every run started today; 36500 days reach before 1970 and keep all' '
	ntflow prune --keep-days 36500 --dry-run >out &&
	grep "^would prune 0 runs (0 stage rows); nothing was changed$" out &&
	ntflow prune --keep-days 36500 >out &&
	grep "^pruned 0 runs" out &&
	ntflow prune --keep-days 1 >out &&
	grep "^pruned 0 runs: 0 stage rows and 0 log files (0 bytes) removed$" out &&
	for r in 1 2 3 4 5 6 7 8; do ! pruned $r || return 1; done
'

test_expect_success 'a kill inside the transaction leaves the run whole' '
	test_expect_code 137 env NTFLOW_FAULT=prune-before-commit ntflow-test prune --keep-runs 2 &&
	! pruned 2 &&
	ntflow show 2 >out && grep "^prep " out &&
	test -d .ntflow/logs/2 &&
	ntflow audit verify >out &&
	grep "^ok " out
'

test_expect_success 'a kill after a run is pruned leaves its logs to the next prune' '
	test_expect_code 137 env NTFLOW_FAULT=prune-after-commit ntflow-test prune --keep-runs 3 &&
	pruned 2 && ! pruned 3 &&
	test -f .ntflow/logs/2/prep.1.log &&
	ntflow prune --keep-runs 3 >out &&
	cat out &&
	grep "^pruned 1 run: 1 stage row and 4 log files (.*) removed$" out &&
	! test -e .ntflow/logs/2 && ! test -e .ntflow/logs/3 && pruned 3
'

test_expect_success '--keep-runs 2: per pipeline; the production run stays; what goes and what stays' '
	ntflow show 3 --perf >perf.before &&
	grep -E "^training +1 +0 " perf.before &&
	mkdir -p .ntflow/executor && echo "run 3 progress" >.ntflow/executor/3.log &&
	echo "run 5 progress" >.ntflow/executor/5.log &&
	ntflow prune --keep-runs 2 >out &&
	cat out &&
	grep "^pruned 1 run: 3 stage rows and 3 log files (.*) removed$" out &&
	! test -e .ntflow/executor/3.log && test -e .ntflow/executor/5.log &&
	grep "^state database: .* of it free for later runs (--vacuum gives it back)$" out &&
	pruned 3 && pruned 4 &&
	! pruned 1 && ! pruned 5 && ! pruned 6 && ! pruned 7 && ! pruned 8 &&
	! test -e .ntflow/logs/3 && ! test -e .ntflow/logs/4/prep.1.log && test -d .ntflow/logs/5 &&
	ntflow show 3 >out &&
	grep "^pruned    .*: only its gates, the stages that wrote metrics and those later runs refer to are listed$" out &&
	grep "^evaluate " out && grep "^promote " out && ! grep "^prep " out && ! grep "^report " out &&
	ntflow show 4 >out &&
	grep "^prep " out && ! grep "^train " out &&
	grep "accuracy  0.9" out &&
	ntflow runs >out &&
	grep -E "^ *3 +p +manual .* succeeded " out
'

test_expect_success 'a pruned run keeps its CPU phases; diff says it was pruned' '
	ntflow show 3 --perf >perf.after &&
	grep -E "^training +1 +0 " perf.after &&
	sed -n "/^PHASE/,\$p" perf.before | sort >phases.before &&
	sed -n "/^PHASE/,\$p" perf.after | sort >phases.after &&
	test_cmp phases.before phases.after &&
	ntflow diff 3 5 >out &&
	cat out &&
	grep "^run 3 was pruned on .* (ntflow prune): a stage that wrote no metrics is not recorded for it (-)$" out &&
	ntflow report 3 --html r3.html >/dev/null &&
	grep "<dt>pruned</dt>" r3.html &&
	ntflow dash 3 --max-frames 2 --screen scr.txt >/dev/null 2>&1 &&
	grep "stages 5/5  pruned: 2 kept" scr.txt &&
	ntflow diff 3 5 --json >diff.json &&
	/usr/bin/python3 -c "import json; d = json.load(open(\"diff.json\")); assert d[\"a\"][\"pruned\"] and d[\"b\"][\"pruned\"] is None, d"
'

test_expect_success 'runs --json and show --json carry the time of the prune' '
	ntflow runs --json >runs.json &&
	ntflow show 3 --json >show3.json &&
	ntflow show 5 --json >show5.json &&
	/usr/bin/python3 - <<-\PY
	import json
	runs = {r["id"]: r for r in json.load(open("runs.json"))}
	assert {i for i, r in runs.items() if r["pruned"]} == {2, 3, 4}, runs
	assert runs[3]["nodes"] == 5, runs[3]
	assert json.load(open("show3.json"))["run"]["pruned"]
	assert json.load(open("show5.json"))["run"]["pruned"] is None
	PY
'

test_expect_success 'logs and why name the prune; metrics keep every run' '
	test_expect_code 1 ntflow logs 3 prep 2>err &&
	grep "^ntflow: run 3 has no stage .prep.: run 3 was pruned on .* (ntflow prune): it keeps only its gates, the stages that wrote metrics and those later runs refer to$" err &&
	test_expect_code 1 ntflow why 3 report 2>err &&
	grep "run 3 was pruned on" err &&
	ntflow logs 5 prep >out &&
	grep "^prepared 5$" out &&
	ntflow metrics >out &&
	for r in 1 2 3 4 5 6; do grep -E "^ *$r .* evaluate +accuracy +0.9$" out || return 1; done
'

test_expect_success 'why explains a kept run against a pruned one, from the entry it made' '
	ntflow why 5 prep >out &&
	cat out &&
	grep "^prep: ran: param n changed 4 → 5$" out
'

test_expect_success 'the entries pruned runs made still serve; cache gc keeps them' '
	ntflow cache gc >out &&
	grep "^dropped 0 of" out &&
	ntflow run p.dag -p n=3 >out 2>err &&
	ntflow show >out &&
	grep -E "^prep +cached " out &&
	grep -E "^report +cached " out &&
	test_expect_code 1 ntflow logs 9 prep 2>err &&
	cat err &&
	grep "^ntflow: prep was cached in run 9: log of run 3, whose result it reused$" err &&
	grep "run 3 was pruned on .* (ntflow prune)" err
'

test_expect_success 'the last successful run and the production run stay with --keep-runs 1' '
	test_expect_code 1 ntflow run p.dag -p n=9 -p fail=1 >out 2>err &&
	ntflow prune --keep-runs 1 >out &&
	cat out &&
	ntflow runs >out &&
	ntflow show 10 >out && grep "^status    failed" out &&
	! pruned 10 && ! pruned 9 && ! pruned 1 &&
	pruned 5 && pruned 6 && pruned 7 && ! pruned 8
'

test_expect_success 'audit verify holds; each pruned run has a prune record' '
	ntflow audit verify >out &&
	grep "^ok " out &&
	ntflow audit show >out &&
	for r in 2 3 4 5 6 7; do
		grep -E " prune +[0-9a-f]+ +\{\"by\":\"[^\"]+\",\"nodes_removed\":[0-9]+,\"run\":$r\}$" out || return 1
	done &&
	ntflow audit show --run 3 >out &&
	grep -E " prune +[0-9a-f]+ +\{\"by\":\"[^\"]+\",\"nodes_removed\":[0-9]+,\"run\":3\}$" out &&
	! grep -E "\"run\":[^3]" out
'

# sql STATEMENT: run it on the state database (python's sqlite3: no sqlite3 program needed)
sql() {
	/usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect(".ntflow/state.db")
for row in db.execute(sys.argv[1]): print("|".join(str(c) for c in row))
db.commit()' "$1"
}

test_expect_success '--redact-audit empties the stages records of runs pruned before, and verify still holds' '
	n=$(sql "SELECT count(*) FROM audit WHERE run_id IN (2, 3) AND kind IN (\"node\", \"nodes\") AND payload <> \"\"") &&
	test "$n" -gt 0 &&
	ntflow prune --keep-runs 1 --redact-audit --dry-run >out &&
	cat out &&
	grep -E "^ *2 +p +.* 0 \(pruned before\)$" out &&
	grep "^would prune 6 runs (0 stage rows), 6 of them pruned before, and empty the stages. audit records of 6; nothing was changed$" out &&
	ntflow prune --keep-runs 1 --redact-audit >out &&
	cat out &&
	grep "^pruned 0 runs: 0 stage rows and 0 log files (0 bytes) removed$" out &&
	grep "^emptied [1-9][0-9]* audit records of the stages of 6 runs (their hashes kept)$" out &&
	test "$(sql "SELECT count(*) FROM audit WHERE run_id IN (2, 3) AND kind IN (\"node\", \"nodes\") AND payload <> \"\"")" = 0 &&
	test "$(sql "SELECT count(*) FROM audit WHERE run_id = 2 AND kind = \"run-end\" AND payload <> \"\"")" = 1 &&
	ntflow audit verify >out &&
	cat out &&
	grep "^ok [0-9]* records ([1-9][0-9]* emptied by prune --redact-audit: their hashes verified, not their contents)$" out &&
	ntflow audit show --run 2 >out &&
	grep -E " node +[0-9a-f]{12}  - \(emptied by prune\)$" out &&
	ntflow audit export - >all.jsonl &&
	/usr/bin/python3 -c "import json
recs = [json.loads(l) for l in open(\"all.jsonl\") if \"seq\" in json.loads(l)]
gone = [r for r in recs if r[\"payload\"] is None]
assert gone and all(r[\"kind\"] in (\"node\", \"nodes\") and r[\"run_id\"] in (2, 3, 4, 5, 6, 7) for r in gone), gone" &&
	ntflow prune --keep-runs 1 --redact-audit --dry-run >out &&
	grep "^would prune 0 runs (0 stage rows); nothing was changed$" out
'

test_expect_success 'audit verify: a record emptied by hand, or of another kind, is reported' '
	cp .ntflow/state.db saved.db &&
	seq=$(sql "SELECT min(seq) FROM audit WHERE run_id = 9 AND kind = \"node\"") &&
	sql "UPDATE audit SET payload = \"\" WHERE seq = $seq" &&
	test_expect_code 1 ntflow audit verify 2>err &&
	cat err &&
	grep "^ntflow: audit: record $seq was emptied (its payload is gone, and no prune of its run says it emptied it)$" err &&
	cp saved.db .ntflow/state.db &&
	seq=$(sql "SELECT min(seq) FROM audit WHERE run_id = 2 AND kind = \"run-end\"") &&
	sql "UPDATE audit SET payload = \"\" WHERE seq = $seq" &&
	test_expect_code 1 ntflow audit verify 2>err &&
	grep "^ntflow: audit: record $seq was emptied" err &&
	cp saved.db .ntflow/state.db &&
	ntflow audit verify
'

test_expect_success 'with NTFLOW_AUDIT_KEY: the prune records are HMACs and verify holds' '
	mkdir keyed && (
		q_workspace keyed &&
		head -c 32 /dev/urandom >../prune.key && chmod 600 ../prune.key &&
		for n in 1 2 3; do
			NTFLOW_AUDIT_KEY=../prune.key ntflow run q.dag -p n=$n >/dev/null 2>&1 || return 1
		done &&
		NTFLOW_AUDIT_KEY=../prune.key ntflow prune --keep-runs 1 --redact-audit >out &&
		grep "^pruned 2 runs" out &&
		NTFLOW_AUDIT_KEY=../prune.key ntflow audit verify >out &&
		cat out &&
		grep "^ok [0-9]* records (2 emptied by prune --redact-audit" out &&
		ntflow audit show >out &&
		grep -E " prune +[0-9a-f]{12}\* " out &&
		cp .ntflow/state.db saved.db &&
		seq=$(sql "SELECT seq FROM audit WHERE run_id = 1 AND kind = \"run-start\"") &&
		sql "UPDATE audit SET kind = \"node\", payload = \"\" WHERE seq = $seq" &&
		NTFLOW_AUDIT_KEY=../prune.key test_expect_code 1 ntflow audit verify 2>err &&
		cat err &&
		grep "^ntflow: audit: run 1: its emptied records are not those its prune emptied (1 recorded, 2 found" err &&
		cp saved.db .ntflow/state.db &&
		NTFLOW_AUDIT_KEY=../prune.key ntflow audit verify &&
		for n in 4 5; do
			NTFLOW_AUDIT_KEY=../prune.key ntflow run q.dag -p n=$n >/dev/null 2>&1 || return 1
		done &&
		seq=$(sql "SELECT seq FROM audit WHERE run_id = 3 AND kind = \"run-start\"") &&
		sql "UPDATE audit SET kind = \"node\" WHERE seq = $seq" &&
		NTFLOW_AUDIT_KEY=../prune.key test_expect_code 1 ntflow prune --keep-runs 1 --redact-audit 2>err &&
		cat err &&
		grep "^ntflow: audit record $seq of run 3 does not match its hash: its payloads are not emptied (see ntflow audit verify)$" err &&
		! pruned 3 &&
		NTFLOW_AUDIT_KEY=../prune.key test_expect_code 1 ntflow audit verify 2>err &&
		grep "record $seq was edited" err &&
		cp saved.db .ntflow/state.db
	)
'

test_expect_success '--vacuum compacts the database and the workspace goes on' '
	ntflow prune --keep-runs 1 --vacuum >out &&
	cat out &&
	grep "^state database compacted: .* -> " out &&
	ntflow run p.dag -p n=3 >out 2>err &&
	ntflow audit verify
'

test_expect_success 'a run in progress holds prune off' '
	write_dag slow.dag <<-\EOF &&
	pipeline "slow" {}

	stage "wait" {
	  run = "touch started && while [ ! -e go ]; do sleep 0.05; done"
	}
	EOF
	{ ntflow run slow.dag >slow.out 2>&1 & } &&
	while [ ! -e started ]; do sleep 0.05; done &&
	test_expect_code 75 ntflow prune --keep-runs 1 --no-wait 2>err &&
	cat err &&
	grep "workspace" err &&
	touch go &&
	wait &&
	ntflow prune --keep-runs 1 >out
'

test_expect_success 'keep_runs in the pipeline: each run prunes its own pipeline, and no other' '
	mkdir auto && (
		cd auto && git init -q &&
		write_dag k.dag <<-\EOF &&
		pipeline "k" {
		  keep_runs    = 2
		  redact_audit = true
		  params {
		    n = 1
		  }
		}

		stage "a" {
		  run = "echo ${params.n}"
		}
		EOF
		cp ../q.dag . &&
		git add . && git commit -q -m k &&
		ntflow validate k.dag &&
		ntflow fmt --check k.dag &&
		ntflow run q.dag >/dev/null 2>&1 &&
		ntflow run q.dag -p n=2 >/dev/null 2>&1 &&
		for n in 1 2 3 4; do
			ntflow run k.dag -p n=$n >out 2>err || return 1
			! grep -i warning err || return 1
		done &&
		pruned 3 && pruned 4 && ! pruned 5 && ! pruned 6 &&
		! pruned 1 && ! pruned 2 &&
		! test -e .ntflow/logs/3 && test -d .ntflow/logs/6 &&
		ntflow audit show >out &&
		grep -E " prune +[0-9a-f]{12}  \{\"by\":\"[^\"]+ \(the keep_runs or keep_days of run 5\)\",\"emptied_sha256\":\"[0-9a-f]{64}\",\"nodes_removed\":1,\"records_emptied\":1,\"run\":3\}$" out &&
		ntflow audit verify >out &&
		grep "(2 emptied by prune --redact-audit" out
	)
'

test_expect_success 'a miss explained against a run where the stage was cached: the same once that run is pruned' '
	mkdir why && (
		q_workspace why &&
		ntflow run q.dag >/dev/null 2>&1 &&
		ntflow run q.dag >/dev/null 2>&1 &&
		ntflow run q.dag -p n=2 >/dev/null 2>&1 &&
		ntflow why 2 only >out && grep "^only: cached: reused the result of run 1" out &&
		ntflow why 3 only >before &&
		grep "^only: ran: param n changed 1 → 2$" before &&
		ntflow prune --keep-runs 1 >out &&
		pruned 1 && pruned 2 &&
		ntflow why 3 only >after &&
		test_cmp before after
	)
'

test_expect_success 'a miss after a prune is explained against the entry a pruned run made' '
	mkdir only && (
		cd only && git init -q &&
		write_dag o.dag <<-\EOF &&
		pipeline "o" {
		  params {
		    n = 1
		    m = 1
		  }
		}

		stage "x" {
		  run     = "mkdir -p build && echo ${params.n} >build/x.txt"
		  outputs = ["build/x.txt"]
		}

		stage "y" {
		  run     = "mkdir -p build && echo ${params.m} >build/y.txt"
		  outputs = ["build/y.txt"]
		}
		EOF
		git add o.dag && git commit -q -m o &&
		ntflow run o.dag >/dev/null 2>&1 &&
		ntflow run o.dag --only y -p m=2 >/dev/null 2>&1 &&
		ntflow prune --keep-runs 1 >out &&
		pruned 1 &&
		ntflow run o.dag -p n=5 -p m=2 >/dev/null 2>&1 &&
		ntflow why 3 x >out &&
		cat out &&
		grep "^x: ran: param n changed 1 → 5$" out
	)
'

test_expect_success 'cache gc --keep-runs over pruned runs keeps what they may have reused' '
	mkdir gc && (
		q_workspace gc &&
		for n in 1 2 1 2; do ntflow run q.dag -p n=$n >/dev/null 2>&1 || return 1; done &&
		ntflow why 3 only >out && grep "^only: cached: reused the result of run 1" out &&
		ntflow prune --keep-runs 1 >out &&
		pruned 3 && ! ntflow show 3 | grep "^only " &&
		ntflow cache gc --keep-runs 2 >out &&
		cat out &&
		grep "^dropped 0 of 2 cache entries" out &&
		grep "^1 of the runs kept were pruned (ntflow prune): the entries made by the runs whose results they reused stay$" out &&
		ntflow run q.dag -p n=1 >/dev/null 2>&1 &&
		ntflow show >out &&
		grep -E "^only +cached " out &&
		ntflow cache gc --keep-runs 1 >out &&
		grep "^dropped 1 of 2 cache entries" out
	)
'

test_expect_success 'a log kept for a later run goes once that run is pruned too' '
	mkdir ev && (
		cd ev && git init -q &&
		write_dag e.dag <<-\EOF &&
		pipeline "e" {
		  params {
		    a = 1
		  }
		}

		stage "ev" {
		  run     = "mkdir -p build && echo evaluating ${params.a} && echo {\\\"acc\\\": ${params.a}} >build/m.json"
		  outputs = ["build/m.json"]
		  metrics = "build/m.json"
		}
		EOF
		git add e.dag && git commit -q -m e &&
		for a in 1 2 1; do ntflow run e.dag -p a=$a >/dev/null 2>&1 || return 1; done &&
		ntflow prune --keep-runs 2 >out &&
		pruned 1 &&
		test -f .ntflow/logs/1/ev.1.log &&
		ntflow logs 3 ev >out 2>err &&
		grep "^evaluating 1$" out &&
		for a in 4 5 6; do ntflow run e.dag -p a=$a >/dev/null 2>&1 || return 1; done &&
		ntflow prune --keep-runs 2 >out &&
		cat out &&
		pruned 3 &&
		! test -e .ntflow/logs/1 &&
		ntflow prune --keep-runs 2 --dry-run >out &&
		grep "^would prune 0 runs" out &&
		test_expect_code 1 ntflow logs 1 ev --attempt 1 2>err &&
		cat err &&
		grep "^ntflow: attempt 1 of ev in run 1 has no log: run 1 was pruned on " err
	)
'

test_expect_success 'a kept cached row keeps its components: why survives a prune, then a cache gc' '
	mkdir gcwhy && (
		q_workspace gcwhy &&
		for n in 1 1 2 3; do ntflow run q.dag -p n=$n >/dev/null 2>&1 || return 1; done &&
		ntflow why 3 only >before &&
		grep "^only: ran: param n changed 1 → 2$" before &&
		ntflow prune --keep-runs 2 >out &&
		pruned 1 && pruned 2 &&
		ntflow cache gc --keep-runs 2 >out &&
		grep "^dropped 1 of 3 cache entries" out &&
		ntflow why 3 only >after &&
		test_cmp before after
	)
'

chattr_i() { chattr +i "$1" 2>/dev/null && lsattr -d "$1" 2>/dev/null | grep -q "^....i"; }

test_expect_success 'a log that cannot be removed is a warning: later prunes go on' '
	mkdir stuck && (
		q_workspace stuck &&
		for n in 1 2 3 4; do ntflow run q.dag -p n=$n >/dev/null 2>&1 || return 1; done &&
		if chattr_i .ntflow/logs/1/only.1.log; then
			test_expect_code 1 ntflow prune --keep-runs 3 >out 2>err
			rc=$?
			chattr -i .ntflow/logs/1/only.1.log
			test $rc = 0 &&
			cat out err &&
			grep "^ntflow: warning: cannot remove .*logs/1.*(a file of pruned run 1; the next prune tries again)$" err &&
			grep "^ntflow: 1 file of pruned runs could not be removed (above)$" err &&
			pruned 1 &&
			ntflow prune --keep-runs 1 >out 2>err &&
			cat out err &&
			pruned 2 && pruned 3 &&
			! test -e .ntflow/logs/1 && ! test -e .ntflow/logs/2
		else
			echo "# no chattr +i here: the file that cannot be removed is not tried" >&2
		fi
	)
'

test_expect_success 'keep_runs, keep_days and redact_audit are checked by validate' '
	write_dag bad.dag <<-\EOF &&
	pipeline "b" {
	  keep_runs    = 0
	  keep_days    = 40000
	}

	stage "a" {
	  run = "true"
	}
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	cat err &&
	grep "^bad.dag:2:18: error: .*keep_runs.*1" err &&
	grep "^bad.dag:3:18: error: .*keep_days.*36500" err &&
	write_dag alone.dag <<-\EOF &&
	pipeline "b" {
	  redact_audit = true
	}

	stage "a" {
	  run = "true"
	}
	EOF
	test_expect_code 2 ntflow validate alone.dag 2>err &&
	cat err &&
	grep "^alone.dag:2:18: error: redact_audit needs keep_runs or keep_days: it says what pruning old runs does$" err
'

test_done
