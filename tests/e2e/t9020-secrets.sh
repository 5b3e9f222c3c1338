#!/bin/sh
# t9020-secrets.sh: secrets and permissions. Under umask 022 the state directory is 0700 and
# the database (with its -wal and -shm) and the stage logs 0600; an older, more open
# workspace is narrowed on the next command. A secret_env variable reaches the stage but
# its value appears nowhere ntflow writes or shows (the store, the audit log, the logs, show,
# the plan, the dashboard): *** instead; an unset one stops the run naming it; one used in a
# path is a validation error. An audit key file others can read is refused.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 || test_skip_all 'the sqlite3 shell is needed to read the store'

umask 022
SECRET=s3cr3t-Zq8vW2-token
export SECRET

# mode PATH: its permission bits in octal.
mode() { stat -c %a "$1"; }

# sha TEXT: the SHA-256 of TEXT (no newline), as sha256sum prints it.
sha() { printf %s "$1" | sha256sum | cut -d" " -f1; }

test_expect_success 'setup: a pipeline whose stage uses a secret three ways, and one without' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  defaults {
	    secret_env = ["API_TOKEN"]
	  }
	  env {
	    AUTH = "Bearer ${env.API_TOKEN}"
	  }
	}

	stage "use" {
	  run     = "mkdir -p res && printf %s ${env.API_TOKEN} | sha256sum | cut -d\" \" -f1 >res/ref && printf %s \"$AUTH\" | sha256sum | cut -d\" \" -f1 >res/auth && printf %s \"$API_TOKEN\" | sha256sum | cut -d\" \" -f1 >res/env && echo used"
	  outputs = ["res/"]
	}
	EOF
	write_dag plain.dag <<-\EOF &&
	pipeline "plain" {}

	stage "modes" {
	  run   = "stat -c \"%a %n\" .ntflow .ntflow/state.db .ntflow/state.db-wal .ntflow/state.db-shm >modes.txt && echo logged"
	  cache = false
	}
	EOF
	printf "/.ntflow/\n/res/\n/modes.txt\n" >.gitignore &&
	git add . && git commit -q -m pipeline
'

test_expect_success 'the state directory is 0700, the database and its WAL and the logs 0600' '
	ntflow run plain.dag --no-tui >run.out 2>&1 &&
	test "$(mode .ntflow)" = 700 &&
	cat >expect <<-\EOF &&
	700 .ntflow
	600 .ntflow/state.db
	600 .ntflow/state.db-wal
	600 .ntflow/state.db-shm
	EOF
	test_cmp expect modes.txt &&
	test "$(mode .ntflow/state.db)" = 600 &&
	test "$(mode .ntflow/logs)" = 700 &&
	for f in .ntflow/logs/*/*.log .ntflow/lock; do test "$(mode $f)" = 600 || return 1; done &&
	ls .ntflow/logs/1/modes.1.log
'

test_expect_success 'an older workspace is narrowed by the next command' '
	chmod 755 .ntflow &&
	chmod 644 .ntflow/state.db &&
	ntflow runs >/dev/null &&
	test "$(mode .ntflow)" = 700 &&
	test "$(mode .ntflow/state.db)" = 600
'

test_expect_success 'an audit key file open to other users is refused' '
	head -c 32 /dev/urandom >audit.key &&
	chmod 640 audit.key &&
	NTFLOW_AUDIT_KEY=audit.key test_expect_code 1 ntflow run plain.dag --no-tui >out 2>err &&
	grep "NTFLOW_AUDIT_KEY: the key file .audit.key. is open to other users (mode 0640); make it private: chmod 600 .audit.key." err &&
	NTFLOW_AUDIT_KEY=audit.key test_expect_code 1 ntflow audit verify 2>err &&
	grep "is open to other users (mode 0640)" err &&
	chmod 604 audit.key &&
	NTFLOW_AUDIT_KEY=audit.key test_expect_code 1 ntflow audit verify 2>err &&
	grep "is open to other users (mode 0604)" err &&
	# private: read, and used (these records were written without a key, and it says so)
	chmod 600 audit.key &&
	NTFLOW_AUDIT_KEY=audit.key test_expect_code 1 ntflow audit verify 2>err &&
	grep "record 1 is not authenticated" err
'

test_expect_success 'an unset secret stops the run before anything starts, naming it' '
	test_expect_code 2 ntflow run p.dag --no-tui >out 2>err &&
	grep "^ntflow: stage \"use\" needs the secret API_TOKEN (secret_env), which is not set in the environment$" err &&
	test_path_is_missing res/ref &&
	test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM runs WHERE pipeline = '"'"'p'"'"'")" = 0
'

test_expect_success 'the stage receives the secret: as ${env.X}, through env { } and as $X' '
	API_TOKEN=$SECRET ntflow run p.dag --no-tui >out 2>err &&
	sha "$SECRET" >expect &&
	test_cmp expect res/ref &&
	test_cmp expect res/env &&
	sha "Bearer $SECRET" >expect &&
	test_cmp expect res/auth
'

test_expect_success 'the value is nowhere in the store, the logs or any file ntflow wrote' '
	sqlite3 .ntflow/state.db .dump >dump.sql &&
	grep -q "Bearer \*\*\*" dump.sql &&
	! grep -F "$SECRET" dump.sql &&
	! grep -r -F -q "$SECRET" .ntflow
'

test_expect_success 'show, show --json, the audit log and its export, the plan and the dashboard: ***' '
	ntflow show >show.out &&
	ntflow show --json >show.json &&
	ntflow audit show >audit.out &&
	ntflow audit export - >audit.jsonl &&
	ntflow logs use >logs.out &&
	API_TOKEN=$SECRET ntflow run p.dag --dry-run >plan.out &&
	ntflow dash --max-frames 2 --screen d.screen --size 160x48 &&
	for f in show.out show.json audit.out audit.jsonl logs.out plan.out d.screen; do
		! grep -a -F -q "$SECRET" $f || { echo "the secret is in $f"; return 1; }
	done &&
	grep "^1. use: .*printf %s .\*\*\*. | sha256sum" plan.out &&
	grep "^used$" logs.out
'

test_expect_success 'a new value of the secret alone does not rerun the stage (it is not in the key)' '
	API_TOKEN=another-value ntflow run p.dag --no-tui >run.out 2>err &&
	grep "use cached" run.out &&
	! grep -r -F -q another-value .ntflow
'

test_expect_success 'a secret in a path, a param or a metric is refused by validate' '
	write_dag bad.dag <<-\EOF &&
	stage "s" {
	  secret_env = ["API_TOKEN", "1BAD"]
	  run        = "true"
	  outputs    = ["out/${env.API_TOKEN}.txt"]
	}
	EOF
	test_expect_code 2 ntflow validate bad.dag 2>err &&
	grep "bad.dag:2:30: error: invalid environment variable name \"1BAD\" in secret_env" err &&
	grep "bad.dag:4:22: error: \${env.API_TOKEN} is a secret (secret_env): only run and env { } may use it" err
'


test_done
