#!/bin/sh
# t2010-parallel.sh: a diamond a -> (b, c) -> d: the middle stages overlap with -j 2 and do
# not with -j 1, proved by the times they record; the pipeline's concurrency is the default
# -j, and a stage's cpus counts against the slots; stages waiting for a slot and deferred
# with the spawner never make more than -j run at once, and one taken back never ran.
# Runs use --no-cache: caching is not what these tests are about (t3xxx test it).
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# Each stage records when it started and ended (date +%s.%N) in t/NAME.start and t/NAME.end.
diamond() {
	cat <<EOF
pipeline "diamond" {
  $1
}

stage "a" {
  run = "mkdir -p t && date +%s.%N >t/a.start && date +%s.%N >t/a.end"
}

stage "b" {
  needs = ["a"]
  $2
  run   = "date +%s.%N >t/b.start && sleep 1 && date +%s.%N >t/b.end"
}

stage "c" {
  needs = ["a"]
  run   = "date +%s.%N >t/c.start && sleep 1 && date +%s.%N >t/c.end"
}

stage "d" {
  needs = ["b", "c"]
  run   = "date +%s.%N >t/d.start && date +%s.%N >t/d.end"
}
EOF
}
diamond "" "" >diamond.dag
diamond "concurrency = 1" "" >serial.dag
diamond "concurrency = 2" "" >pair.dag
diamond "" "cpus = 2" >wide.dag

t() { cat "t/$1"; }

# The order every run must keep: a before b and c, both before d.
check_order() {
	num_le "$(t a.end)" "$(t b.start)" &&
	num_le "$(t a.end)" "$(t c.start)" &&
	num_le "$(t b.end)" "$(t d.start)" &&
	num_le "$(t c.end)" "$(t d.start)"
}
# b and c ran at the same time: each started before the other ended.
overlapped() {
	num_lt "$(t b.start)" "$(t c.end)" &&
	num_lt "$(t c.start)" "$(t b.end)"
}
# b and c did not overlap: one ended before the other started.
serial() {
	num_le "$(t b.end)" "$(t c.start)" || num_le "$(t c.end)" "$(t b.start)"
}

test_expect_success 'with -j 2 the middle stages overlap' '
	rm -rf t &&
	ntflow run --no-cache diamond.dag --no-tui -j 2 >out &&
	cat out &&
	check_order &&
	overlapped &&
	# both were running at once in the progress lines too
	grep -n -E "^\[[0-9]+/4\] (b|c) (running|succeeded)" out >lines &&
	sed -n "1,2p" lines | grep -c running >n &&
	echo 2 >expect &&
	test_cmp expect n
'

test_expect_success 'show --json of the -j 2 run: all four succeeded' '
	ntflow show --json >show.json &&
	for s in a b c d
	do
		test "$(stage_field show.json $s state)" = succeeded || return 1
	done &&
	wall=$(stage_field show.json b wall_ms) &&
	num_le 900 "$wall" && num_lt "$wall" 10000
'

test_expect_success 'the start/end times show records overlap too' '
	b0=$(stage_field show.json b started_ms) && b1=$(stage_field show.json b finished_ms) &&
	c0=$(stage_field show.json c started_ms) && c1=$(stage_field show.json c finished_ms) &&
	d0=$(stage_field show.json d started_ms) &&
	num_lt "$b0" "$c1" && num_lt "$c0" "$b1" &&
	num_le "$b1" "$d0" && num_le "$c1" "$d0"
'

test_expect_success 'with -j 1 they do not overlap' '
	rm -rf t &&
	ntflow run --no-cache diamond.dag --no-tui -j 1 >out &&
	check_order &&
	serial &&
	! overlapped &&
	ntflow show --json >show.json &&
	b0=$(stage_field show.json b started_ms) && b1=$(stage_field show.json b finished_ms) &&
	c0=$(stage_field show.json c started_ms) && c1=$(stage_field show.json c finished_ms) &&
	{ num_le "$b1" "$c0" || num_le "$c1" "$b0"; }
'

test_expect_success 'the pipeline concurrency is the default -j' '
	rm -rf t &&
	ntflow run --no-cache serial.dag --no-tui >out &&
	check_order &&
	serial &&
	rm -rf t &&
	ntflow run --no-cache pair.dag --no-tui >out &&
	check_order &&
	overlapped
'

test_expect_success '-j overrides the pipeline concurrency' '
	rm -rf t &&
	ntflow run --no-cache serial.dag --no-tui -j 2 >out &&
	overlapped
'

test_expect_success 'a stage with cpus = 2 takes both slots of -j 2' '
	rm -rf t &&
	ntflow run --no-cache wide.dag --no-tui -j 2 >out &&
	check_order &&
	serial
'

# Stages waiting for a slot are handed to the process spawner ahead (deferred) and start
# the moment a running one ends. Whatever the timing: never more at once than -j, each
# stage that ran recorded as such, and none recorded skipped after a failure that ran.
many() {
	echo 'pipeline "many" {}'
	echo
	printf 'stage "bad" {\n  run = "sleep 0.3; exit 1"\n}\n\n'
	i=1
	while [ $i -le 12 ]; do
		printf 'stage "s%d" {\n  run = "mkdir -p t && echo s%d >>t/ran && mkdir t/lock.s%d && ls -d t/lock.* | wc -l >>t/width && sleep 0.1 && rmdir t/lock.s%d"\n}\n\n' \
			$i $i $i $i
		i=$((i + 1))
	done
}
many >many.dag

test_expect_success 'deferred stages: at most -j at once, each start recorded' '
	rm -rf t &&
	ntflow run --no-cache --keep-going many.dag --no-tui -j 2 >out 2>err;
	test $? = 1 &&
	test "$(wc -l <t/ran)" = 12 &&
	sort -n t/width | tail -1 >widest &&
	num_le "$(cat widest)" 2 &&
	ntflow show --json >show.json &&
	i=1 &&
	while [ $i -le 12 ]; do
		test "$(stage_field show.json s$i state)" = succeeded || return 1
		test "$(stage_field show.json s$i attempts)" = 1 || return 1
		i=$((i + 1))
	done
'

test_expect_success 'a stop after a failure: a deferred stage taken back never ran' '
	rm -rf t &&
	test_expect_code 1 ntflow run --no-cache many.dag --no-tui -j 2 >out 2>err &&
	grep "bad failed" out &&
	ntflow show --json >show.json &&
	i=1 &&
	while [ $i -le 12 ]; do
		st=$(stage_field show.json s$i state) &&
		if grep -qx "s$i" t/ran
		then
			test "$st" = succeeded || { echo "s$i ran but is $st"; return 1; }
		else
			test "$st" = skipped || { echo "s$i did not run but is $st"; return 1; }
		fi
		i=$((i + 1))
	done &&
	grep -c "run stopped after failure of bad" out >stopped &&
	num_le 1 "$(cat stopped)"
'

test_done
