/* spawn-child.h: what ntflow-spawn's vfork child needs to become a stage (spawn-child.c). */
#ifndef NF_EXEC_SPAWN_CHILD_H
#define NF_EXEC_SPAWN_CHILD_H

#include "ntflow/util.h"

#include <signal.h>
#include <sys/types.h>

/* Everything the vfork child needs, prepared by the parent: the child may not allocate. */
typedef struct nf_spawn_child {
	const char *argv[4];         /* sh -c COMMAND */
	char *const *words;          /* non-NULL: exec these directly instead */
	const char *path;            /* PATH of the job's environment (words without a '/') */
	const char **xargv;          /* words[0] run by /bin/sh when the kernel refuses it (ENOEXEC) */
	char *const *envp;
	const char *cwd;
	int devnull, out_fd, procs_fd;
	pid_t parent;
	volatile long long *start;   /* the parent's: the child's start time, read for the record */
	const sigset_t *reset;       /* non-NULL: the only signals not at SIG_DFL (else all reset) */
} nf_spawn_child;

/* The child between vfork and execve: sets up its group, PDEATHSIG, stdio, the procs
 * record, cwd and signals, and execs; on failure says why in the log and _exits. */
NF_NORETURN void nf_spawn_child_exec(const nf_spawn_child *c);

#endif
