/* launch.h - how this process was started, read from its environment before or after
 * MPI_Init: the rank a launcher gave it, and whether a person is watching its standard
 * output (the rule behind --progress auto, README "Batch logs").
 *
 * isatty(1) alone cannot answer the second question: Open MPI's mpirun gives every rank
 * a pseudo-terminal for stdout even when mpirun's own output goes to a file (PRRTE does
 * the same, open-mpi/ompi#7868), and a batch job may inherit TERM from the shell that
 * submitted it. The rule, in order (the first that applies decides):
 *
 *   1. stdout is not a terminal                                  -> nobody watches
 *   2. TERM is unset, empty or "dumb"                            -> nobody watches
 *   3. srun --pty (SLURM_PTY_PORT): the task has srun's terminal -> a person watches
 *   4. a batch job (Slurm's ENVIRONMENT=BATCH, PBS_ENVIRONMENT=PBS_BATCH, LSF without
 *      LSB_INTERACTIVE=Y)                                        -> nobody watches
 *   5. started by an MPI launcher (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK or PMI_SIZE
 *      set): the terminal is the launcher's; a person watches only when the launcher's
 *      own stdout (its parent process's, /proc/PPID/fd/1) is a terminal too; when that
 *      cannot be read, nobody watches
 *   6. otherwise (a singleton at a terminal)                     -> a person watches
 *
 * Everything here is local and keeps no state; only launch_singleton_setup changes the
 * environment. */
#ifndef COLLAB_LAUNCH_H
#define COLLAB_LAUNCH_H

/* The rank a launcher gave this process, from OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK
 * or SLURM_PROCID (the first set, a whole number); -1 when none is (a singleton). Usable
 * before MPI_Init. */
int launch_rank(void);

/* Before MPI_Init, in a process that no launcher started (launch_rank() < 0): asks Open
 * MPI for a light singleton, through its environment, unless the variables are set
 * already: only the ob1 messaging layer with the "self" transport (one process talks to
 * nobody), so that MPI_Init does not load and probe the network libraries (the PSM
 * ones poll for their hardware). Open MPI 4's isolated singleton (no orted) would save
 * more but is not asked for: every isolated singleton on a host shares one session
 * folder, so concurrent ones break each other's MPI-IO. Other MPIs ignore these
 * variables. The measurements: docs/SCALING.md, Start-up. */
void launch_singleton_setup(void);

/* The facts the rule above is decided on. */
typedef struct LaunchFacts {
    int stdout_tty;          /* isatty(1) */
    const char *term;        /* $TERM, NULL when unset */
    int srun_pty;            /* SLURM_PTY_PORT is set */
    int batch;               /* a batch job's environment (rule 4) */
    int launcher;            /* an MPI launcher's environment (rule 5) */
    int launcher_stdout_tty; /* the parent's stdout is a terminal (-1: cannot tell) */
} LaunchFacts;

/* Gathers the facts of this process from its environment and file descriptors. */
void launch_facts(LaunchFacts *f);

/* The rule applied to f: 1 when a person is watching stdout, else 0; *why (when not
 * NULL) names the rule that decided, for --verbose and tests. */
int launch_watched(const LaunchFacts *f, const char **why);

/* launch_watched of this process's facts. */
int launch_stdout_watched(const char **why);

#endif
