#!/bin/sh
# t5110-metrics-large.sh: a metrics file of 160 000 keys (the size that once took 32 s to
# read, and minutes as a model's metrics) is read whole, as a stage's metrics and as the
# metrics registered with a model version; a name given twice keeps its later value.
# check_metrics proves the reading linear by counting comparisons; this proves the whole
# path right at that size.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: 160 000 metrics, half of them nested' '
	/usr/bin/python3 -c "
import json
m = {\"k%d\" % i: i + 0.5 for i in range(80000)}
m.update({\"g%d\" % g: {\"m%d\" % i: g * 200 + i for i in range(200)} for g in range(400)})
text = json.dumps(m)
print(text[:-1] + \", \\\"k0\\\": -1}\")
" >big.json &&
	test $(wc -c <big.json) -gt 2000000 &&
	write_dag big.dag <<-\EOF
	stage "train" {
	  run     = "cp big.json model.json"
	  outputs = ["model.json"]
	  metrics = "model.json"
	}

	model "big" {
	  artifact = "model.json"
	  metrics  = "model.json"
	}
	EOF
'

test_expect_success 'a stage and a model with 160 000 metrics: every one recorded' '
	ntflow run --no-tui big.dag >out &&
	grep "big v1" out &&
	ntflow metrics --json >metrics.json &&
	ntflow registry show big --json >version.json &&
	/usr/bin/python3 -c "
import json
rows = json.load(open(\"metrics.json\"))
got = {r[\"name\"]: r[\"value\"] for r in rows}
assert len(rows) == 160000, len(rows)
assert got[\"k0\"] == -1 and got[\"k79999\"] == 79999.5 and got[\"g399.m199\"] == 79999, got[\"k0\"]
version = json.load(open(\"version.json\"))
reg = version[\"metrics\"]
assert len(reg) == 160000, len(reg)
assert reg[\"k0\"] == -1 and reg[\"k1\"] == 1.5 and reg[\"g0.m0\"] == 0 and reg[\"g399.m199\"] == 79999
"
'

test_done
