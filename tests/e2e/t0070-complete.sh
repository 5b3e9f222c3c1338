#!/bin/sh
# t0070-complete.sh: bash completion through `ntflow complete`: commands, subcommands,
# options of a command read from its usage, option values, stage names read from the DAG
# file on the line, -p NAME= from its params, DAG files and folders, run ids and model
# names from the workspace; the zsh script is valid zsh; a line it cannot complete prints
# nothing and exits 0.
. "$(dirname "$0")/lib.sh"

SCRIPT=$NTFLOW_SRC_DIR/completion/bash/ntflow

# comp WORD...: what bash offers for the last word of `ntflow WORD...` (an empty last word
# is the place after a space), on one line, sorted.
comp() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ntflow
		printf "%s\n" "${COMPREPLY[@]}"' sh "$SCRIPT" ntflow "$@" | sort | tr "\n" " " | sed "s/ *\$//"
}

test_expect_success 'setup: a pipeline with params, two runs, a model' '
	write_dag p.dag <<-\EOF &&
	pipeline "p" {
	  params {
	    seed = 1
	    rows = 10
	  }
	}
	stage "prepare" {
	  run     = "mkdir -p build && echo x >build/x"
	  outputs = ["build/x"]
	}
	stage "train" {
	  needs   = ["prepare"]
	  run     = "mkdir -p m && echo {\\\"auc\\\": 0.9} >m/metrics.json && echo w >m/model"
	  outputs = ["m/"]
	  metrics = "m/metrics.json"
	}
	model "clf" {
	  artifact = "m/model"
	  metrics  = "m/metrics.json"
	}
	EOF
	mkdir sub && : >sub/q.dag && : >notes.txt &&
	printf "/.ntflow/\n/build/\n/m/\n/models/\n" >.gitignore &&
	git add . && git commit -q -m p &&
	ntflow run --no-tui p.dag >out 2>&1 &&
	ntflow run --no-tui p.dag >out 2>&1
'

test_expect_success 'commands and subcommands' '
	test "$(comp reg)" = registry &&
	test "$(comp ru)" = "run runs" &&
	test "$(comp registry "")" = "list promote rollback show verify" &&
	test "$(comp cache g)" = "gc"
'

test_expect_success 'options of the command, and an option value' '
	test "$(comp run --no-)" = "--no-cache --no-tui --no-wait" &&
	test "$(comp graph p.dag --format "")" = "dot json text" &&
	test "$(comp validate -)" = "--help -v"
'

test_expect_success 'stage names come from the DAG file on the line' '
	test "$(comp run p.dag --only "")" = "prepare train" &&
	test "$(comp run p.dag --from t)" = "train" &&
	test "$(comp run p.dag -p "")" = "rows= seed="
'

test_expect_success 'pipeline files and folders where a FILE goes, not other files' '
	out=$(comp run "") &&
	case " $out " in *" p.dag "*) ;; *) false ;; esac &&
	case " $out " in *" sub/ "*) ;; *) false ;; esac &&
	case " $out " in *notes.txt*) false ;; esac
'

test_expect_success 'run ids and model names from the workspace' '
	test "$(comp show "")" = "1 2 last" &&
	test "$(comp logs 1 "")" = "prepare train" &&
	test "$(comp registry show "")" = "clf" &&
	test "$(comp registry show clf@)" = "clf@1"
'

test_expect_success 'a line it cannot complete: nothing, exit 0; a bad index: usage error' '
	ntflow complete 3 ntflow nosuchcommand x >out &&
	test_must_be_empty out &&
	ntflow complete 9 ntflow >out &&
	test_must_be_empty out &&
	test_expect_code 2 ntflow complete x ntflow
'

test_expect_success 'the zsh script is valid zsh' '
	command -v zsh >/dev/null || { echo "zsh is missing: scripts/setup.sh installs it" >&2; false; } &&
	zsh -n "$NTFLOW_SRC_DIR/completion/zsh/_ntflow"
'

test_done
