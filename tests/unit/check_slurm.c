/* check_slurm.c: the Slurm executor without a cluster: parsing what sbatch, squeue, sacct
 * and scontrol print (as captured from a real Slurm 22.05: odd job names, job steps'
 * ".batch" and "+N" suffixes, array tasks, raw wait statuses, "CANCELLED by 0"), the state
 * mapping (COMPLETED, FAILED, the 0:53 of a job that could not launch, TIMEOUT, CANCELLED by
 * ntflow or by someone else, sacct -c's 0:0 for CANCELLED and TIMEOUT), job names, --time
 * minutes, and the runner's failed attempt when sbatch is not on PATH. The real cluster is
 * tests/e2e/t9110-slurm-cluster.sh's. */
#include "config.h"
#include "ntflow/slurm.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(test_sbatch)
{
	uint64_t id = 0;

	ck_assert_int_eq(nf_slurm_parse_sbatch(&id, "1234\n"), 0);
	ck_assert_uint_eq(id, 1234);
	ck_assert_int_eq(nf_slurm_parse_sbatch(&id, "77;cluster2\n"), 0);
	ck_assert_uint_eq(id, 77);
	ck_assert_int_eq(nf_slurm_parse_sbatch(&id, "sbatch: error: invalid partition"), NF_EINVALID);
	ck_assert_int_eq(nf_slurm_parse_sbatch(&id, ""), NF_EINVALID);
}
END_TEST

