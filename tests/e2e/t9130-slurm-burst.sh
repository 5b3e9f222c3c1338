#!/bin/sh
# t9130-slurm-burst.sh: the Slurm executor's submission pace, on a real single-node cluster
# (tests/slurm/cluster.sh). Twenty single-job stages ready at once are not twenty sbatch
# calls in a row: at most 16 per submission turn, the rest in the next turn 100 ms later.
# The turns are told apart by the squeue polls between them (poll = "1ms": a poll is due
# before the next turn), both logged in order by wrappers on PATH. Skipped (77) without a
# cluster.
. "$(dirname "$0")/lib.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-run.sh"
. "$NTFLOW_SRC_DIR/tests/e2e/lib-slurm.sh"

slurm_start

# A second wrapper layer: each sbatch and squeue call, in order, in .order.
mkdir -p .bin2
for cmd in sbatch squeue; do
	real=$(command -v $cmd) || test_skip_all "skipped: no $cmd"
	cat >.bin2/$cmd <<WRAP
#!/bin/sh
echo $cmd >>"$TRASH_DIRECTORY/.order"
exec "$real" "\$@"
WRAP
	chmod +x .bin2/$cmd
done
PATH=$TRASH_DIRECTORY/.bin2:$PATH
export PATH
printf '.bin2/\n.order\n' >>.gitignore

{
	printf 'pipeline "burst" {\n  defaults {\n    executor = "slurm"\n    slurm {\n      poll = "1ms"\n    }\n  }\n}\n'
	for i in $(seq 1 20); do
		printf 'stage "s%02d" {\n  run = "true"\n}\n' $i
	done
} >burst.dag

# longest_sbatch_run: the most sbatch calls in .order with no squeue between them
longest_sbatch_run() {
	awk '/^sbatch$/ { n++; if (n > max) max = n; next } { n = 0 } END { print max + 0 }' .order
}

test_expect_success 'twenty ready stages: at most 16 sbatch calls per turn' '
	git add burst.dag .gitignore && git commit -qm burst &&
	ntflow run burst.dag --no-tui -j 40 >out 2>&1 &&
	test "$(grep -c "] s[0-9]* succeeded" out)" = 20 &&
	test "$(sbatch_calls)" = 20 &&
	test "$(grep -c "^sbatch$" .order)" = 20 &&
	# the first turn was a full burst, the second the 4 left, with polls between
	longest_sbatch_run >longest &&
	test "$(cat longest)" = 16 &&
	awk "/^sbatch\$/ { n++; next } n { print n; n = 0 } END { if (n) print n }" .order >runs &&
	test "$(head -1 runs)" = 16 &&
	test "$(sed -n 2p runs)" = 4 &&
	test -z "$(squeue_names)"
'

test_done
