#!/bin/sh
# t7105-retry-cached.sh: a stage retried from a dashboard (retry-node on a detached run's
# control channel) after it failed is looked up again, keyed on its inputs as they are at
# the retry: its success is stored, and the next run finds it cached. (It ran without a key
# and stored nothing when the lookup was made at the first attempt only.) The run still
# records the commit it began on, though the retry saw a later one.
. "$(dirname "$0")/lib.sh"

# bad fails while bad.in says broken; wait holds the run open until the file "release".
test_expect_success 'setup' '
	write_dag r.dag <<-\EOF &&
	pipeline "r" {}
	stage "bad" {
	  inputs  = ["bad.in"]
	  outputs = ["bad.out"]
	  run     = "grep -q good bad.in && cp bad.in bad.out"
	}
	stage "wait" {
	  run = "i=0; while ! test -f release && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done"
	}
	EOF
	echo broken >bad.in &&
	git add r.dag bad.in && git commit -q -m r
'

# state_of RUN NODE-INDEX: the node state show --json gives ("" while there is none)
state_of() { ntflow show "$1" --json 2>/dev/null >st.json && json_get st.json ".stages[$2].state"; }
# wait_state RUN NODE-INDEX STATE: polls (at most 60s)
wait_state() {
	i=0
	while test "$(state_of "$1" "$2")" != "$3"; do
		i=$((i + 1))
		if test $i -ge 600; then
			echo "run $1 node $2 is $(state_of "$1" "$2"), not $3" >&2
			return 1
		fi
		sleep 0.1
	done
}

test_expect_success 'a failed stage fixed and retried from the control channel is stored, then cached' '
	start=$(git rev-parse HEAD) &&
	ntflow run r.dag --keep-going --detach >out 2>err &&
	wait_state 1 0 failed &&
	echo good >bad.in &&
	# a commit meanwhile: the retry sees it, the run still says what it began on
	echo other >other.txt && git add other.txt && git commit -q -m other &&
	printf "retry-node bad\n" >.ntflow/executor/1.ctl &&
	wait_state 1 0 succeeded &&
	touch release &&
	wait_state 1 1 succeeded &&
	i=0 && while test -e .ntflow/executor/1.ctl && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done &&
	test "$(json_get st.json .stages[0].attempts)" = 2 &&
	ntflow show 1 --json >st1.json &&
	test "$(json_get st1.json .run.commit)" = "$start" &&
	ntflow run --no-tui r.dag >out2 &&
	ntflow show 2 --json >st2.json &&
	test "$(json_get st2.json .stages[0].state)" = cached &&
	test "$(json_get st2.json .stages[0].reused_run)" = 1 &&
	test good = "$(cat bad.out)"
'

# The same with a folder input: the retry's key is made on the folder as it is then, so the
# result of the mended file is never stored under the broken one's key.
test_expect_success 'a failed stage whose folder input was mended and retried: keyed on the mended folder' '
	write_dag f.dag <<-\EOF &&
	pipeline "f" {}
	stage "badd" {
	  inputs  = ["d/"]
	  outputs = ["d.out"]
	  run     = "grep -q good d/bad.in && cp d/bad.in d.out"
	}
	stage "wait" {
	  run = "i=0; while ! test -f release2 && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done"
	}
	EOF
	mkdir d && echo broken >d/bad.in &&
	git add f.dag d && git commit -q -m f &&
	ntflow run f.dag --keep-going --detach >out 2>err &&
	wait_state 3 0 failed &&
	echo good >d/bad.in &&
	printf "retry-node badd\n" >.ntflow/executor/3.ctl &&
	wait_state 3 0 succeeded &&
	touch release2 &&
	wait_state 3 1 succeeded &&
	i=0 && while test -e .ntflow/executor/3.ctl && test $i -lt 600; do sleep 0.1; i=$((i + 1)); done &&
	# mended: cached; broken again (as committed): not the mended result
	ntflow run --no-tui f.dag >out4 &&
	grep "badd cached: reused run 3" out4 &&
	git checkout -q d/bad.in &&
	test_expect_code 1 ntflow run --no-tui f.dag >out5 &&
	grep "badd failed" out5
'

test_done
