/* hooks.h - the test hooks: COLLAB_TEST_* environment variables through which the test
 * suite makes faults happen on purpose (a scheduler's signal, NaN parameters, a killed
 * rank, a slow checkpoint write, a node short of memory). docs/RELIABILITY.md lists each
 * with its syntax and the tests that use it. This module is the only reader of those
 * variables: the rest of the program asks the named functions below, never getenv.
 *
 * Values are parsed strictly: the whole value, decimal digits only (no sign, no spaces;
 * a size may end in K, M, G or T), within the hook's range. A hook that is set but
 * malformed (empty, "12x", "-3", out of range), and a COLLAB_TEST_* name that is no hook
 * (a misspelt one), are usage errors, never read as "unset": cli_main checks them
 * (hooks_check) before any subcommand runs, so a typo in a test fails at once with exit
 * status 2 instead of quietly testing nothing. A getter that meets a malformed value
 * anyway (a program that skipped hooks_check) aborts with the same message.
 *
 * Nothing is cached (no mutable state): each getter reads the environment when called,
 * which is cheap; callers on a hot path read a hook once beforehand. All functions are
 * local. */
#ifndef COLLAB_HOOKS_H
#define COLLAB_HOOKS_H

#include <stdint.h>

#include "collab/base/status.h"

/* Checks every COLLAB_TEST_* variable of the environment: each must be a known hook
 * with a well-formed value. Returns STATUS_OK, or STATUS_USAGE with st naming the first
 * bad variable, its value and what it should be. Local (the caller agrees over ranks). */
int hooks_check(Status *st);

/* COLLAB_TEST_SIGNAL_AT=N, N >= 0: rank 0 raises SIGTERM at the fit's boundary where N
 * training batches (strata) have run, as a batch scheduler would. -1 when unset. */
int64_t hooks_signal_at(void);

/* COLLAB_TEST_NAN_AT=N, N >= 0: rank 0's parameters become NaN at the boundary where N
 * training batches have run, as a hardware fault or an overflow would. -1 when unset. */
int64_t hooks_nan_at(void);

/* COLLAB_TEST_KILL_AT=N, N >= 0: the last rank dies by SIGKILL at the boundary where N
 * training batches have run, as a node failure would. -1 when unset. */
int64_t hooks_kill_at(void);

/* COLLAB_TEST_SLOW_CHECKPOINT=S, 0 <= S <= 3600: every checkpoint write sleeps S seconds
 * after its first table, so that a test can kill a job mid-write. 0 when unset. */
unsigned hooks_slow_checkpoint(void);

/* COLLAB_TEST_MEMAVAILABLE=SIZE (size.h syntax, > 0): the bytes that stand for what the
 * node reports available (MemAvailable and cgroup limits). 0 when unset. */
uint64_t hooks_mem_available(void);

#endif
