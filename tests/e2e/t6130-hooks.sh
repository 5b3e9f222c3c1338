#!/bin/sh
# t6130-hooks.sh: the pipeline's hooks. on_alert fires once per new alert, on_promote once
# per version put in production, then on_success / on_failure / on_gated by the run's
# status, each with its facts in NTFLOW_* variables and as JSON on stdin, its output in the
# run's hooks.log; nothing fires again for a repeated alert or an unchanged model; a hook
# that fails or outlives hook_timeout is warned about and audited, and leaves the run's exit
# status alone; the README's Slack (curl) and mail (sendmail) examples send what they say.
. "$(dirname "$0")/lib.sh"

# The hook every event runs: its environment and stdin, kept per event.
cat >record.sh <<\EOF
#!/bin/sh
mkdir -p hooks
env | grep '^NTFLOW_' | sort >>"hooks/$NTFLOW_EVENT.env"
cat >>"hooks/$NTFLOW_EVENT.json"
echo >>"hooks/$NTFLOW_EVENT.json"
echo "hook $NTFLOW_EVENT says hello"
EOF
chmod +x record.sh

# pipe DAG [GATE_MIN] [EXTRA...]: a pipeline with a model gated on auc >= GATE_MIN (0.5),
# a monitor raising a high alert, every hook recording, and EXTRA pipeline lines
pipe() {
	f=$1 min=${2:-0.5}
	shift 2
	{
		printf 'pipeline "p" {\n'
		for e in on_alert on_promote on_success on_failure on_gated; do
			printf '  %s = "./record.sh"\n' "$e"
		done
		for a in "$@"; do printf '  %s\n' "$a"; done
		cat <<-EOF
		  params {
		    fail = "no"
		  }
		}
		stage "train" {
		  run     = "mkdir -p m && echo {\\\\\\"auc\\\\\\": 0.9} >m/metrics.json && echo w >m/model"
		  outputs = ["m/"]
		  metrics = "m/metrics.json"
		}
		stage "flaky" {
		  run   = "test \${params.fail} = no"
		  cache = false
		}
		gate "ok" {
		  needs   = ["train"]
		  require = ["auc >= $min"]
		}
		model "clf" {
		  artifact = "m/model"
		  metrics  = "m/metrics.json"
		  gate     = "ok"
		}
		monitor "drift" {
		  run     = "mkdir -p d && echo {\\\\\\"psi\\\\\\": 0.4} >d/drift.json"
		  outputs = ["d/"]
		  metrics = "d/drift.json"
		  alert "shift" {
		    when     = "psi > 0.25"
		    severity = "high"
		  }
		}
		EOF
	} >"$f"
}

test_expect_success 'setup' '
	pipe p.dag 0.5 &&
	ntflow validate p.dag &&
	printf "/.ntflow/\n/m/\n/d/\n/models/\n/hooks/\nout*\nerr*\n/bin/\n/sent*\n" >.gitignore &&
	git add . && git commit -q -m p
'

test_expect_success 'a first run: alert, promote, then success, each with its facts' '
	ntflow run --no-tui p.dag >out 2>err &&
	test "$(ls hooks | sort | tr "\n" " ")" = "alert.env alert.json promote.env promote.json success.env success.json " &&
	grep -x NTFLOW_EVENT=promote hooks/promote.env &&
	grep -x NTFLOW_MODEL=clf hooks/promote.env &&
	grep -x NTFLOW_VERSION=1 hooks/promote.env &&
	grep -x NTFLOW_RUN_ID=1 hooks/promote.env &&
	grep -x NTFLOW_STATUS=succeeded hooks/success.env &&
	grep -x NTFLOW_PIPELINE=p hooks/success.env &&
	grep -x NTFLOW_DAG=p.dag hooks/success.env &&
	! grep NTFLOW_MODEL hooks/success.env &&
	grep -x NTFLOW_ALERT_SEVERITY=high hooks/alert.env &&
	grep -x NTFLOW_ALERT_RULE=shift hooks/alert.env &&
	grep -x NTFLOW_ALERT_MONITOR=drift hooks/alert.env &&
	python3 -c "
