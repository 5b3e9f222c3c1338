/* cmd-report-drift.h: `ntflow report drift` (cmd-report-drift.c), the subcommand the report
 * command hands its arguments to when the first is "drift". */
#ifndef NTFLOW_CMD_REPORT_DRIFT_H
#define NTFLOW_CMD_REPORT_DRIFT_H

/* argv[0] is "drift"; returns the process exit status. */
int nf_cmd_report_drift(int argc, char **argv);

#endif
