/* hooks.c - the one reader of the COLLAB_TEST_* test hooks (hooks.h): the table of hooks,
 * their strict parsing, the check of the whole environment, and one getter per hook. */
#include "config.h"

#include "collab/base/hooks.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/size.h"

extern char **environ; /* POSIX: declared by the program, not by a header */

#define HOOK_PREFIX "COLLAB_TEST_"

/* One hook: its variable, whether it is a size (else a whole number up to max), and what
 * a value must be, for messages. */
typedef struct Hook {
    const char *name;
    int is_size;
    uint64_t max;
    const char *syntax;
} Hook;

enum {
    HOOK_SIGNAL_AT,
    HOOK_NAN_AT,
    HOOK_KILL_AT,
    HOOK_SLOW_CHECKPOINT,
    HOOK_MEMAVAILABLE,
    N_HOOKS
};

static const Hook HOOKS[N_HOOKS] = {
    [HOOK_SIGNAL_AT] = {"COLLAB_TEST_SIGNAL_AT", 0, INT64_MAX,
                        "a batch count (a whole number >= 0, digits only)"},
    [HOOK_NAN_AT] = {"COLLAB_TEST_NAN_AT", 0, INT64_MAX,
                     "a batch count (a whole number >= 0, digits only)"},
    [HOOK_KILL_AT] = {"COLLAB_TEST_KILL_AT", 0, INT64_MAX,
                      "a batch count (a whole number >= 0, digits only)"},
    [HOOK_SLOW_CHECKPOINT] = {"COLLAB_TEST_SLOW_CHECKPOINT", 0, 3600,
                              "seconds (a whole number from 0 to 3600)"},
    [HOOK_MEMAVAILABLE] = {"COLLAB_TEST_MEMAVAILABLE", 1, UINT64_MAX,
                           "a size in bytes > 0, with an optional K, M, G or T suffix"},
};

/* Parses the whole of text as h's value into *out. Returns 0, or -1 when it is not one. */
static int hook_parse(const Hook *h, const char *text, uint64_t *out)
{
    if (h->is_size)
        return size_parse(text, out);
    if (!isdigit((unsigned char)text[0])) /* empty, a sign or a space: strtoull takes them */
        return -1;
    char *end = NULL;
    errno = 0;
    const unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v > h->max)
        return -1;
    *out = v;
    return 0;
}

/* Reads hook i: *out = its value (0 when unset), *set = whether it is set. Returns
 * STATUS_OK, or STATUS_USAGE with st naming the variable when its value is malformed. */
static int hook_read(int i, uint64_t *out, int *set, Status *st)
{
    const Hook *h = &HOOKS[i];
    const char *text = getenv(h->name);
    *out = 0;
    *set = text != NULL;
    if (text && hook_parse(h, text, out))
        return status_set(st, STATUS_USAGE,
                          "test hook %s='%s' is not %s: fix the value or unset it "
                          "(docs/RELIABILITY.md lists the test hooks)",
                          h->name, text, h->syntax);
    return STATUS_OK;
}

/* The value of hook i for a getter: *set as hook_read's; a malformed value aborts (the
 * program checks every hook at start, so only a caller that skipped that meets one). */
static uint64_t hook_value(int i, int *set)
{
    Status st;
    uint64_t v;
    status_clear(&st);
    if (hook_read(i, &v, set, &st))
        check_fail(__FILE__, __LINE__, "%s", st.msg);
    return v;
}

/* STATUS_USAGE when the environment entry e (NAME=VALUE) has the hook prefix but names
 * no hook. */
static int check_name(const char *e, Status *st)
{
    const size_t len = strcspn(e, "=");
    for (int i = 0; i < N_HOOKS; i++)
        if (strlen(HOOKS[i].name) == len && !strncmp(e, HOOKS[i].name, len))
            return STATUS_OK;
    char known[256] = "";
    for (int i = 0; i < N_HOOKS; i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 HOOKS[i].name);
    return status_set(st, STATUS_USAGE,
                      "%.*s is not a test hook (the hooks are %s): fix the name or unset it "
                      "(docs/RELIABILITY.md)",
                      (int)len, e, known);
}

int hooks_check(Status *st)
{
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, HOOK_PREFIX, strlen(HOOK_PREFIX)) && check_name(*e, st))
            return st->code;
    for (int i = 0; i < N_HOOKS; i++) {
        uint64_t v;
        int set;
        if (hook_read(i, &v, &set, st))
            return st->code;
    }
    return STATUS_OK;
}

/* A batch-count hook: its value, or -1 when unset. */
static int64_t hook_batch(int i)
{
    int set;
    const uint64_t v = hook_value(i, &set);
    return set ? (int64_t)v : -1;
}

int64_t hooks_signal_at(void)
{
    return hook_batch(HOOK_SIGNAL_AT);
}

int64_t hooks_nan_at(void)
{
    return hook_batch(HOOK_NAN_AT);
}

int64_t hooks_kill_at(void)
{
    return hook_batch(HOOK_KILL_AT);
}

unsigned hooks_slow_checkpoint(void)
{
    int set;
    return (unsigned)hook_value(HOOK_SLOW_CHECKPOINT, &set);
}

uint64_t hooks_mem_available(void)
{
    int set;
    return hook_value(HOOK_MEMAVAILABLE, &set);
}