import json
p = json.loads(open(\"hooks/promote.json\").readline())
assert p[\"event\"] == \"promote\" and p[\"model\"] == \"clf\" and p[\"version\"] == 1 and p[\"run_id\"] == 1, p
a = json.loads(open(\"hooks/alert.json\").readline())
assert a[\"alert\"][\"severity\"] == \"high\" and a[\"alert\"][\"rule\"] == \"shift\", a
s = json.loads(open(\"hooks/success.json\").readline())
assert s[\"status\"] == \"succeeded\" and \"model\" not in s, s
" &&
	grep "^== on_promote of run 1" .ntflow/logs/1/hooks.log &&
	grep "^hook success says hello" .ntflow/logs/1/hooks.log &&
	test_must_be_empty err
'

test_expect_success 'a rerun: no alert or promotion again, success again' '
	rm -r hooks &&
	ntflow run --no-tui p.dag >out 2>err &&
	test "$(ls hooks | sort | tr "\n" " ")" = "success.env success.json " &&
	grep -x NTFLOW_RUN_ID=2 hooks/success.env
'

test_expect_success 'a failed run fires on_failure and keeps exit 1' '
	rm -r hooks &&
	test_expect_code 1 ntflow run --no-tui -p fail=yes p.dag >out 2>err &&
	test "$(ls hooks | sort | tr "\n" " ")" = "failure.env failure.json " &&
	grep -x NTFLOW_STATUS=failed hooks/failure.env
'

test_expect_success 'a gate that says no fires on_gated and keeps exit 3' '
	rm -r hooks &&
	pipe gated.dag 0.99 &&
	sed -i "s/\"p\"/\"g\"/" gated.dag &&
	git add gated.dag && git commit -q -m gated &&
	test_expect_code 3 ntflow run --no-tui gated.dag >out 2>err &&
	grep -x NTFLOW_STATUS=gated hooks/gated.env &&
	test_path_is_missing hooks/promote.env
'

test_expect_success 'a failing hook is said and audited; the run still exits 0' '
	pipe bad.dag 0.5 "hook_timeout = \"1s\"" &&
	sed -i "s/\"p\"/\"b\"/; s|on_success = \"./record.sh\"|on_success = \"echo oops; exit 3\"|" bad.dag &&
	sed -i "s|on_promote = \"./record.sh\"|on_promote = \"sleep 30\"|; s/echo w >m/echo bad >m/" bad.dag &&
	git add bad.dag && git commit -q -m bad &&
	ntflow run --no-tui bad.dag >out 2>err &&
	grep "hook on_success failed: exit 3" err &&
	grep "hook on_promote stopped after its timeout of 1s" err &&
	grep "the run.s outcome stands" err &&
	run=$(ntflow runs --json | python3 -c "import json,sys; print(max(r[\"id\"] for r in json.load(sys.stdin)))") &&
	grep "^oops" .ntflow/logs/$run/hooks.log &&
	ntflow audit export audit.jsonl &&
	python3 -c "
import json, sys
hooks = [json.loads(r[\"payload\"]) for r in map(json.loads, open(\"audit.jsonl\")) if r.get(\"kind\") == \"hook\"]
mine = [h for h in hooks if h[\"run\"] == $run]
ok = {h[\"hook\"]: h for h in mine}
assert ok[\"on_success\"][\"exit\"] == 3 and not ok[\"on_success\"][\"ok\"], mine
assert ok[\"on_promote\"].get(\"timed_out\") and not ok[\"on_promote\"][\"ok\"], mine
assert ok[\"on_alert\"][\"ok\"], mine
" &&
	ntflow audit verify
'

test_expect_success 'the README examples: Slack through curl, mail through sendmail' '
	mkdir -p bin &&
	printf "#!/bin/sh\nfor a; do printf \"%%s\\\\n\" \"\$a\"; done >sent-curl\n" >bin/curl &&
	printf "#!/bin/sh\necho \"\$*\" >sent-mail-to && cat >sent-mail\n" >bin/sendmail &&
	chmod +x bin/curl bin/sendmail &&
	cat >hooked.dag <<-\EOF &&
	pipeline "h" {
	  on_failure = "curl -fsS --data \"{\\\"text\\\": \\\"$NTFLOW_PIPELINE run $NTFLOW_RUN_ID $NTFLOW_STATUS\\\"}\" \"$SLACK_WEBHOOK\""
	  on_promote = "printf '"'"'Subject: %s v%s in production\\n\\n'"'"' \"$NTFLOW_MODEL\" \"$NTFLOW_VERSION\" | sendmail ml-team@example.com"
	  params {
	    fail = "no"
	  }
	}
	stage "a" {
	  run     = "mkdir -p m2 && echo mailed >m2/model && echo {\\\"auc\\\": 1} >m2/metrics.json && test ${params.fail} = no"
	  outputs = ["m2/"]
	  metrics = "m2/metrics.json"
	}
	gate "any" {
	  needs   = ["a"]
	  require = ["auc >= 0"]
	}
	model "clf2" {
	  artifact = "m2/model"
	  metrics  = "m2/metrics.json"
	  gate     = "any"
	}
	EOF
	echo /m2/ >>.gitignore &&
	git add hooked.dag .gitignore && git commit -q -m hooked &&
	PATH=$PWD/bin:$PATH ntflow run --no-tui hooked.dag >out 2>err &&
	test "$(cat sent-mail-to)" = ml-team@example.com &&
	printf "Subject: clf2 v1 in production\n\n" >expect &&
	test_cmp expect sent-mail &&
	PATH=$PWD/bin:$PATH SLACK_WEBHOOK=https://hooks.example/T1 test_expect_code 1 \
		ntflow run --no-tui -p fail=yes hooked.dag >out 2>err &&
	test "$(sed -n 2p sent-curl)" = --data &&
	sed -n 3p sent-curl | python3 -c "import json,sys; t = json.load(sys.stdin)[\"text\"]; assert t.startswith(\"h run \") and t.endswith(\" failed\"), t" &&
	test "$(sed -n 4p sent-curl)" = https://hooks.example/T1
'

test_done
