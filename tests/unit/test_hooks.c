/* test_hooks.c - the COLLAB_TEST_* test hooks (hooks.h) are parsed strictly: good values
 * come back as numbers, and every malformed value or unknown hook name is refused by
 * hooks_check with a message naming the variable, never read as unset; a getter given a
 * malformed value stops the program. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collab/base/hooks.h"
#include "collab/base/status.h"
#include "../test.h"

static const char *const NAMES[] = {"COLLAB_TEST_SIGNAL_AT", "COLLAB_TEST_NAN_AT",
                                    "COLLAB_TEST_KILL_AT", "COLLAB_TEST_SLOW_CHECKPOINT",
                                    "COLLAB_TEST_MEMAVAILABLE"};

static void unset_all(void)
{
    for (size_t i = 0; i < sizeof NAMES / sizeof *NAMES; i++)
        unsetenv(NAMES[i]);
}

/* hooks_check with name=value as the only hook set; fills st. */
static int check_one(const char *name, const char *value, Status *st)
{
    unset_all();
    setenv(name, value, 1);
    status_clear(st);
    return hooks_check(st);
}

/* name=value is accepted. */
static void accepted(const char *name, const char *value)
{
    Status st;
    const int rc = check_one(name, value, &st);
    TEST_CHECK(rc == STATUS_OK);
    if (rc)
        fprintf(stderr, "  %s='%s' refused: %s\n", name, value, st.msg);
}

/* name=value is refused: a usage error whose message names the variable and the value. */
static void refused(const char *name, const char *value)
{
    Status st;
    char want[256];
    const int rc = check_one(name, value, &st);
    TEST_CHECK(rc == STATUS_USAGE && st.code == STATUS_USAGE);
    if (rc != STATUS_USAGE)
        fprintf(stderr, "  %s='%s' accepted\n", name, value);
    snprintf(want, sizeof want, "%s='%s'", name, value);
    TEST_STR_CONTAINS(st.msg, want);
}

static void test_unset(void)
{
    Status st;
    unset_all();
    status_clear(&st);
    TEST_CHECK(hooks_check(&st) == STATUS_OK);
    TEST_CHECK(hooks_signal_at() == -1 && hooks_nan_at() == -1 && hooks_kill_at() == -1);
    TEST_CHECK(hooks_slow_checkpoint() == 0);
    TEST_CHECK(hooks_mem_available() == 0);
}

static void test_values(void)
{
    accepted("COLLAB_TEST_SIGNAL_AT", "200");
    TEST_CHECK(hooks_signal_at() == 200 && hooks_nan_at() == -1);
    accepted("COLLAB_TEST_NAN_AT", "0");
    TEST_CHECK(hooks_nan_at() == 0);
    accepted("COLLAB_TEST_KILL_AT", "9223372036854775807");
    TEST_CHECK(hooks_kill_at() == INT64_MAX);
    accepted("COLLAB_TEST_SLOW_CHECKPOINT", "30");
    TEST_CHECK(hooks_slow_checkpoint() == 30);
    accepted("COLLAB_TEST_SLOW_CHECKPOINT", "3600");
    TEST_CHECK(hooks_slow_checkpoint() == 3600);
    accepted("COLLAB_TEST_MEMAVAILABLE", "4M");
    TEST_CHECK(hooks_mem_available() == (UINT64_C(4) << 20));
    accepted("COLLAB_TEST_MEMAVAILABLE", "1gb");
    TEST_CHECK(hooks_mem_available() == (UINT64_C(1) << 30));
    accepted("COLLAB_TEST_MEMAVAILABLE", "123");
    TEST_CHECK(hooks_mem_available() == 123);
}

static void test_malformed(void)
{
    static const char *const counts[] = {"",
                                         "abc",
                                         "12x",
                                         "-1",
                                         "+5",
                                         " 5",
                                         "5 ",
                                         "1e3",
                                         "0x10",
                                         "4.0",
                                         "9223372036854775808",
                                         "99999999999999999999"};
    for (size_t n = 0; n < 3; n++)
        for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
            refused(NAMES[n], counts[i]);
    refused("COLLAB_TEST_SLOW_CHECKPOINT", "3601");
    refused("COLLAB_TEST_SLOW_CHECKPOINT", "-5");
    refused("COLLAB_TEST_SLOW_CHECKPOINT", "2.5");
    static const char *const sizes[] = {"",    "0",   "4X",   "-4M",          " 4M",
                                        "4M ", "4MM", "4.5M", "99999999999T", "M"};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        refused("COLLAB_TEST_MEMAVAILABLE", sizes[i]);
}

/* A misspelt hook is refused too, naming it. */
static void test_unknown_name(void)
{
    Status st;
    unset_all();
    setenv("COLLAB_TEST_NAN_ATT", "5", 1);
    status_clear(&st);
    TEST_CHECK(hooks_check(&st) == STATUS_USAGE);
    TEST_STR_CONTAINS(st.msg, "COLLAB_TEST_NAN_ATT is not a test hook");
    unsetenv("COLLAB_TEST_NAN_ATT");
    status_clear(&st);
    TEST_CHECK(hooks_check(&st) == STATUS_OK);
}

/* A getter that meets a malformed value (hooks_check skipped) ends the program with a
 * non-zero status instead of returning "unset". */
static void test_getter_stops(void)
{
    unset_all();
    setenv("COLLAB_TEST_NAN_AT", "12x", 1);
    fflush(NULL);
    const pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) /* the expected fatal message */
            _exit(0); /* counts as the getter returning: the check fails */
        (void)hooks_nan_at();
        _exit(0);
    }
    int status = 0;
    TEST_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    TEST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    unset_all();
}

int main(void)
{
    test_unset();
    test_values();
    test_malformed();
    test_unknown_name();
    test_getter_stops();
    unset_all();
    return test_done("test_hooks");
}
