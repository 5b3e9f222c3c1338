#!/bin/sh
# t2080-hello.sh: examples/hello.dag, the tour of `ntflow run`, runs end to end in a fresh
# repository: retries, a timeout, parallel stages and a matrix with select, in under 15s.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_expect_success 'setup: a repository holding the example' '
	mkdir examples &&
	cp "$NTFLOW_SRC_DIR/examples/hello.dag" examples/ &&
	git add examples &&
	git commit -q -m "hello example" &&
	ntflow validate examples/hello.dag
'

test_expect_success 'it runs successfully in under 15 seconds' '
	start=$(now) &&
	ntflow run examples/hello.dag --no-tui >out 2>err &&
	took=$(seconds_since "$start") &&
	cat out err &&
	echo "took $took s" &&
	num_lt "$took" 15 &&
	grep -E "^run [0-9]+ succeeded" out
'

test_expect_success 'the matrix winner reached the report' '
	echo "best lr 0.2" >expect &&
	test_cmp expect build/hello/report.txt &&
	grep "^hello from run 1 of week 20[0-9][0-9]-W[0-9][0-9]$" build/hello/greeting.txt
'

test_expect_success 'flaky took three attempts, slow timed out once, everything succeeded' '
	ntflow show --json >show.json &&
	test "$(json_get show.json .run.status)" = succeeded &&
	test "$(stage_field show.json flaky attempts)" = 3 &&
	test "$(stage_field show.json slow attempts)" = 2 &&
	grep -E "slow retrying.*timed out" out &&
	grep -E "flaky retrying.*exit 1" out &&
	test "$(stage_count show.json tune)" = 3 &&
	/usr/bin/python3 -c "
import json
doc = json.load(open(\"show.json\"))
bad = [(s[\"name\"], s.get(\"instance\"), s[\"state\"]) for s in doc[\"stages\"] if s[\"state\"] != \"succeeded\"]
assert not bad, bad
"
'

test_expect_success 'the parallel stages overlapped' '
	# count and greet both started before either ended
	grep -n -E "^\[[0-9]+/[0-9]+\] (count|greet) (running|succeeded)" out >lines &&
	sed -n "1,2p" lines | grep -c running >n &&
	echo 2 >expect &&
	test_cmp expect n
'

test_expect_success 'it runs again from a clean start' '
	ntflow run examples/hello.dag --no-tui >out2 &&
	echo "best lr 0.2" >expect &&
	test_cmp expect build/hello/report.txt
'

test_done
