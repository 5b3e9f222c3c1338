#!/bin/sh
# t7120-maxrss.sh: MAXRSS is the stage's own peak (issue 18). A stage that allocates 64 MB
# reports at least that; a `true` stage its own few hundred KB, not ntflow's size. vfork
# from ntflow shared ntflow's memory until execve, and the kernel keeps the high-water mark
# of the memory a process leaves at execve in its rusage, so every stage read at least
# ntflow's peak (11 MB here); stages are now started by ntflow-spawn, a small process of
# its own (docs/architecture.md, "The runners"). Also: a `true` stage after 3 600 others,
# while ntflow itself has grown several times larger, still reports its own peak, in
# `show --json` and `show`; the stages' parent is ntflow-spawn; ./ntflow finds the spawner
# beside itself, and without one it fails loudly, naming where it looked.
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup' '
	write_dag rss.dag <<-\EOF &&
	pipeline "rss" {}
	stage "big" {
	  run = "awk '\''BEGIN { s = \"x\"; while (length(s) < 67108864) s = s s; print length(s) }'\''"
	}
	stage "small" {
	  run = "true"
	}
	EOF
	git add rss.dag && git commit -q -m rss &&
	ntflow run rss.dag --no-tui >out &&
	ntflow show --json >show.json
'

test_expect_success 'a stage that allocates 64 MB reports at least 64 MB' '
	test "$(json_get show.json .stages[0].name)" = big &&
	test "$(json_get show.json .stages[0].max_rss_kb)" -ge 65536
'

test_expect_success 'a true stage reports its own peak, under 4 MB (not ntflow'\''s size)' '
	test "$(json_get show.json .stages[1].name)" = small &&
	test "$(json_get show.json .stages[1].max_rss_kb)" -gt 0 &&
	test "$(json_get show.json .stages[1].max_rss_kb)" -lt 4096
'

# 60 x 60 matrix instances make ntflow itself about 20 MB; "last" and "probe" run after
# all of them. probe reads its parent (the spawner) and the spawner'\''s parent'\''s
# (ntflow'\''s) peak RSS from /proc.
test_expect_success 'a true stage after 3 600 others: its own peak while ntflow is large' '
	vals=$(seq -s, 1 60) &&
	cat >big.dag <<-EOF &&
	pipeline "big" {}
	stage "m" {
	  matrix {
	    a = [$vals]
	    b = [$vals]
	  }
	  run = "true"
	}
	stage "last" {
	  needs = ["m"]
	  run = "true"
	}
	stage "probe" {
	  needs = ["m"]
	  run = "cat /proc/\$PPID/comm >parent.txt && awk '\''/VmHWM/ { print \$2 }'\'' /proc/\$(awk '\''{ print \$4 }'\'' /proc/\$PPID/stat)/status >hwm.txt"
	}
	EOF
	git add big.dag && git commit -q -m big &&
	ntflow run big.dag --no-tui >out &&
	ntflow show --json >big.json &&
	test "$(json_get big.json .stages[-2].name)" = last &&
	rss=$(json_get big.json .stages[-2].max_rss_kb) &&
	echo ntflow-spawn >expect &&
	test_cmp expect parent.txt &&
	hwm=$(cat hwm.txt) &&
	echo "last: $rss kB, ntflow: $hwm kB" &&
	test "$rss" -gt 0 && test "$rss" -lt 4096 &&
	test "$hwm" -gt $((rss * 4))
'

test_expect_success 'show prints that peak in its MAXRSS column' '
	ntflow show >show.txt &&
	grep "^ *last " show.txt >row &&
	grep -E " (0\.[0-9]+|[1-3](\.[0-9]+)?)M " row
'

test_expect_success 'ntflow finds ntflow-spawn beside itself' '
	(unset NTFLOW_SPAWN && ntflow run rss.dag --no-tui --no-cache >out2) &&
	grep "succeeded" out2
'

test_expect_success 'without its spawner ntflow run fails loudly, naming where it looked' '
	test_must_fail env NTFLOW_SPAWN="$PWD/no-such-spawner" ntflow run rss.dag --no-tui --no-cache >out3 2>err3 &&
	grep "cannot start the process spawner .*no-such-spawner" err3
'

test_done
