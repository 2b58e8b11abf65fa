/* launch.c - how this process was started (launch.h): the launcher's rank from the
 * environment, and the rule that decides whether a person watches stdout. */
#include "config.h"

#include "collab/base/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A whole number >= 0 from the variable, or -1 when unset or not one. */
static int env_rank(const char *name)
{
    const char *v = getenv(name);
    char *end = NULL;
    if (!v || !*v)
        return -1;
    errno = 0;
    long r = strtol(v, &end, 10);
    return errno || *end || r < 0 || r > 1 << 30 ? -1 : (int)r;
}

int launch_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_PROCID", NULL};
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i]))
            return env_rank(vars[i]);
    return -1;
}

void launch_singleton_setup(void)
{
    if (launch_rank() >= 0)
        return;
    setenv("OMPI_MCA_pml", "ob1", 0); /* 0: the user's value wins */
    setenv("OMPI_MCA_btl", "self", 0);
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

static int env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && !strcmp(v, value);
}

/* Is the parent's stdout a terminal? Under mpirun the parent is the launcher, whose
 * stdout is what the person sees (or the file they redirected it to). 1, 0, or -1 when
 * it cannot be read (another user's process, /proc absent). */
static int parent_stdout_tty(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd/1", (long)getppid());
    /* Opening the terminal with O_NOCTTY does not make it ours; O_NONBLOCK keeps a pipe
     * or FIFO from blocking the open. */
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == EACCES || errno == EPERM || errno == ENOENT ? -1 : 0;
    int tty = isatty(fd);
    close(fd);
    return tty;
}

void launch_facts(LaunchFacts *f)
{
    f->stdout_tty = isatty(STDOUT_FILENO);
    f->term = getenv("TERM");
    f->srun_pty = env_set("SLURM_PTY_PORT");
    f->batch = env_is("ENVIRONMENT", "BATCH") || env_is("PBS_ENVIRONMENT", "PBS_BATCH") ||
               (env_set("LSB_JOBID") && !env_is("LSB_INTERACTIVE", "Y"));
    f->launcher = env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMIX_RANK") || env_set("PMI_RANK") ||
                  env_set("PMI_SIZE");
    /* Only rule 5 needs the parent; /proc is not read otherwise. */
    f->launcher_stdout_tty = f->stdout_tty && f->launcher ? parent_stdout_tty() : -1;
}

/* The rule of launch.h: 1 or 0, and the reason in *reason. */
static int watched_by_rule(const LaunchFacts *f, const char **reason)
{
    *reason = "stdout is not a terminal";
    if (!f->stdout_tty)
        return 0;
    *reason = "TERM is unset or dumb";
    if (!f->term || !*f->term || !strcmp(f->term, "dumb"))
        return 0;
    *reason = "srun --pty";
    if (f->srun_pty)
        return 1;
    *reason = "a batch job";
    if (f->batch)
        return 0;
    if (f->launcher) {
        *reason = f->launcher_stdout_tty == 1 ? "the MPI launcher's stdout is a terminal"
                                              : "the MPI launcher's stdout is not a terminal";
        return f->launcher_stdout_tty == 1;
    }
    *reason = "stdout is a terminal";
    return 1;
}

int launch_watched(const LaunchFacts *f, const char **why)
{
    const char *reason;
    const int watched = watched_by_rule(f, &reason);
    if (why)
        *why = reason;
    return watched;
}

int launch_stdout_watched(const char **why)
{
    LaunchFacts f;
    launch_facts(&f);
    return launch_watched(&f, why);
}
