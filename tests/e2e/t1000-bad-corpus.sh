#!/bin/sh
# t1000-bad-corpus.sh: every broken pipeline in tests/dag/bad gives exactly the errors in its
# .err file and exit status 2; hostile files made here (NUL bytes, invalid UTF-8, deep
# nesting, huge and garbage files) give an error, never a crash or a hang.
. "$(dirname "$0")/lib.sh"

corpus="$NTFLOW_SRC_DIR/tests/dag/bad"

test_expect_success 'the corpus is there' '
	ls "$corpus"/*.dag >list &&
	test $(wc -l <list) -ge 40
'

for dag in "$corpus"/*.dag; do
	name=${dag##*/}
	test_expect_success "corpus: $name" '
		(cd "$corpus" && test_expect_code 2 ntflow validate "$name") 2>actual &&
		test_cmp "$corpus/${name%.dag}.err" actual
	'
done

test_expect_success 'every .err file has its .dag' '
	for err in "$corpus"/*.err; do
		test -f "${err%.err}.dag" || { echo "orphan: $err"; return 1; }
	done
'

test_expect_success 'a NUL byte: the file is binary' '
	printf "stage \"a\" {\n  run = \"x\0y\"\n}\n" >nul.dag &&
	test_expect_code 2 ntflow validate nul.dag 2>actual &&
	echo "nul.dag:2:11: error: file contains a NUL byte" >expect &&
	test_cmp expect actual
'

test_expect_success 'a binary file' '
	cp "$NTFLOW_BUILD_DIR/ntflow" binary.dag &&
	test_expect_code 2 ntflow validate binary.dag 2>actual &&
	test $(wc -l <actual) -eq 1 &&
	grep "^binary.dag:[0-9]*:[0-9]*: error: file contains a NUL byte$" actual
'

test_expect_success 'invalid UTF-8, in a string and in a comment' '
	printf "stage \"a\" {\n  run = \"caf\351\"  # \377\n}\n" >utf8.dag &&
	test_expect_code 2 ntflow validate utf8.dag 2>actual &&
	cat >expect <<-\EOF &&
	utf8.dag:2:13: error: invalid UTF-8 byte 0xe9
	utf8.dag:2:19: error: invalid UTF-8 byte 0xff
	EOF
	test_cmp expect actual
'

test_expect_success '10 000 nested brackets' '
	awk "BEGIN { printf \"stage \\\"a\\\" {\\n  run = \\\"x\\\"\\n  needs = \"
		for (i = 0; i < 10000; i++) printf \"[\"
		for (i = 0; i < 10000; i++) printf \"]\"
		printf \"\\n}\\n\" }" >brackets.dag &&
	test_expect_code 2 ntflow validate brackets.dag 2>actual &&
	echo "brackets.dag:3:74: error: nesting too deep: more than 64 levels of blocks and lists" >expect &&
	test_cmp expect actual
'

test_expect_success '10 000 unclosed brackets' '
	awk "BEGIN { printf \"stage \\\"a\\\" {\\n  run = \\\"x\\\"\\n  needs = \"
		for (i = 0; i < 10000; i++) printf \"[\" }" >open.dag &&
	test_expect_code 2 ntflow validate open.dag 2>actual &&
	echo "open.dag:3:74: error: nesting too deep: more than 64 levels of blocks and lists" >expect &&
	test_cmp expect actual
'

test_expect_success '10 000 nested blocks' '
	awk "BEGIN { printf \"stage \\\"a\\\" {\\n  run = \\\"x\\\"\\n\"
		for (i = 0; i < 10000; i++) printf \"b {\\n\"
		for (i = 0; i < 10001; i++) printf \"}\\n\" }" >blocks.dag &&
	test_expect_code 2 ntflow validate blocks.dag 2>actual &&
	cat >expect <<-\EOF &&
	blocks.dag:3:1: error: unknown block '"'"'b'"'"' in stage "a"
	blocks.dag:66:3: error: nesting too deep: more than 64 levels of blocks and lists
	EOF
	test_cmp expect actual
'

test_expect_success 'a 1 MB string is fine' '
	awk "BEGIN { printf \"stage \\\"a\\\" {\\n  run = \\\"echo \"
		for (i = 0; i < 65536; i++) printf \"0123456789abcdef\"
		printf \"\\\"\\n}\\n\" }" >long.dag &&
	test $(wc -c <long.dag) -gt 1048576 &&
	ntflow validate long.dag
'

test_expect_success 'a file over the size limit is refused unread' '
	truncate -s 300M huge.dag &&
	test_expect_code 2 ntflow validate huge.dag 2>actual &&
	echo "huge.dag: error: file too large (314572800 bytes; the limit is 64 MiB)" >expect &&
	test_cmp expect actual
'

test_expect_success 'megabytes of garbage: at most 50 errors, then it gives up' '
	head -c 4000000 /dev/urandom | tr "\000" "x" >garbage.dag &&
	test_expect_code 2 ntflow validate garbage.dag 2>actual &&
	test $(grep -c ": error: " actual) -le 51 &&
	tail -n 1 actual | grep "error: too many errors (50); giving up on this file$"
'

test_expect_success 'several files: each is reported, status 2 if any is bad' '
	printf "stage \"a\" {\n  run = \"true\"\n}\n" >good.dag &&
	test_expect_code 2 ntflow validate good.dag nul.dag 2>actual &&
	echo "nul.dag:2:11: error: file contains a NUL byte" >expect &&
	test_cmp expect actual
'

test_done
