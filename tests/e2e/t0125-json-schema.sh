#!/bin/sh
# t0125-json-schema.sh: every --json output against the one schema ntflow(1) documents in
# JSON OUTPUT: each object's fields, by its path, are among those listed for that path (no
# field the manual does not name, no object it does not describe), and every documented
# output is produced here (issue 19: JSON field names the same across commands).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
test -x "$PY" || PY=$(command -v python3) || PY=
test -n "$PY" && test_set_prereq PYTHON3
MAN=$NTFLOW_SRC_DIR/man/ntflow.1

test_expect_success PYTHON3 'setup: runs with a gate, a model, a monitor alert and a backfill' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  schedule = "0 3 * * 1"
	  params {
	    acc = 0.9
	    psi = 0.31
	  }
	}
	stage "train" {
	  run     = "mkdir -p build && echo w ${params.acc} >build/m.txt"
	  outputs = ["build/m.txt"]
	}
	stage "evaluate" {
	  needs   = ["train"]
	  run     = "echo {\\\"accuracy\\\": ${params.acc}} >build/e.json"
	  outputs = ["build/e.json"]
	  metrics = "build/e.json"
	}
	gate "g" {
	  needs   = ["evaluate"]
	  require = ["accuracy >= 0.85"]
	  criterion {
	    require     = "accuracy >= 0.82"
	    violation   = "low_accuracy"
	    severe_when = "accuracy < 0.7"
	  }
	}
	model "clf" {
	  artifact = "build/m.txt"
	  gate     = "g"
	}
	monitor "drift" {
	  needs   = ["train"]
	  run     = "printf {\\\"max_psi\\\":%s} ${params.psi} >drift.json"
	  metrics = "drift.json"
	  alert "shift" {
	    when     = "max_psi > 0.25"
	    severity = "high"
	  }
	}
	EOF
	printf "/.ntflow/\n/build/\n/models/\n" >.gitignore &&
	git add . && git commit -q -m pipeline &&
	ntflow run p.dag --no-tui --json >run.1 &&
	test_expect_code 3 ntflow run p.dag --no-tui --json -p acc=0.8 >run.2 &&
	ntflow run p.dag --no-tui --json -p acc=0.95 >run.3 &&
	{ ntflow backfill p.dag --from 2026-11-01 --to 2026-11-10 --json >backfill.json || :; } &&
	cat run.1 run.2 run.3 >run.json &&
	ntflow runs --json >runs.json &&
	ntflow runs --params --metrics --json >runs-pm.json &&
	ntflow show 2 --json >show.json &&
	ntflow show 1 --json >show-1.json &&
	ntflow show --perf --json >show-perf.json &&
	ntflow metrics --json >metrics.json &&
	ntflow diff 1 2 --json >diff.json &&
	ntflow audit show --json >audit.json &&
	ntflow alerts --json >alerts.json &&
	ntflow violations --json >violations.json &&
	ntflow cache ls --json >cache.json &&
	ntflow registry list --json >registry.json &&
	ntflow registry show clf@1 --json >registry-show.json &&
	ntflow scheduler --status --json >scheduler.json &&
	ntflow graph p.dag --format json >graph.json &&
	ntflow report drift --from 2000-01-01 --to 2099-12-31 --json >report-drift.json
'

test_expect_success PYTHON3 'every output has only the fields ntflow(1) lists for its objects' '
	cat >check.py <<-\EOF &&
	import json, sys
	man = open(sys.argv[1]).read().split("\n")
	on, doc, free, path = False, {}, {}, None
	for i, line in enumerate(man):
	    if line.startswith(".SH"):
	        on = line == ".SH \"JSON OUTPUT\""
	        continue
	    if not on:
	        continue
	    if line == ".TP" and man[i + 1].startswith(".B "):
	        path = man[i + 1][3:].replace("\\-", "-")
	    elif path and line.startswith(".BR "):
	        names = [n.strip() for n in line[4:].split("\", \"")]
	        doc[path] = {n.rstrip("{}") for n in names}
	        free[path] = {n[:-2] for n in names if n.endswith("{}")}
	        path = None
	assert len(doc) > 20, doc
	seen, problems = set(), []
	def walk(o, p):
	    if isinstance(o, dict):
	        seen.add(p)
	        if p not in doc:
	            problems.append("%s: an object ntflow(1) does not describe (fields %s)" % (p, sorted(o)))
	            return
	        for k, v in o.items():
	            if k not in doc[p]:
	                problems.append("%s: field %s is not in ntflow(1)" % (p, k))
	            elif k not in free[p]:
	                walk(v, p + "." + k)
	    elif isinstance(o, list):
	        for x in o:
	            walk(x, p + "[]")
	for arg in sys.argv[2:]:
	    root, f = arg.split("=")
	    text = open(f).read()
	    try:
	        docs = [json.loads(text)]
	    except ValueError:
	        docs = [json.loads(l) for l in text.splitlines() if l.strip()]
	    for d in docs:
	        walk(d, root)
	for r in sorted({p for p in doc if "." not in p} - seen):
	    problems.append("%s: documented, not produced by this test" % r)
	for line in problems:
	    print(line)
	EOF
	"$PY" check.py "$MAN" run=run.json runs=runs.json runs=runs-pm.json show=show.json show=show-1.json \
		show-perf=show-perf.json metrics=metrics.json diff=diff.json audit=audit.json \
		alerts=alerts.json cache=cache.json registry=registry.json registry-show=registry-show.json \
		scheduler=scheduler.json backfill=backfill.json graph=graph.json \
		violations=violations.json report-drift=report-drift.json >problems &&
	cat problems &&
	test_must_be_empty problems
'

test_done
