#!/bin/sh
# t0010-test-hooks.sh: the test-only hooks (NTFLOW_FAULT crash points, NTFLOW_TEST_TUI_CRASH,
# NTFLOW_TEST_SCHEMA_VERSION) are in tests/ntflow-test and not in ./ntflow, which ignores
# those variables: a stray one in a user's environment changes nothing. (Unless configured
# with --enable-test-hooks: then ./ntflow is skipped here.)
. "$(dirname "$0")/lib.sh"

test_need_hooks
grep -q "define NF_TEST_HOOKS 1" "$NTFLOW_BUILD_DIR/config.h" 2>/dev/null || test_set_prereq SHIPPED

test_expect_success 'setup: a pipeline that registers a model' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    v = 1
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo weights ${params.v} >build/model.txt && echo {\\\"v\\\": ${params.v}} >build/metrics.json"
	  outputs = ["build/model.txt", "build/metrics.json"]
	  metrics = "build/metrics.json"
	}

	gate "promote" {
	  needs   = ["train"]
	  require = ["v >= 1"]
	}

	model "clf" {
	  artifact = "build/model.txt"
	  gate     = "promote"
	}
	EOF
	printf "/.ntflow/\n/build/\n/models/\n" >.gitignore &&
	git add . && git commit -q -m pipeline
'

# version: the schema version of the state database (PRAGMA user_version)
version() { sqlite3 .ntflow/state.db "PRAGMA user_version"; }

# (a run needs the newest schema: on the older one the hook asks for, it fails)
test_expect_success SHIPPED 'ntflow ignores NTFLOW_TEST_SCHEMA_VERSION' '
	NTFLOW_TEST_SCHEMA_VERSION=1 ntflow run p.dag >out 2>err &&
	test "$(version)" -gt 1 &&
	rm -rf .ntflow models &&
	test_must_fail env NTFLOW_TEST_SCHEMA_VERSION=1 ntflow-test run p.dag >out 2>err &&
	test "$(version)" = 1 &&
	rm -rf .ntflow models
'

test_expect_success SHIPPED 'ntflow ignores NTFLOW_FAULT' '
	ntflow run p.dag >out 2>err &&
	grep "clf v1 → production" out &&
	NTFLOW_FAULT=registry-after-archive ntflow run p.dag -p v=2 >out 2>err &&
	grep "clf v2 → production" out &&
	test_expect_code 137 env NTFLOW_FAULT=registry-after-archive ntflow-test run p.dag -p v=3
'

test_expect_success SHIPPED 'ntflow ignores NTFLOW_TEST_TUI_CRASH' '
	NTFLOW_TEST_TUI_CRASH=2 ntflow dash --max-frames 5 --screen ok.screen &&
	test_expect_code 134 env NTFLOW_TEST_TUI_CRASH=2 ntflow-test dash --max-frames 5 --screen crash.screen
'

test_done
