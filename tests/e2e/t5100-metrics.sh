#!/bin/sh
# t5100-metrics.sh: metrics files and `ntflow metrics`: flat and nested numbers recorded per
# run and node, a metric across runs (oldest first, newest last) as a table and as JSON,
# filters and a suggestion for a misspelt name; strings, arrays and nulls ignored with a
# warning; a missing, empty, truncated, non-JSON or NaN metrics file fails the stage with a
# message naming the file (and the line:column of the JSON error).
. "$(dirname "$0")/lib.sh"

write_dag eval.dag <<-\EOF
	pipeline "eval" {
	  params {
	    auc = 0.8
	  }
	}

	stage "evaluate" {
	  run     = "printf '{\"auc\": %s, \"eval\": {\"f1\": 0.5, \"per_class\": {\"fraud\": 0.25}}}' ${params.auc} > m.json"
	  metrics = "m.json"
	}
	EOF

write_dag other.dag <<-\EOF
	pipeline "other" {
	}

	stage "score" {
	  run     = "echo '{\"auc\": 0.6}' > o.json"
	  metrics = "o.json"
	}
	EOF

test_expect_success 'no metrics yet' '
	test_expect_code 0 ntflow metrics 2>err &&
	grep "^ntflow: no runs yet in" err
'

test_expect_success 'three runs with different metrics, and one of another pipeline' '
	ntflow run eval.dag --no-tui -p auc=0.8 >/dev/null &&
	ntflow run other.dag --no-tui >/dev/null &&
	ntflow run eval.dag --no-tui -p auc=0.85 >/dev/null &&
	ntflow run eval.dag --no-tui -p auc=0.9 >/dev/null
'

test_expect_success 'metrics --name auc --pipeline eval: one line per run, newest last' '
	d=$(date -u +%Y-%m-%d) &&
	cat >expect <<-EOF &&
	RUN  DATE        NODE      NAME  VALUE
	  1  $d  evaluate  auc   0.8
	  3  $d  evaluate  auc   0.85
	  4  $d  evaluate  auc   0.9
	EOF
	ntflow metrics --name auc --pipeline eval >out &&
	test_cmp expect out
'

test_expect_success 'nested objects are dotted names; all pipelines add a column' '
	ntflow metrics --name eval.per_class.fraud >out &&
	test_line_count = 4 out &&
	grep -E "^  4  [0-9-]+  evaluate  eval.per_class.fraud  0.25$" out &&
	ntflow metrics --name auc >out &&
	head -n 1 out | grep -E "^RUN  DATE +PIPELINE  NODE +NAME  VALUE$" &&
	grep -E "^  2  [0-9-]+  other +score +auc   0.6$" out &&
	ntflow metrics --pipeline eval >out &&
	test_line_count = 10 out
'

test_expect_success 'metrics --json is the series the trend charts read' '
	ntflow metrics --name auc --pipeline eval --json >m.json &&
	test "$(json_get m.json "[0].run_id")" = 1 &&
	test "$(json_get m.json "[2].run_id")" = 4 &&
	test "$(json_get m.json "[2].value")" = 0.9 &&
	test "$(json_get m.json "[2].node")" = evaluate &&
	test "$(json_get m.json "[2].pipeline")" = eval &&
	json_get m.json "[2].started" | grep -E "^[0-9-]{10}T[0-9:.]{12}Z$" &&
	test_must_fail json_get m.json "[3]"
'

test_expect_success 'filters that match nothing: exit 1, a suggestion for a misspelt name' '
	test_expect_code 0 ntflow metrics --name acu 2>err &&
	echo "ntflow: no metric '"'"'acu'"'"' recorded; did you mean '"'"'auc'"'"'?" >expect &&
	test_cmp expect err &&
	test_expect_code 0 ntflow metrics --pipeline nope 2>err &&
	echo "ntflow: no metrics recorded for pipeline nope" >expect &&
	test_cmp expect err &&
	ntflow metrics --node score >out &&
	test_line_count = 2 out &&
	test_expect_code 2 ntflow metrics extra 2>err
