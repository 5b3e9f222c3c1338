#!/bin/sh
# t6140-lineage-file.sh: the pipeline's lineage { file = ... }: a run and its stages append
# OpenLineage RunEvents that validate against the spec's JSON schema (tests/lineage/): START
# and COMPLETE, FAIL for a failing stage and its run, ABORT for a cancelled run, one runId per
# attempt, cached stages marked so, datasets with their git ids; a write error is one warning
# and never the run's failure; no block, no file.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

L=$NTFLOW_SRC_DIR/tests/lineage
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
	test_skip_all 'python3-jsonschema is missing (scripts/setup.sh installs it)'

valid() { /usr/bin/python3 "$L/validate.py" "$L/OpenLineage.json" "$1"; }
summary() { /usr/bin/python3 "$L/summary.py" "$1"; }

# prep reads data.txt and writes build/prep.txt; of train's two instances lr=2 fails.
write_dag fail.dag <<\EOF
pipeline "demo" {
  lineage {
    file = "out/fail.jsonl"
  }
}
stage "prep" {
  inputs  = ["data.txt"]
  run     = "mkdir -p build && cp data.txt build/prep.txt"
  outputs = ["build/prep.txt"]
}
stage "train" {
  needs = ["prep"]
  matrix {
    lr = [1, 2]
  }
  run = "test ${matrix.lr} = 1"
}
EOF
write_dag ok.dag <<\EOF
pipeline "okp" {
  lineage {
    file      = "ok.jsonl"
    namespace = "team-ml"
  }
}
stage "prep" {
  inputs  = ["data.txt"]
  run     = "mkdir -p build && cp data.txt build/ok.txt"
  outputs = ["build/ok.txt"]
}
EOF
write_dag retry.dag <<\EOF
pipeline "retry" {
  lineage {
    file = "retry.jsonl"
  }
}
stage "flaky" {
  retries       = 1
  backoff       = "0s"
  run           = "test -f flaky.once || { touch flaky.once; exit 3; }"
}
EOF
write_dag sleep.dag <<\EOF
pipeline "sleepy" {
  lineage {
    file = "sleep.jsonl"
  }
}
stage "nap" {
  run = "touch nap.ready; exec sleep 6140.5"
}
stage "after" {
  needs = ["nap"]
  run   = "true"
}
EOF
write_dag badfile.dag <<\EOF
pipeline "badfile" {
  lineage {
    file = "no/such/dir/x.jsonl"
  }
}
stage "a" {
  run = "true"
}
stage "b" {
  needs = ["a"]
  run   = "true"
}
EOF
write_dag none.dag <<\EOF
pipeline "none" {
}
stage "a" {
  run = "true"
}
EOF
write_dag bad.dag <<\EOF
pipeline "p" {
  lineage {
    fiel    = "x.jsonl"
    timeout = "soon"
  }
}
stage "a" {
  run = "true"
}
EOF
mkdir out
echo "some data" >data.txt
git add data.txt fail.dag && git commit -q -m data

test_expect_success 'a failing stage: START/FAIL for it, FAIL for the run, all valid' '
	test_expect_code 1 ntflow run --no-tui fail.dag >log 2>err &&
	valid out/fail.jsonl &&
	summary out/fail.jsonl >events &&
	cat events &&
	test "$(head -n 1 events)" = "START demo" &&
	test "$(tail -n 1 events)" = "FAIL demo failed" &&
	sort events >got &&
	sort >expect <<-\EOF &&
	START demo
	START demo.prep
	COMPLETE demo.prep
	START demo.train[lr=1]
	COMPLETE demo.train[lr=1]
	START demo.train[lr=2]
	FAIL demo.train[lr=2] failed
	FAIL demo failed
	EOF
	test_cmp expect got
'

test_expect_success 'the errors, the parent, the interval and the producer' '
	/usr/bin/python3 - out/fail.jsonl <<-\EOF
	import json, sys
	ev = [json.loads(l) for l in open(sys.argv[1])]
	run, end = ev[0], ev[-1]
	fail = [e for e in ev if e["job"]["name"] == "demo.train[lr=2]" and e["eventType"] == "FAIL"][0]
	assert fail["run"]["facets"]["errorMessage"]["message"] == "exit 1", fail
	assert "train[lr=2]" in end["run"]["facets"]["errorMessage"]["message"], end
	assert fail["run"]["facets"]["parent"]["job"] == {"namespace": "ntflow", "name": "demo"}
	assert run["run"]["facets"]["nominalTime"]["nominalStartTime"].endswith("Z")
	assert run["producer"].startswith("https://github.com/ntflow/ntflow/")
	assert all(e["job"]["namespace"] == "ntflow" for e in ev)
	assert all(e["eventTime"] >= ev[0]["eventTime"] for e in ev)
	assert ev[0]["run"]["facets"]["ntflow"]["run"] == 1
	ids = {e["job"]["name"]: e["run"]["runId"] for e in ev}
	assert len(set(ids.values())) == 4, ids
	EOF
