/* test_launch.c - the launcher's rank from the environment, and the rule that decides
 * whether a person watches stdout (launch.h): each rule, in order, on given facts; and the
 * facts read from a prepared environment. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collab/base/launch.h"
#include "../test.h"

static const char *const VARS[] = {"OMPI_COMM_WORLD_RANK",
                                   "OMPI_COMM_WORLD_SIZE",
                                   "PMIX_RANK",
                                   "PMI_RANK",
                                   "PMI_SIZE",
                                   "SLURM_PROCID",
                                   "SLURM_PTY_PORT",
                                   "ENVIRONMENT",
                                   "PBS_ENVIRONMENT",
                                   "LSB_JOBID",
                                   "LSB_INTERACTIVE",
                                   NULL};

static void clear_env(void)
{
    for (int i = 0; VARS[i]; i++)
        unsetenv(VARS[i]);
}

static void test_rank(void)
{
    clear_env();
    TEST_CHECK(launch_rank() == -1);
    setenv("SLURM_PROCID", "3", 1);
    TEST_CHECK(launch_rank() == 3);
    setenv("PMIX_RANK", "1", 1); /* the MPI launcher's before Slurm's */
    TEST_CHECK(launch_rank() == 1);
    setenv("OMPI_COMM_WORLD_RANK", "0", 1);
    TEST_CHECK(launch_rank() == 0);
    setenv("OMPI_COMM_WORLD_RANK", "x1", 1); /* malformed: not a rank, not 0 */
    TEST_CHECK(launch_rank() == -1);
    clear_env();
}

static int rule(LaunchFacts f, const char *want_why)
{
    const char *why = NULL;
    int w = launch_watched(&f, &why);
    TEST_CHECK(why && !strcmp(why, want_why));
    if (why && strcmp(why, want_why))
        fprintf(stderr, "  got '%s', expected '%s'\n", why, want_why);
    return w;
}

static void test_rule(void)
{
    /* stdout_tty, term, srun_pty, batch, launcher, launcher_stdout_tty */
    TEST_CHECK(rule((LaunchFacts){1, "xterm", 0, 0, 0, -1}, "stdout is a terminal") == 1);
    TEST_CHECK(rule((LaunchFacts){0, "xterm", 0, 0, 0, -1}, "stdout is not a terminal") == 0);
    TEST_CHECK(rule((LaunchFacts){1, "dumb", 0, 0, 0, -1}, "TERM is unset or dumb") == 0);
    TEST_CHECK(rule((LaunchFacts){1, NULL, 0, 0, 0, -1}, "TERM is unset or dumb") == 0);
    TEST_CHECK(rule((LaunchFacts){1, "", 0, 0, 0, -1}, "TERM is unset or dumb") == 0);
    /* mpirun > file: the rank's pty says terminal, mpirun's stdout does not */
    TEST_CHECK(rule((LaunchFacts){1, "xterm", 0, 0, 1, 0},
                    "the MPI launcher's stdout is not a terminal") == 0);
    TEST_CHECK(rule((LaunchFacts){1, "xterm", 0, 0, 1, -1},
                    "the MPI launcher's stdout is not a terminal") == 0);
    TEST_CHECK(rule((LaunchFacts){1, "xterm", 0, 0, 1, 1},
                    "the MPI launcher's stdout is a terminal") == 1);
    /* mpirun at a terminal inside a batch job, which inherited TERM */
    TEST_CHECK(rule((LaunchFacts){1, "xterm", 0, 1, 1, 1}, "a batch job") == 0);
    TEST_CHECK(rule((LaunchFacts){1, "xterm", 1, 1, 1, 0}, "srun --pty") == 1);
    TEST_CHECK(rule((LaunchFacts){0, "xterm", 1, 0, 1, -1}, "stdout is not a terminal") == 0);
}

static void test_facts(void)
{
    LaunchFacts f;
    clear_env();
    launch_facts(&f);
    TEST_CHECK(!f.launcher && !f.batch && !f.srun_pty);
    setenv("ENVIRONMENT", "BATCH", 1);
    launch_facts(&f);
    TEST_CHECK(f.batch);
    clear_env();
    setenv("PBS_ENVIRONMENT", "PBS_INTERACTIVE", 1);
    launch_facts(&f);
    TEST_CHECK(!f.batch);
    setenv("PBS_ENVIRONMENT", "PBS_BATCH", 1);
    launch_facts(&f);
    TEST_CHECK(f.batch);
    clear_env();
    setenv("LSB_JOBID", "17", 1);
    launch_facts(&f);
    TEST_CHECK(f.batch);
    setenv("LSB_INTERACTIVE", "Y", 1);
    launch_facts(&f);
    TEST_CHECK(!f.batch);
    clear_env();
    setenv("PMI_SIZE", "2", 1);
    setenv("SLURM_PTY_PORT", "4000", 1);
    launch_facts(&f);
    TEST_CHECK(f.launcher && f.srun_pty);
    clear_env();
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    launch_facts(&f);
    TEST_CHECK(f.launcher);
    clear_env();
}

int main(void)
{
    test_rank();
    test_rule();
    test_facts();
    return test_done("test_launch");
}
