#!/bin/sh
# t2302-params-files-quoting.sh: a params.yaml value full of shell metacharacters ($(...),
# backquotes, quotes, a newline, a ${...} that looks like a reference) reaches the stage
# as data, exactly as a params { } or -p value does (t2060): in "...", bare, in '...', in a
# list-form run and in the environment; nothing in it runs.
. "$(dirname "$0")/lib.sh"

cat >params.yaml <<\EOF
hostile:
  sub: "$(touch pwned)"
  tick: "`touch pwned`"
  quotes: "x\" ; touch pwned; \"'y'"
  lines: "a\nb ; touch pwned"
  ref: "${params.hostile.sub}"
  block: |
    it's "quoted"; touch pwned
    $(touch pwned)
EOF
printf '%s' '$(touch pwned)' >expect.sub
printf '%s' '`touch pwned`' >expect.tick
printf '%s' "x\" ; touch pwned; \"'y'" >expect.quotes
printf 'a\nb ; touch pwned' >expect.lines
printf '%s' '${params.hostile.sub}' >expect.ref
printf '%s\n%s\n' "it's \"quoted\"; touch pwned" '$(touch pwned)' >expect.block

cat >p.dag <<\EOF
pipeline "q" {
  params_files = ["params.yaml"]
}

stage "bare" {
  run = "printf %s ${params.hostile.sub} >bare.sub; printf %s ${params.hostile.tick} >bare.tick; printf %s ${params.hostile.quotes} >bare.quotes; printf %s ${params.hostile.lines} >bare.lines; printf %s ${params.hostile.ref} >bare.ref; printf %s ${params.hostile.block} >bare.block"
}

stage "dquote" {
  run = "printf %s \"${params.hostile.sub}\" >dq.sub; printf %s \"${params.hostile.quotes}\" >dq.quotes; printf %s \"${params.hostile.block}\" >dq.block"
}

stage "squote" {
  run = "printf %s '${params.hostile.quotes}' >sq.quotes; printf %s '${params.hostile.lines}' >sq.lines"
}

stage "words" {
  run = ["sh", "-c", "printf %s \"$1\" >w.quotes; printf %s \"$NTFLOW_PARAM_HOSTILE_BLOCK\" >env.block", "sh", "${params.hostile.quotes}"]
}
EOF

test_expect_success 'setup' '
	git add -A && git commit -qm project
'

test_expect_success 'params.yaml values arrive intact wherever they stand; nothing runs' '
	ntflow run --no-cache --no-tui p.dag >out &&
	for k in sub tick quotes lines ref block; do
		cmp expect.$k bare.$k || return 1
	done &&
	cmp expect.sub dq.sub && cmp expect.quotes dq.quotes && cmp expect.block dq.block &&
	cmp expect.quotes sq.quotes && cmp expect.lines sq.lines &&
	cmp expect.quotes w.quotes && cmp expect.block env.block &&
	test_path_is_missing pwned
'

test_expect_success 'the recorded params hold the values as written' '
	ntflow show --json >show.json &&
	json_get show.json ".run.params[\"hostile.quotes\"]" >actual &&
	cat expect.quotes >e && echo >>e && cmp e actual &&
	json_get show.json ".run.params[\"hostile.ref\"]" >actual &&
	cat expect.ref >e && echo >>e && cmp e actual
'

test_done
