#!/bin/sh
# t2062-shell-contexts.sh: a value interpolated into `run` is data wherever it stands: inside
# "...", inside '...', in a here-document, inside $(...) as well as outside quotes, and for
# every namespace (params, env, matrix, stages.*.best, run, dag.dir). A reference where no
# quoting keeps a value data (backquotes, a comment, ...) is a validation error.
# Runs use --no-cache: caching is not what these tests are about.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"

# The fault as reported: a reference inside double quotes.
write_dag msg.dag <<\EOF
pipeline "msg" {
  params {
    msg = "hello"
  }
}

stage "say" {
  run = "echo \"msg: ${params.msg}\""
}
EOF

# The same value in each place, each written to a file of its own.
write_dag places.dag <<\EOF
pipeline "places" {
  params {
    v = "plain"
  }
}

stage "places" {
  run = "printf '%s' ${params.v} >bare.txt; printf '%s' \"${params.v}\" >dq.txt; printf '%s' '${params.v}' >sq.txt; printf '%s' \"$(printf '%s' \"${params.v}\")\" >sub.txt; cat >hd.txt <<EOF\n${params.v}\nEOF\ncat >hd-tab.txt <<-EOF\n\t${params.v}\n\tEOF"
}
EOF

# One value per line; each must reach every place intact.
cat >hostile.txt <<\VALUES
$(touch pwned)
`touch pwned`
"; touch pwned; echo "
'; touch pwned; echo '
\"; touch pwned; echo \"
x\
$HOME ${HOME} $1 $@
EOF
	EOF
${NTFLOW_+}
 two  words 
VALUES

test_expect_success 'a value inside "..." is data: the reported fault' '
	ntflow run --no-cache --no-tui msg.dag -p "msg=\$(touch pwned)" >out &&
	test_path_is_missing pwned &&
	echo "msg: \$(touch pwned)" >expect &&
	test_cmp expect .ntflow/logs/1/say.1.log
'

test_expect_success 'a value with spaces inside "..." arrives without added quotes' '
	ntflow run --no-cache --no-tui msg.dag -p "msg=a  b" >out &&
	echo "msg: a  b" >expect &&
	test_cmp expect .ntflow/logs/2/say.1.log
'

test_expect_success 'validate says nothing against a reference inside quotes' '
	ntflow validate msg.dag &&
	ntflow validate places.dag
'

test_expect_success 'hostile values arrive intact in every place; nothing in them runs' '
	while IFS= read -r v
	do
		rm -f ./*.txt.out bare.txt dq.txt sq.txt sub.txt hd.txt hd-tab.txt &&
		ntflow run --no-cache --no-tui places.dag -p "v=$v" >out </dev/null &&
		printf "%s" "$v" >expect &&
		printf "%s\n" "$v" >expect-hd &&
		cmp expect bare.txt && cmp expect dq.txt && cmp expect sq.txt && cmp expect sub.txt &&
		cmp expect-hd hd.txt && cmp expect-hd hd-tab.txt &&
		test_path_is_missing pwned || { echo "value: [$v]"; return 1; }
	done <hostile.txt
'

test_expect_success 'a value with line breaks and a delimiter line ends no here-document' '
	v=$(printf "a\nEOF\ntouch pwned\nEOF\n\tEOF") &&
	ntflow run --no-cache --no-tui places.dag -p "v=$v" >out &&
	printf "%s" "$v" >expect &&
	printf "%s\n" "$v" >expect-hd &&
	cmp expect dq.txt && cmp expect sq.txt && cmp expect-hd hd.txt && cmp expect-hd hd-tab.txt &&
	test_path_is_missing pwned
'

test_expect_success 'every namespace is quoted the same way inside "..."' '
	mkdir -p "we\"ird \$(touch pwned) dir" &&
	cat >"we\"ird \$(touch pwned) dir/ns.dag" <<-\EOF &&
	stage "tune" {
	  matrix {
	    opt = ["$(touch pwned)", "\"; touch pwned; \""]
	  }
	  run     = "mkdir -p res && printf %s \"${matrix.opt}\" >res/${matrix.id}.txt && echo \"{\\\"score\\\": 1}\" >res/${matrix.id}.json"
	  metrics = "res/${matrix.id}.json"
	  select  = "max(score)"
	}

	stage "use" {
	  needs = ["tune"]
	  run   = "printf %s \"${env.HOSTILE}\" >env.txt; printf %s \"${stages.tune.best.opt}\" >best.txt; printf %s \"${dag.dir}\" >dir.txt; printf %s \"${run.id} ${run.trigger}\" >run.txt"
	}
	EOF
	HOSTILE="\"\$(touch pwned)\" \`touch pwned\`" ntflow run --no-cache --no-tui "we\"ird \$(touch pwned) dir/ns.dag" >out &&
	test_path_is_missing pwned &&
	printf "%s" "\"\$(touch pwned)\" \`touch pwned\`" >expect && cmp expect env.txt &&
	cat res/*.txt >all && grep -F "\$(touch pwned)" all && grep -F "\"; touch pwned; \"" all &&
	{ test "$(cat best.txt)" = "\$(touch pwned)" || test "$(cat best.txt)" = "\"; touch pwned; \""; } &&
	printf "%s" "$TRASH_DIRECTORY/we\"ird \$(touch pwned) dir" >expect && cmp expect dir.txt &&
	echo >>run.txt && grep -Ex "[0-9]+ manual" run.txt
'

test_expect_success 'a reference inside backquotes is refused by validate and run, with its place' '
	cat >bq.dag <<-\EOF &&
	pipeline "bq" {
	  params {
	    msg = "hello"
	  }
	}

	stage "say" {
	  run = "echo `echo ${params.msg}`"
	}
	EOF
	test_expect_code 2 ntflow validate bq.dag 2>actual &&
	cat >expect <<-\EOF &&
	bq.dag:8:21: error: ${params.msg} in the run command of stage "say" stands inside backquotes `...`, where quoting is read twice; write $(...) instead
	EOF
	test_cmp expect actual &&
	test_expect_code 2 ntflow run --no-tui bq.dag -p "msg=\$(touch pwned)" 2>actual &&
	grep -F "bq.dag:8:21: error:" actual &&
	test_path_is_missing pwned
'

test_expect_success 'a reference in a quoted here-document body is refused' '
	cat >qhd.dag <<-\EOF &&
	stage "say" {
	  run = "cat <<'"'"'EOF'"'"'\n${env.HOME}\nEOF"
	}
	EOF
	test_expect_code 2 ntflow validate qhd.dag 2>actual &&
	grep -F "qhd.dag:2:23: error: \${env.HOME} in the run command of stage \"say\" stands in the body of a quoted here-document" actual
'

test_done