'

test_expect_success 'datasets: absolute paths with the git blob id and the output SHA-256' '
	/usr/bin/python3 - out/fail.jsonl "$(pwd -P)" "$(git hash-object data.txt)" \
		"$(sha256sum build/prep.txt | cut -d" " -f1)" "$(hostname)" <<-\EOF
	import json, sys
	path, root, blob, sha, host = sys.argv[1:]
	ev = [json.loads(l) for l in open(path) if "\"demo.prep\"" in l]
	start, done = ev
	(i,) = start["inputs"]
	assert i["namespace"] == "file://" + host, i
	assert i["name"] == root + "/data.txt", i
	assert i["facets"]["ntflow_identity"]["identity"] == "blob:" + blob, i
	(o,) = done["outputs"]
	assert o["name"] == root + "/build/prep.txt", o
	assert o["facets"]["ntflow_identity"]["identity"] == "sha256:" + sha, o
	EOF
'

test_expect_success 'a cached stage: START and COMPLETE marked cached; another runId' '
	ntflow run --no-tui ok.dag >log 2>err &&
	ntflow run --no-tui ok.dag >log 2>err &&
	grep "prep cached" log &&
	valid ok.jsonl &&
	/usr/bin/python3 - ok.jsonl <<-\EOF
	import json, sys
	ev = [json.loads(l) for l in open(sys.argv[1])]
	assert len(ev) == 8, len(ev)
	assert [e["eventType"] for e in ev] == ["START", "START", "COMPLETE", "COMPLETE"] * 2
	second = ev[4:]
	assert second[2]["run"]["facets"]["ntflow"]["state"] == "cached", second[2]
	assert "state" not in ev[2]["run"]["facets"]["ntflow"]
	assert ev[1]["run"]["runId"] != second[1]["run"]["runId"]
	assert ev[0]["run"]["runId"] != second[0]["run"]["runId"]
	assert all(e["job"]["namespace"] == "team-ml" for e in ev)
	EOF
'

test_expect_success 'a retried stage: FAIL for attempt 1, its own runId for attempt 2' '
	ntflow run --no-tui retry.dag >log 2>err &&
	valid retry.jsonl &&
	summary retry.jsonl >events &&
	cat >expect <<-\EOF &&
	START retry
	START retry.flaky
	FAIL retry.flaky retrying
	START retry.flaky
	COMPLETE retry.flaky
	COMPLETE retry succeeded
	EOF
	test_cmp expect events
'

test_expect_success 'a cancelled run: ABORT for the running stage and the run' '
	env --default-signal=INT ntflow run --no-tui sleep.dag >log 2>err &
	echo $! >ntflow.pid &&
	wait_for_file nap.ready &&
	wait_until "test \$(procs_with_args \"sleep 6140.5\") = 1" 50 &&
	kill -INT $(cat ntflow.pid) &&
	rc=0 && { wait $(cat ntflow.pid) || rc=$?; } &&
	test $rc = 130 &&
	valid sleep.jsonl &&
	summary sleep.jsonl >events &&
	cat >expect <<-\EOF &&
	START sleepy
	START sleepy.nap
	ABORT sleepy.nap cancelled
	ABORT sleepy cancelled
	EOF
	test_cmp expect events
'

test_expect_success 'a file that cannot be written: one warning, the run succeeds' '
	ntflow run --no-tui badfile.dag >log 2>err &&
	cat err &&
	test "$(grep -c lineage err)" = 1 &&
	grep "cannot open .*no/such/dir/x.jsonl" err &&
	grep "^run [0-9]* succeeded" log
'

test_expect_success 'no lineage block: no events, no warning' '
	ntflow run --no-tui none.dag >log 2>err &&
	! grep -i lineage err &&
	! test -e lineage.jsonl
'

test_expect_success 'the block is checked: a misspelt attribute, a bad timeout' '
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	cat err &&
	grep "did you mean .file" err &&
	grep "invalid duration" err
'

test_done
