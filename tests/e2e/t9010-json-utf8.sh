#!/bin/sh
# t9010-json-utf8.sh: values holding bytes that are not UTF-8 (a -p value, a metric name,
# an acknowledgement note) come out of every JSON output as \u00XX escapes, so a strict
# reader (Python decoding UTF-8 strictly) accepts them; the audit export still verifies
# with the independent script of t9000.
. "$(dirname "$0")/lib.sh"

write_dag u.dag <<\EOF
pipeline "u" {
  params {
    msg = "plain"
  }
}

stage "train" {
  run     = "mkdir -p build && printf '%s' ${params.msg} >build/model.bin && printf '{\"auc\": 0.9, \"n_%s\": 1}' ${params.msg} >build/metrics.json"
  outputs = ["build/"]
  metrics = "build/metrics.json"
}

gate "promote" {
  needs   = ["train"]
  require = ["auc >= 0.5"]
}

model "m" {
  artifact = "build/model.bin"
  metrics  = "build/metrics.json"
  gate     = "promote"
}

monitor "watch" {
  needs   = ["train"]
  run     = "echo '{\"auc\": 0.9}' >watch.json"
  metrics = "watch.json"
  alert "high-auc" {
    when     = "auc > 0.5"
    severity = "low"
  }
}
EOF

# strict FILE: FILE is JSON (or, with -l, JSON lines) in strict UTF-8.
strict() {
	/usr/bin/python3 - "$@" <<-\PY
	import json, sys
	lines = sys.argv[1] == "-l"
	data = open(sys.argv[-1], "rb").read().decode("utf-8")   # strict: raises on a bad byte
	for doc in (data.splitlines() if lines else [data]):
	    json.loads(doc)
	PY
}

bad=$(printf 'a\377\376b')

test_expect_success 'setup: a run with a parameter of bytes 0xff 0xfe' '
	ntflow run --no-tui u.dag -p "msg=$bad" >out &&
	grep "m v1 .* production" out &&
	ntflow alerts ack 1 --note "seen $bad"
'

for cmd in "show --json" "show 1 --json" "runs --json" "metrics --json" "alerts --json" \
	"registry list --json" "registry show m --json" "audit show --json" "cache ls --json"
do
	test_expect_success "ntflow $cmd: strict UTF-8 JSON" '
		ntflow $cmd >out.json &&
		strict out.json
	'
done

test_expect_success 'the value reads back as the escape of each byte' '
	ntflow show --json >show.json &&
	/usr/bin/python3 -c "
import json
assert json.load(open(\"show.json\"))[\"run\"][\"params\"][\"msg\"] == \"a\\u00ff\\u00feb\"
"
'

test_expect_success 'run --json events: strict UTF-8 JSON lines' '
	ntflow run --no-tui --json u.dag -p "msg=$bad" >events.jsonl &&
	strict -l events.jsonl
'

test_expect_success 'audit export: strict JSON lines that still verify' '
	ntflow audit export log.jsonl &&
	strict -l log.jsonl &&
	grep -F "\\\\u00ff\\\\u00fe" log.jsonl &&
	/usr/bin/python3 - log.jsonl <<-\PY &&
	# ntflow(1): hash = SHA-256("SEQ|TIME_MS|RUN_ID|KIND|PAYLOAD|PREV_HASH")
	import hashlib, json, sys
	prev = "0" * 64
	n = 0
	for line in open(sys.argv[1], encoding="utf-8"):
	    r = json.loads(line)
	    if r["type"] != "record":
	        continue
	    msg = "%d|%d|%d|%s|%s|%s" % (r["seq"], r["time_ms"], r["run_id"] or 0, r["kind"], r["payload"], prev)
	    assert r["prev_hash"] == prev and hashlib.sha256(msg.encode()).hexdigest() == r["hash"], r["seq"]
	    prev = r["hash"]
	    n += 1
	assert n > 5, n
	PY
	ntflow audit verify
'

test_done
