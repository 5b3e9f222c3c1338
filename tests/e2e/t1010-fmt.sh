#!/bin/sh
# t1010-fmt.sh: `ntflow fmt`: every shipped pipeline is in the canonical layout; fmt is
# idempotent, keeps comments and meaning; --check and -w; files with syntax errors are
# left alone.
. "$(dirname "$0")/lib.sh"

test_expect_success 'every shipped pipeline is canonical' '
	find "$NTFLOW_SRC_DIR/dags" "$NTFLOW_SRC_DIR/examples" -name "*.dag" >shipped &&
	test -s shipped &&
	grep "/dags/retrain.dag$" shipped &&
	while read -r f; do
		ntflow fmt --check "$f" || return 1
	done <shipped
'

test_expect_success 'setup: a messy file' '
	printf "%s\n" \
		"" \
		"# the pipeline" \
		"pipeline \"p\" {   # trailing" \
		"" \
		"" \
		"  description=\"x\"   " \
		"	params{" \
		"  seed=1" \
		"   long_name = \"a\\tb\\\$c \$\${d} \${params.seed}\" # c" \
		"}}" \
		"stage \"a\" { run = \"true\" }" \
		"stage \"b\" { run = \"x\"" \
		"needs=[\"a\"," \
		"# c1" \
		"\"b\" # c2" \
		"," \
		"" \
		"" \
		"\"c\",]" \
		"  outputs = [ ]" \
		"matrix {" \
		"x=[1,2," \
		"3]" \
		"}" \
		"}  # end" \
		"# last words" >messy.dag &&
	cat >expect <<-\EOF
	# the pipeline
	pipeline "p" {                       # trailing
	  description = "x"
	  params {
	    seed      = 1
	    long_name = "a\tb$c $${d} ${params.seed}"  # c
	  }
	}

	stage "a" { run = "true" }

	stage "b" {
	  run   = "x"
	  needs = [
	    "a",
	    # c1
	    "b",                             # c2

	    "c",
	  ]
	  outputs = []
	  matrix {
	    x = [
	      1,
	      2,
	      3,
	    ]
	  }
	}                                    # end

	# last words
	EOF
'

test_expect_success 'fmt prints the canonical layout' '
	ntflow fmt messy.dag >actual &&
	test_cmp expect actual
'

test_expect_success 'fmt is idempotent' '
	ntflow fmt messy.dag >once.dag &&
	ntflow fmt once.dag >twice.dag &&
	test_cmp once.dag twice.dag &&
	for f in $(cat shipped); do
		ntflow fmt "$f" >a.dag && ntflow fmt a.dag >b.dag && test_cmp a.dag b.dag || return 1
	done
'

test_expect_success 'fmt keeps the meaning: the same graph' '
	cp "$NTFLOW_SRC_DIR/dags/retrain.dag" r.dag &&
	ntflow graph r.dag --format json >before.json &&
	sed -e "s/^  *//" -e "/#/!s/  *=  */=/" r.dag >r2.dag &&
	! test_cmp r.dag r2.dag >/dev/null &&
	ntflow fmt r2.dag >r3.dag &&
	test_cmp r.dag r3.dag &&
	cp r2.dag r.dag &&
	ntflow graph r.dag --format json >after.json &&
	test_cmp before.json after.json
'

test_expect_success '--check names files not in the layout and exits 1' '
	cp once.dag canonical.dag &&
	test_expect_code 1 ntflow fmt --check canonical.dag messy.dag >actual &&
	echo messy.dag >expect &&
	test_cmp expect actual &&
	ntflow fmt --check canonical.dag >actual &&
	test_must_be_empty actual
'

test_expect_success '-w rewrites in place, only files that need it' '
	cp messy.dag w.dag &&
	ntflow fmt -w w.dag >out &&
	test_must_be_empty out &&
	test_cmp once.dag w.dag &&
	ntflow fmt --check w.dag &&
	touch -d "2000-01-01" w.dag &&
	ntflow fmt --write w.dag &&
	test "$(date -r w.dag +%Y)" = 2000
'

test_expect_success 'standard input' '
	ntflow fmt - <messy.dag >actual &&
	test_cmp once.dag actual &&
	test_expect_code 1 ntflow fmt --check - <messy.dag >actual &&
	echo "<stdin>" >expect &&
	test_cmp expect actual
'

test_expect_success 'a file with syntax errors is left alone' '
	printf "stage \"a\" {\n  run = \"x\"\n  needs = [\"b\"\n" >bad.dag &&
	cp bad.dag bad.orig &&
	test_expect_code 2 ntflow fmt -w bad.dag 2>actual &&
	cat >expect <<-\EOF &&
	bad.dag:4:1: error: expected '"'"']'"'"' to close the list, found the end of the file
	bad.dag:3:11: note: the list starts here
	EOF
	test_cmp expect actual &&
	test_cmp bad.orig bad.dag
'

test_expect_success 'schema errors do not stop fmt' '
	printf "stagee \"a\" {\n  ru = 1\n}\n" >typo.dag &&
	test_expect_code 2 ntflow validate typo.dag 2>/dev/null &&
	ntflow fmt --check typo.dag
'

test_expect_success 'usage errors' '
	test_expect_code 2 ntflow fmt 2>actual &&
	grep "^usage: ntflow fmt" actual &&
	test_expect_code 2 ntflow fmt --check -w x.dag 2>actual &&
	grep "cannot be used together" actual &&
	test_expect_code 2 ntflow fmt missing.dag 2>actual &&
	grep "missing.dag" actual
'

test_done
