#!/bin/sh
# t9030-registry-tamper.sh: the model registry cannot be rewritten unseen. Each edit of
# model_versions made with the sqlite3 shell (production swapped, an artifact and its hash
# replaced, metrics changed, a row added or deleted) is named by `registry verify` and
# `audit verify` with the version and the column; promote, rollback and a run refuse and
# install nothing; `registry verify --repair` puts back the rows the audit chain records.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 || test_skip_all 'the sqlite3 shell is needed to tamper with the registry'

# db SQL: runs SQL on the state database.
db() { sqlite3 .ntflow/state.db "$1"; }

# The edits, as someone with the sqlite3 shell would make them.
swap_production() {
	db "UPDATE model_versions SET status = 'archived' WHERE version = 2;
	    UPDATE model_versions SET status = 'production' WHERE version = 1"
}
edit_metrics() {
	db "UPDATE model_versions SET metrics = '{\"accuracy\":0.1}' WHERE version = 2"
}
add_and_delete() {
	db "INSERT INTO model_versions (model, version, artifact_sha256, artifact_size, artifact_path, status, created_ms)
	    VALUES ('clf', 3, 'x', 1, 'registry/clf/3/model.txt', 'candidate', 5);
	    DELETE FROM model_versions WHERE version = 1"
}
# swap_in_record_too: the swap, and the audit record of v2's registration rewritten to
# match (its hash left as it was).
swap_in_record_too() {
	db "UPDATE audit SET payload = replace(replace(payload, '\"status\":\"archived\"', '\"status\":\"production\"'),
	      '\"status\":\"production\",\"version\":2', '\"status\":\"archived\",\"version\":2')
	    WHERE kind = 'register' AND payload LIKE '%\"archived\":1,%'" &&
	swap_production
}

# save / restore: the workspace as the setup left it (ntflow leaves no WAL when it exits).
save() { rm -rf ../saved && cp -R .ntflow ../saved && cp -R models ../saved-models; }
restore() { rm -rf .ntflow models && cp -R ../saved .ntflow && cp -R ../saved-models models; }

# current_is VERSION: models/current/clf holds the registry's own copy of clf VERSION as
# the setup left it.
current_is() { cmp ../saved/registry/clf/$1/model.txt models/current/clf/model.txt; }

test_expect_success 'setup: two runs, clf v1 archived and v2 in production' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    acc = 0.9
	  }
	}

	stage "train" {
	  run     = "mkdir -p build && echo weights ${params.acc} >build/model.txt"
	  outputs = ["build/model.txt"]
	}

	stage "evaluate" {
	  needs   = ["train"]
	  run     = "mkdir -p build/eval && echo {\\\"accuracy\\\": ${params.acc}} >build/eval/metrics.json"
	  outputs = ["build/eval/"]
	  metrics = "build/eval/metrics.json"
	}

	gate "promote" {
	  needs   = ["evaluate"]
	  require = ["accuracy >= production.accuracy - 0.1"]
	}

	model "clf" {
	  artifact = "build/model.txt"
	  metrics  = "build/eval/metrics.json"
	  gate     = "promote"
	}
	EOF
	printf "/.ntflow/\n/build/\n/models/\n" >.gitignore &&
	git add . && git commit -q -m pipeline &&
	ntflow run p.dag --no-tui >out 2>&1 &&
	ntflow run p.dag --no-tui -p acc=0.95 >out 2>&1 &&
	ntflow registry verify >out &&
	echo "ok 2 versions" >expect &&
	test_cmp expect out &&
	ntflow audit verify &&
	save &&
	current_is 2
'

test_expect_success 'production swapped: verify names each version and column (exit 1)' '
	restore &&
	swap_production &&
	test_expect_code 1 ntflow registry verify >out &&
	cat >expect <<-\EOF &&
	bad  clf v1: status is '"'"'production'"'"' in the registry, the audit chain says '"'"'archived'"'"'
	bad  clf v2: status is '"'"'archived'"'"' in the registry, the audit chain says '"'"'production'"'"'
	2 problems: the registry was changed outside ntflow, and nothing acts on it until `ntflow registry verify --repair` puts back what the audit chain records
	EOF
	test_cmp expect out &&
	test_expect_code 1 ntflow audit verify >out 2>err &&
	test_must_be_empty out &&
	cat >expect <<-\EOF &&
	ntflow: audit: clf v1: status is '"'"'production'"'"' in the registry, the audit chain says '"'"'archived'"'"'
	ntflow: audit: clf v2: status is '"'"'archived'"'"' in the registry, the audit chain says '"'"'production'"'"'
	EOF
	test_cmp expect err
'