'

write_dag strings.dag <<-\EOF
	stage "s" {
	  run     = "echo '{\"auc\": 0.9, \"model\": \"logreg\", \"tags\": [1, 2], \"note\": null, \"ok\": true}' > s.json"
	  metrics = "s.json"
	}
	EOF

test_expect_success 'strings, arrays and nulls are ignored with a warning; booleans are 1 and 0' '
	ntflow run strings.dag --no-tui >out 2>err &&
	cat err &&
	grep -Fx "ntflow: warning: s: s.json: metric '"'"'model'"'"' is a string, not a number; ignored" err &&
	grep -Fx "ntflow: warning: s: s.json: metric '"'"'tags'"'"' is an array, not a number; ignored" err &&
	grep -Fx "ntflow: warning: s: s.json: metric '"'"'note'"'"' is null; ignored" err &&
	ntflow show --json >show.json &&
	test "$(json_get show.json ".stages[0].metrics.auc")" = 0.9 &&
	test "$(json_get show.json ".stages[0].metrics.ok")" = 1 &&
	test_must_fail json_get show.json ".stages[0].metrics.model"
'

# bad_metrics NAME: a pipeline whose stage copies data/NAME.json (stdin) to its metrics file.
bad_metrics() {
	mkdir -p data &&
	cat >"data/$1.json" &&
	printf 'stage "s" {\n  run     = "mkdir -p build && cp data/%s.json build/m.json"\n  metrics = "build/m.json"\n}\n' "$1" >"$1.dag"
}
printf 'stage "s" {\n  run     = "mkdir -p build"\n  metrics = "build/m.json"\n}\n' >missing.dag
bad_metrics empty </dev/null
printf '{"auc": 0.9' | bad_metrics truncated
echo "accuracy=0.9" | bad_metrics notjson
printf '{"auc": 0.9,\n "ece": NaN}\n' | bad_metrics nan
echo '{"a": -Infinity}' | bad_metrics inf
echo '[0.9]' | bad_metrics array
echo '{"note": "NaN", "auc": }' | bad_metrics nanstring

# fails NAME EXPECTED-REASON: the run fails (1) and the stage's reason is exactly that.
fails() {
	test_expect_code 1 ntflow run "$1.dag" --no-tui --no-cache >out 2>err &&
	ntflow show --json >show.json &&
	json_get show.json ".stages[0].reason" >reason &&
	echo "$2" >expect &&
	test_cmp expect reason
}

test_expect_success 'a missing metrics file fails the stage, naming it' '
	fails missing "metrics file '"'"'build/m.json'"'"' does not exist"
'

test_expect_success 'an empty one' '
	fails empty "metrics file '"'"'build/m.json'"'"' is empty"
'

test_expect_success 'a truncated one, with the position where it ends' '
	fails truncated "metrics file '"'"'build/m.json'"'"':1:12: invalid JSON: unexpected end of file (truncated?)"
'

test_expect_success 'one that is not JSON' '
	fails notjson "metrics file '"'"'build/m.json'"'"':1:1: invalid JSON"
'

test_expect_success 'NaN and Infinity are rejected where they stand' '
	fails nan "metrics file '"'"'build/m.json'"'"':2:9: NaN and Infinity are not valid metric values" &&
	fails inf "metrics file '"'"'build/m.json'"'"':1:7: NaN and Infinity are not valid metric values"
'

test_expect_success 'the word NaN inside a string is no NaN: the real error is reported' '
	fails nanstring "metrics file '"'"'build/m.json'"'"':1:24: invalid JSON"
'

test_expect_success 'a file that is not an object of numbers' '
	fails array "metrics file '"'"'build/m.json'"'"' must hold a JSON object of numbers"
'

test_done
