#!/bin/sh
# t3090-cache-noop.sh: the fully cached rerun (issue 15). Every stage is `cached`, its line
# printed even when the lines wait in a buffer (stdout is a file), the run recorded with its
# audit records; while nothing has changed the tree the folders of outputs stay open, and
# once a stage of the run replaces a folder, a later cached stage restores its output into
# the new folder, not into the one opened before; the DAG file's hash taken through the stat
# cache, and taken again once the file changed. The outputs' stats taken ahead by a thread
# restore what the stats looked at one by one restore.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

test_expect_success 'setup: outputs in the root, in out/ and in out/deep/, and a run' '
	printf ".ntflow/\nout/\nout2/\nroot-*.txt\n" >.gitignore &&
	cat >p.dag <<-\EOF &&
	pipeline "noop" {}

	stage "a" {
	  matrix {
	    i = [1, 2, 3, 4, 5, 6]
	  }
	  run     = "mkdir -p out/deep && echo a${matrix.i} >out/a${matrix.i}.txt && echo d >out/deep/a${matrix.i}.txt"
	  outputs = ["out/a${matrix.i}.txt", "out/deep/a${matrix.i}.txt"]
	}

	stage "top" {
	  run     = "echo top >root-top.txt"
	  outputs = ["root-top.txt"]
	}
	EOF
	git add . && git commit -q -m one &&
	ntflow run p.dag >out1 &&
	grep "^run 1 succeeded" out1
'

test_expect_success 'the outputs the run wrote have their stat-cache rows: the rerun reads none of them' '
	# hashed as their stage ended, in the clock tick they were written in, so hashed
	# again once it was past (the end of the run waits for it)
	for f in out/a1.txt out/a6.txt out/deep/a1.txt out/deep/a6.txt root-top.txt; do
		test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM statcache WHERE path = \"$(pwd -P)/$f\"")" = 1 ||
		{ echo "no stat-cache row for $f"; return 1; }
	done
'

test_expect_success 'the rerun: every stage cached, each line printed, the run recorded and its audit chain sound' '
	ntflow run p.dag >out2.log 2>err &&
	test "$(grep -c "^\[[0-9]*/7\] [^ ]* cached: reused run 1" out2.log)" = 7 &&
	tail -2 out2.log | head -1 | grep "^run 2 succeeded" &&
	test_must_be_empty err &&
	show_json 2 &&
	for s in "a[i=1]" "a[i=6]" top; do
		test "$(stage_field show.json "$s" state)" = cached &&
		test "$(stage_field show.json "$s" reused_run)" = 1 || return 1
	done &&
	ntflow audit verify >verify &&
	grep "^ok" verify
'

test_expect_success 'a cached output changed in place is restored, and the rest stays cached' '
	echo changed >out/deep/a3.txt &&
	rm out/a5.txt &&
	ntflow run p.dag >out3.log &&
	test "$(cat out/deep/a3.txt)" = d &&
	test "$(cat out/a5.txt)" = a5 &&
	test "$(grep -c " cached: reused run 1" out3.log)" = 7
'

# A rerun takes its outputs' stats ahead in a second thread (src/util/statahead.c) and reads
# its cache entries ahead in a third (src/store/ahead.c); without them (a test-only hook)
# each is looked at in turn: the same outputs restored either way.
test_expect_success 'stats taken ahead or one by one: the same outputs restored, the rest cached' '
	for ahead in yes no; do
		echo changed >out/deep/a2.txt &&
		echo changed >out/a3.txt &&
		rm out/a4.txt &&
		if test $ahead = yes; then
			ntflow run p.dag >ahead-$ahead.log
		else
			NTFLOW_TEST_NO_AHEAD=1 ntflow run p.dag >ahead-$ahead.log
		fi &&
		test "$(cat out/deep/a2.txt)" = d &&
		test "$(cat out/a3.txt)" = a3 &&
		test "$(cat out/a4.txt)" = a4 &&
		test "$(grep -c " cached: reused run 1" ahead-$ahead.log)" = 7 || return 1
	done
'

test_expect_success 'an output folder replaced by a link: refused as before' '
	mv out out-real &&
	ln -s out-real out &&
	test_must_fail ntflow run p.dag >out4.log 2>&1 &&
	grep "symbolic link" out4.log &&
	rm out && mv out-real out
'

# a[i=1]'s first output is restored (which ends the settled pass), then its second is
# refused: the lookup goes on with what it had computed (under the sanitizers: nothing of
# it freed by the restore).
test_expect_success 'an output restored, then the next refused (its folder a link): the run fails, then recovers' '
	echo changed >out/a1.txt &&
	mv out/deep out/deep-real &&
	ln -s deep-real out/deep &&
	test_must_fail ntflow run p.dag >out5.log 2>&1 &&
	grep "symbolic link" out5.log &&
	rm out/deep && mv out/deep-real out/deep &&
	ntflow run p.dag >out6.log &&
	test "$(cat out/a1.txt)" = a1
'

# "first" reruns (its input changed) and replaces out2/ by a new folder, writing the same
# bytes as before; "second" needs it, so its key is unchanged: cached, its output restored
# into the new out2/.
test_expect_success 'a stage of the run replaces a folder: a later cached stage restores into the new one' '
	cat >q.dag <<-\EOF &&
	pipeline "swap" {}

	stage "early" {
	  run     = "mkdir -p out2 && echo e >out2/early.txt"
	  outputs = ["out2/early.txt"]
	}

	stage "first" {
	  needs   = ["early"]
	  inputs  = ["in.txt"]
	  run     = "rm -rf out2 && mkdir out2 && echo same >out2/first.txt"
	  outputs = ["out2/first.txt"]
	}

	stage "second" {
	  needs   = ["first"]
	  run     = "echo s >out2/second.txt"
	  outputs = ["out2/second.txt"]
	}
	EOF
	echo 1 >in.txt &&
	git add q.dag in.txt && git commit -q -m q &&
	ntflow run q.dag >q1.log &&
	echo 2 >in.txt && git commit -q -a -m in2 &&
	ntflow run q.dag >q2.log &&
	cat q2.log &&
	grep "early cached" q2.log &&
	grep "first succeeded" q2.log &&
	grep "second cached" q2.log &&
	test "$(cat out2/first.txt)" = same &&
	test "$(cat out2/second.txt)" = s
'

test_expect_success 'the DAG file hashed through the stat cache: an edit of the same size is seen' '
	touch -d "1 minute ago" q.dag &&
	ntflow run q.dag >/dev/null &&
	ntflow run q.dag >/dev/null &&
	{ ! command -v sqlite3 >/dev/null ||
	  test "$(sqlite3 .ntflow/state.db "SELECT count(*) FROM statcache WHERE path = \"$(pwd -P)/q.dag\"")" = 1; } &&
	show_json 12 &&
	test "$(json_get show.json .run.dag_sha256)" = "$(sha256sum q.dag | cut -c1-64)" &&
	sed "s/echo s >/echo t >/" q.dag >q.new && cat q.new >q.dag && rm q.new &&
	touch -d "1 minute ago" q.dag &&
	ntflow run q.dag >/dev/null &&
	show_json 13 &&
	test "$(json_get show.json .run.dag_sha256)" = "$(sha256sum q.dag | cut -c1-64)"
'

test_done