test_expect_success 'production swapped: rollback, promote and a run refuse and install nothing' '
	test_expect_code 1 ntflow registry rollback clf >out 2>err &&
	test_must_be_empty out &&
	grep "^ntflow: the model registry was changed outside ntflow: clf v1: status is .production. in the registry, the audit chain says .archived. (and 1 more difference); nothing was changed" err &&
	test_expect_code 1 ntflow registry promote clf 1 2>err &&
	grep "the model registry was changed outside ntflow" err &&
	current_is 2 &&
	runs=$(db "SELECT count(*) FROM runs") &&
	test_expect_code 1 ntflow run p.dag --no-tui >out 2>err &&
	grep "^ntflow: the model registry was changed outside ntflow: clf v1" err &&
	test "$(db "SELECT count(*) FROM runs")" = "$runs" &&
	current_is 2 &&
	test "$(db "SELECT group_concat(version || status) FROM model_versions")" = "1production,2archived"
'

test_expect_success 'production swapped: verify --repair puts the rows back, then all is well' '
	ntflow registry verify --repair >out 2>err &&
	cat >expect <<-\EOF &&
	ntflow: restored clf v1 from the audit chain: status
	ntflow: restored clf v2 from the audit chain: status
	EOF
	test_cmp expect err &&
	echo "ok 2 versions" >expect &&
	test_cmp expect out &&
	ntflow audit verify &&
	test "$(db "SELECT group_concat(version || status) FROM model_versions")" = "1archived,2production" &&
	db "SELECT payload FROM audit WHERE kind = \"registry-restore\"" | grep "\"status\":\"production\"" &&
	ntflow registry rollback clf &&
	current_is 1
'

test_expect_success 'an artifact and its hash replaced: named, and the planted file is never installed' '
	restore &&
	echo planted >.ntflow/registry/clf/1/model.txt &&
	sha=$(sha256sum .ntflow/registry/clf/1/model.txt | cut -d" " -f1) &&
	db "UPDATE model_versions SET artifact_sha256 = \"$sha\", artifact_size = 8 WHERE version = 1" &&
	test_expect_code 1 ntflow registry verify >out &&
	grep "^bad  clf v1: artifact_sha256 is .$sha. in the registry, the audit chain says .[0-9a-f]\{64\}.$" out &&
	grep "^bad  clf v1: artifact_size is 8 in the registry, the audit chain says 12$" out &&
	test_expect_code 1 ntflow audit verify 2>err &&
	grep "^ntflow: audit: clf v1: artifact_sha256 is .$sha." err &&
	test_expect_code 1 ntflow registry rollback clf 2>err &&
	grep "clf v1: artifact_sha256 is" err &&
	current_is 2 &&
	! grep -r planted models &&
	# put back: the row says what the chain says, so the planted copy is found and marked corrupt
	test_expect_code 1 ntflow registry verify --repair >out 2>err &&
	grep "^ntflow: restored clf v1 from the audit chain: artifact_sha256, artifact_size$" err &&
	grep "^bad  clf v1: the registry copy registry/clf/1/model.txt was modified" out &&
	test "$(db "SELECT status FROM model_versions WHERE version = 1")" = corrupt &&
	test_expect_code 1 ntflow registry rollback clf 2>err &&
	grep "clf has no earlier production version to roll back to" err &&
	current_is 2 &&
	! grep -r planted models
'

test_expect_success 'metrics changed: named; a run whose gate reads production refuses to start' '
	restore &&
	edit_metrics &&
	test_expect_code 1 ntflow registry verify >out &&
	grep "^bad  clf v2: metrics is .{\"accuracy\":0.1}. in the registry, the audit chain says .{\"accuracy\":0.95}.$" out &&
	test_expect_code 1 ntflow audit verify 2>err &&
	grep "^ntflow: audit: clf v2: metrics is" err &&
	test_expect_code 1 ntflow run p.dag --no-tui -p acc=0.5 >out 2>err &&
	grep "^ntflow: the model registry was changed outside ntflow: clf v2: metrics is" err &&
	test "$(db "SELECT count(*) FROM model_versions")" = 2 &&
	current_is 2
'

test_expect_success 'a row added or deleted by hand is named' '
	restore &&
	add_and_delete &&
	test_expect_code 1 ntflow registry verify >out &&
	cat >expect <<-\EOF &&
	bad  clf v3: in the registry, but the audit chain never recorded it (added outside ntflow)
	bad  clf v1: the audit chain records it, but the registry has no row for it (deleted outside ntflow)
	EOF
	head -n 2 out >actual &&
	test_cmp expect actual &&
	ntflow registry verify --repair 2>err &&
	grep "^ntflow: removed clf v3: the audit chain never recorded it$" err &&
	grep "^ntflow: restored clf v1 from the audit chain: its row had been deleted$" err &&
	ntflow audit verify
'

test_expect_success 'the record edited with the row (hash not recomputed): the record is named' '
	restore &&
	swap_in_record_too &&
	test_expect_code 1 ntflow registry verify >out &&
	grep "^bad  audit record [0-9]* (register) was edited: its hash does not match its contents$" out &&
	! grep "status is" out &&
	test_expect_code 1 ntflow registry rollback clf 2>err &&
	grep "audit record [0-9]* (register) was edited" err &&
	test_expect_code 1 ntflow registry verify --repair 2>err &&
	grep "cannot restore the registry from its audit chain: audit record" err &&
	current_is 2
'

test_done