START_TEST(test_squeue)
{
	/* JobID|ArrayJobID|ArrayTaskID|State|Reason|exit_code|Name| */
	const char *text =
		"4|4|N/A|CANCELLED|None|15|nf-s|\n"
		"1|1|N/A|COMPLETED|None|0|ntflow-1-prepare|\n"
		"5|3|0|COMPLETED|None|0|nf-a|\n"
		"6|3|1|FAILED|NonZeroExitCode|1024|nf-a|\n"
		"9|9|2-49%10|PENDING|Resources|0|ntflow-2-tune|\n"
		"2|2|N/A|FAILED|NonZeroExitCode|768|a name|with bars|\n"
		"garbage line\n"
		"10|10|N/A|RUNNING|None|0|  spaced name  |\n";
	nf_slurm_rec *r = NULL;
	size_t n = 0;

	ck_assert_int_eq(nf_slurm_parse_squeue(&r, &n, text), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(r[0].job_id, 4);
	ck_assert_uint_eq(r[0].array_id, 0);
	ck_assert_int_eq(r[0].task, -1);
	ck_assert_str_eq(r[0].state, "CANCELLED");
	ck_assert(r[0].have_exit);
	ck_assert_int_eq(r[0].term_signal, 15);
	ck_assert_str_eq(r[1].name, "ntflow-1-prepare");
	ck_assert_int_eq(r[1].exit_code, 0);
	ck_assert_uint_eq(r[2].job_id, 5);
	ck_assert_uint_eq(r[2].array_id, 3);
	ck_assert_int_eq(r[2].task, 0);
	ck_assert_int_eq(r[3].task, 1);
	ck_assert_int_eq(r[3].exit_code, 4);
	ck_assert_int_eq(r[3].term_signal, 0);
	/* an array's pending tasks: the array's id, no task */
	ck_assert_uint_eq(r[4].array_id, 9);
	ck_assert_int_eq(r[4].task, -1);
	ck_assert_str_eq(r[4].reason, "Resources");
	ck_assert_str_eq(r[5].name, "a name|with bars");
	ck_assert_int_eq(r[5].exit_code, 3);
	ck_assert_str_eq(r[6].name, "spaced name");
	free(r);
	ck_assert_int_eq(nf_slurm_parse_squeue(&r, &n, ""), 0);
	ck_assert_uint_eq(n, 0);
	free(r);
}
END_TEST

START_TEST(test_sacct)
{
	const char *text =
		"12|ntflow-3-train|COMPLETED|0:0\n"
		"12.batch|batch|COMPLETED|0:0\n"
		"12.extern|extern|COMPLETED|0:0\n"
		"12.0|python|COMPLETED|0:0\n"
		"13+0|het|FAILED|1:0\n"
		"13+1|het|FAILED|1:0\n"
		"14|odd|name with | bar|CANCELLED by 0|0:0\n"
		"15|to|TIMEOUT|0:0\n"
		"16_3|arr|FAILED|2:0\n"
		"16_[4-9]|arr|PENDING|0:0\n"
		"17|launch|FAILED|0:53\n"
		"18|sig|FAILED|0:9\n";
	nf_slurm_rec *r = NULL;
	size_t n = 0;

	ck_assert_int_eq(nf_slurm_parse_sacct(&r, &n, text), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(r[0].job_id, 12);
	ck_assert_str_eq(r[0].name, "ntflow-3-train");
	ck_assert_str_eq(r[0].state, "COMPLETED");
	ck_assert_uint_eq(r[1].job_id, 14);
	ck_assert_str_eq(r[1].name, "odd|name with | bar");
	ck_assert_str_eq(r[1].state, "CANCELLED");
	ck_assert_str_eq(r[2].state, "TIMEOUT");
	ck_assert_uint_eq(r[3].array_id, 16);
	ck_assert_int_eq(r[3].task, 3);
	ck_assert_int_eq(r[3].exit_code, 2);
	ck_assert_uint_eq(r[4].array_id, 16);
	ck_assert_int_eq(r[4].task, -1);
	ck_assert_int_eq(r[5].term_signal, 53);
	ck_assert_int_eq(r[6].term_signal, 9);
	free(r);
}
END_TEST

START_TEST(test_scontrol)
{
	const char *text =
		"JobId=21 JobName=ntflow-4-my stage UserId=root(0) GroupId=root(0) JobState=FAILED "
		"Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0\n"
		"JobId=22 ArrayJobId=20 ArrayTaskId=2 JobName=arr UserId=root(0) JobState=RUNNING Reason=None "
		"ExitCode=0:0\n"
		"JobId=23 JobName=x UserId=root(0) JobState=CANCELLED Reason=None ExitCode=0:15\n"
		"not a job line\n";
	nf_slurm_rec *r = NULL;
	size_t n = 0;

	ck_assert_int_eq(nf_slurm_parse_scontrol(&r, &n, text), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(r[0].job_id, 21);
	ck_assert_str_eq(r[0].name, "ntflow-4-my stage");
	ck_assert_str_eq(r[0].state, "FAILED");
	ck_assert_str_eq(r[0].reason, "NonZeroExitCode");
	ck_assert_int_eq(r[0].exit_code, 3);
	ck_assert_uint_eq(r[1].array_id, 20);
	ck_assert_int_eq(r[1].task, 2);
	ck_assert_str_eq(r[1].state, "RUNNING");
	ck_assert_int_eq(r[2].term_signal, 15);
	free(r);
}
END_TEST

static nf_slurm_phase
judge(const char *state, const char *reason, int code, int sig, bool by_us, char *msg)
{
	nf_slurm_rec r;

	memset(&r, 0, sizeof(r));
	r.job_id = 42;
	r.task = -1;
	snprintf(r.state, sizeof(r.state), "%s", state);
	snprintf(r.reason, sizeof(r.reason), "%s", reason);
	r.have_exit = true;
	r.exit_code = code;
	r.term_signal = sig;
	return nf_slurm_judge(&r, by_us, msg, 256);
}

START_TEST(test_judge)
{
	char msg[256];

	ck_assert_int_eq(judge("PENDING", "Resources", 0, 0, false, msg), NF_SLURM_QUEUED);
	ck_assert_int_eq(judge("CONFIGURING", "None", 0, 0, false, msg), NF_SLURM_RUNNING);
	ck_assert_int_eq(judge("RUNNING", "None", 0, 0, false, msg), NF_SLURM_RUNNING);
	ck_assert_int_eq(judge("COMPLETING", "None", 0, 0, false, msg), NF_SLURM_RUNNING);
	ck_assert(nf_slurm_phase_live(NF_SLURM_QUEUED) && !nf_slurm_phase_live(NF_SLURM_FAILED));
	ck_assert_int_eq(judge("COMPLETED", "None", 0, 0, false, msg), NF_SLURM_SUCCEEDED);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(judge("FAILED", "NonZeroExitCode", 3, 0, false, msg), NF_SLURM_FAILED);
	ck_assert_str_eq(msg, "Slurm job 42 FAILED (exit 3)");
	ck_assert_int_eq(judge("FAILED", "JobLaunchFailure", 0, 53, false, msg), NF_SLURM_FAILED);
	ck_assert(strstr(msg, "FAILED to launch (JobLaunchFailure)"));
	ck_assert_int_eq(judge("FAILED", "", 0, 53, false, msg), NF_SLURM_FAILED);
	ck_assert(strstr(msg, "JobLaunchFailure"));
	ck_assert_int_eq(judge("OUT_OF_MEMORY", "OutOfMemory", 0, 9, false, msg), NF_SLURM_FAILED);
	ck_assert_str_eq(msg, "Slurm job 42 OUT_OF_MEMORY");
	ck_assert_int_eq(judge("NODE_FAIL", "", 0, 0, false, msg), NF_SLURM_FAILED);
	ck_assert_str_eq(msg, "Slurm job 42 NODE_FAIL");
	/* sacct -c records 0:0 for TIMEOUT and CANCELLED: the state alone decides */
	ck_assert_int_eq(judge("TIMEOUT", "TimeLimit", 0, 0, false, msg), NF_SLURM_TIMED_OUT);
	ck_assert(strstr(msg, "TIMEOUT"));
	ck_assert_int_eq(judge("CANCELLED", "None", 0, 0, true, msg), NF_SLURM_CANCELLED);
	ck_assert_int_eq(judge("CANCELLED", "None", 0, 0, false, msg), NF_SLURM_FAILED);
	ck_assert_str_eq(msg, "cancelled outside ntflow (Slurm job 42 CANCELLED)");
	ck_assert_int_eq(judge("WEIRD_NEW_STATE", "", 0, 0, false, msg), NF_SLURM_FAILED);
	ck_assert(strstr(msg, "unknown state 'WEIRD_NEW_STATE'"));
	/* an array task is named ARRAY_TASK */
	{
		nf_slurm_rec r;

		memset(&r, 0, sizeof(r));
		r.job_id = 50;
		r.array_id = 48;
		r.task = 2;
		strcpy(r.state, "FAILED");
		ck_assert_int_eq(nf_slurm_judge(&r, false, msg, sizeof(msg)), NF_SLURM_FAILED);
		ck_assert_str_eq(msg, "Slurm job 48_2 FAILED");
	}
}
END_TEST

START_TEST(test_time_and_names)
{
	char name[NF_SLURM_NAME_MAX + 1], small[20];
	char long_stage[300];

	ck_assert_int_eq(nf_slurm_time_minutes(0), 0);
	ck_assert_int_eq(nf_slurm_time_minutes(1), 1);
	ck_assert_int_eq(nf_slurm_time_minutes(60000), 1);
	ck_assert_int_eq(nf_slurm_time_minutes(61000), 2);
	ck_assert_int_eq(nf_slurm_time_minutes(3600000), 60);

	nf_slurm_job_name(name, sizeof(name), 7, "train", NULL);
	ck_assert_str_eq(name, "ntflow-7-train");
	nf_slurm_job_name(name, sizeof(name), 7, "tune", "lr-0.1");
	ck_assert_str_eq(name, "ntflow-7-tune-lr-0.1");
	nf_slurm_job_name(name, sizeof(name), 12, "my stage|x", "é");
	ck_assert_str_eq(name, "ntflow-12-my_stage_x-__");
	memset(long_stage, 's', sizeof(long_stage) - 1);
	long_stage[sizeof(long_stage) - 1] = '\0';
	nf_slurm_job_name(name, sizeof(name), 3, long_stage, "abc123");
	ck_assert_uint_eq(strlen(name), NF_SLURM_NAME_MAX);
	ck_assert(strncmp(name, "ntflow-3-sss", 12) == 0);
	ck_assert_str_eq(name + strlen(name) - 7, "-abc123");   /* the instance kept whole */
	nf_slurm_job_name(small, sizeof(small), 3, "stage", "abcdefghijklmnop");
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

/* The runner's start only queues: a missing sbatch is a failed attempt reported through the
 * loop, with a message that says so, never an error of start or a hang. */
static nf_job_result got;
static char got_msg[256];
static int ndone;

static void
on_done(void *ctx, const nf_job_result *res)
{
	(void)ctx;
	got = *res;
	snprintf(got_msg, sizeof(got_msg), "%s", res->message ? res->message : "");
	got.message = NULL;
	ndone++;
}

START_TEST(test_no_sbatch)
{
	char dir[] = "/tmp/check_slurm.XXXXXX", *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char *scripts, *log;
	nf_slurm_runner_opts o;
	nf_runner *r = NULL;
	nf_loop *loop = NULL;
	char *env[] = { "A=1,2", NULL };
	nf_job job;
	pid_t pgid = -1;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	scripts = xasprintf("%s/slurm/1", dir);
	log = xasprintf("%s/logs/1/s.1.log", dir);
	memset(&o, 0, sizeof(o));
	o.dir = scripts;
	o.run_id = 1;
	ck_assert_int_eq(nf_runner_slurm_new(&r, NULL, &o), 0);
	ck_assert_int_eq(nf_loop_new(&loop, NULL), 0);
	ck_assert_int_eq(r->ops->attach(r, loop, on_done, NULL), 0);
	memset(&job, 0, sizeof(job));
	job.node = 3;
	job.attempt = 1;
	job.command = "echo hi";
	job.envp = env;
	job.cwd = dir;
	job.log_path = log;
	job.stage = "s";
	setenv("PATH", dir, 1);   /* no sbatch there */
	ck_assert_int_eq(r->ops->start(r, &job, &pgid), 0);
	ck_assert_int_eq(pgid, 0);
	ck_assert_int_eq(ndone, 0);   /* never from start */
	for (int i = 0; i < 10 && ndone == 0; i++)
		ck_assert_int_ge(nf_loop_turn(loop, -1), 0);
	if (old_path)
		setenv("PATH", old_path, 1);
	ck_assert_int_eq(ndone, 1);
	ck_assert_uint_eq(got.node, 3);
	ck_assert(!got.exited || got.exit_code != 0);
	ck_assert_msg(strstr(got_msg, "sbatch failed: cannot run sbatch"), "message: %s", got_msg);
	/* the batch script was written: its environment exported line by line, commas kept */
	{
		char *path = xasprintf("%s/n3.a1.sh", scripts), *text = NULL;
		size_t len = 0;

		ck_assert_int_eq(nf_read_file(&text, &len, path, 0), 0);
		ck_assert(strstr(text, "export A='1,2'\n"));
		ck_assert(strstr(text, " || exit 1\n"));
		free(text);
		free(path);
	}
	r->ops->free(r);
	nf_loop_free(loop);
	nf_remove_tree(dir);
	free(scripts);
	free(log);
	free(old_path);
}
END_TEST

static Suite *
slurm_suite(void)
{
	Suite *s = suite_create("slurm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sbatch);
	tcase_add_test(tc, test_squeue);
	tcase_add_test(tc, test_sacct);
	tcase_add_test(tc, test_scontrol);
	tcase_add_test(tc, test_judge);
	tcase_add_test(tc, test_time_and_names);
	tcase_add_test(tc, test_no_sbatch);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(slurm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
