#!/bin/sh
# t1900: every fuzz target's code (tests/fuzz/fuzz_*.c, built by make check without
# libFuzzer) over every file of its corpus, tests/fuzz/corpus/NAME/: the seeds from the
# shipped and test pipelines, and each input a fuzzer once found a crash with (crash-*).
# A crash or a broken property aborts; in the sanitizer build ASan and UBSan watch too.
. "$(dirname "$0")/lib.sh"

corpus=$NTFLOW_SRC_DIR/tests/fuzz/corpus
for t in dag expr params metrics cron params_file import; do
	test_expect_success "fuzz_$t: each file of tests/fuzz/corpus/$t" '
		test -x "$NTFLOW_BUILD_DIR/tests/fuzz/fuzz_'$t'" &&
		"$NTFLOW_BUILD_DIR/tests/fuzz/fuzz_'$t'" "$corpus/'$t'" >out &&
		n=$(find "$corpus/'$t'" -type f | wc -l) &&
		test "$n" -gt 0 &&
		echo "$NTFLOW_BUILD_DIR/tests/fuzz/fuzz_'$t': $n inputs" >expect &&
		test_cmp expect out
	'
done

test_done
