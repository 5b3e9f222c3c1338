#!/bin/sh
# t6141-lineage-http.sh: lineage { url = ... }: each event is POSTed as application/json to
# the endpoint (a local server, tests/lineage/server.py), the same events as the file gets,
# valid against the spec's schema; an endpoint that refuses, answers an error or never answers
# (past timeout) is one warning, the run's exit status is left alone, and the events still
# reach the file. libcurl is loaded by the first POST: a run with no url does not map it.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

L=$NTFLOW_SRC_DIR/tests/lineage
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
	test_skip_all 'python3-jsonschema is missing (scripts/setup.sh installs it)'

valid() { /usr/bin/python3 "$L/validate.py" "$L/OpenLineage.json" "$1"; }

# pipeline_with URL FILE [CMD]: a chain a -> b whose events go to URL and FILE; b runs CMD
# (false: the run fails).
pipeline_with() {
	cat <<EOF
pipeline "web" {
  lineage {
    url     = "$1"
    file    = "$2"
    timeout = "1s"
  }
}
stage "a" {
  run     = "echo a >a.txt"
  outputs = ["a.txt"]
}
stage "b" {
  needs = ["a"]
  run   = "${3:-false}"
}
EOF
}

# start_server NAME [STATUS]: server.py in the background, bodies in NAME.posts, its port
# in NAME.port, its pid in NAME.pid.
start_server() {
	/usr/bin/python3 "$L/server.py" "$1.posts" "$1.port" $2 &
	echo $! >"$1.pid"
	wait_for_file "$1.port"
}
stop_servers() {
	for p in *.pid; do
		test -s "$p" && kill "$(cat "$p")" 2>/dev/null
	done
	return 0
}

test_expect_success 'the endpoint receives the same events as the file, as JSON POSTs' '
	test_when_finished stop_servers &&
	start_server ok &&
	pipeline_with "http://127.0.0.1:$(cat ok.port)/api/v1/lineage" ok.jsonl >ok.dag &&
	test_expect_code 1 ntflow run --no-tui ok.dag >log 2>err &&
	cat err &&
	! grep lineage err &&
	cut -d" " -f1,2 ok.posts | sort -u >got &&
	echo "/api/v1/lineage application/json" >expect &&
	test_cmp expect got &&
	cut -d" " -f3- ok.posts >posted.jsonl &&
	test_cmp ok.jsonl posted.jsonl &&
	test "$(wc -l <posted.jsonl)" = 6 &&
	valid posted.jsonl
'

test_expect_success 'an unreachable endpoint: one warning, exit 0, the file gets all' '
	pipeline_with "http://127.0.0.1:1/api/v1/lineage" up.jsonl true >up.dag &&
	ntflow run --no-tui up.dag >log 2>err &&
	cat err &&
	test "$(grep -c lineage err)" = 1 &&
	grep "cannot send to http://127.0.0.1:1/api/v1/lineage" err &&
	grep "^run [0-9]* succeeded" log &&
	test "$(wc -l <up.jsonl)" = 6 &&
	valid up.jsonl
'

test_expect_success 'an unreachable endpoint leaves a failed run failed (exit 1), one warning' '
	pipeline_with "http://127.0.0.1:1/api/v1/lineage" down.jsonl >down.dag &&
	test_expect_code 1 ntflow run --no-tui down.dag >log 2>err &&
	cat err &&
	test "$(grep -c lineage err)" = 1 &&
	grep "cannot send to http://127.0.0.1:1/api/v1/lineage" err &&
	test "$(wc -l <down.jsonl)" = 6 &&
	valid down.jsonl
'

test_expect_success 'an endpoint answering 500: one warning naming the status' '
	test_when_finished stop_servers &&
	start_server broken 500 &&
	pipeline_with "http://127.0.0.1:$(cat broken.port)/x" broken.jsonl >broken.dag &&
	test_expect_code 1 ntflow run --no-tui broken.dag >log 2>err &&
	cat err &&
	test "$(grep -c lineage err)" = 1 &&
	grep "answered HTTP 500" err &&
	test "$(wc -l <broken.posts)" = 1
'

test_expect_success 'an endpoint that never answers: given up after its timeout, once' '
	test_when_finished stop_servers &&
	/usr/bin/python3 -c "
import socket, sys, time
s = socket.socket()
s.bind((\"127.0.0.1\", 0))
s.listen(16)
open(sys.argv[1], \"w\").write(str(s.getsockname()[1]))
time.sleep(600)
" mute.port0 &
	echo $! >mute.pid &&
	wait_until "test -s mute.port0" &&
	pipeline_with "http://127.0.0.1:$(cat mute.port0)/x" mute.jsonl >mute.dag &&
	test_expect_code 1 ntflow run --no-tui mute.dag >log 2>err &&
	cat err &&
	test "$(grep -c lineage err)" = 1 &&
	grep -i "timeout\|timed out" err &&
	test "$(wc -l <mute.jsonl)" = 6
'

test_expect_success 'libcurl is loaded by a run that posts, not mapped by one that does not' '
	test_when_finished stop_servers &&
	start_server maps &&
	printf "%s\n" "grep -c libcurl /proc/\${NTFLOW_RUNNER%%.*}/maps >\"\$1\" || :" >maps.sh &&
	pipeline_with "http://127.0.0.1:$(cat maps.port)/x" maps.jsonl "sh maps.sh with-url.count" >maps.dag &&
	ntflow run --no-tui maps.dag >log 2>&1 &&
	test "$(cat with-url.count)" -gt 0 &&
	printf "stage \"b\" {\n  run = \"sh maps.sh plain.count\"\n}\n" >plain.dag &&
	ntflow run --no-tui plain.dag >log 2>&1 &&
	test "$(cat plain.count)" = 0
'

test_done
