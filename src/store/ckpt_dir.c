/* ckpt_dir.c - the checkpoints of a folder: their names, the newest complete one, and
 * pruning the old ones. A file is complete once renamed from its temporary name, so only
 * names ckpt-e*.h5 count. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/store/checkpoint.h"

void ckpt_name(char *out, size_t len, const char *dir, int64_t epoch, int64_t iter)
{
    snprintf(out, len, "%s/ckpt-e%04lld-i%010lld.h5", dir, (long long)epoch, (long long)iter);
}

/* Checkpoint names in dir, sorted oldest first (the names sort by position). */
static size_t list_ckpts(char ***out, const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 0;
    char **names = NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "ckpt-e", 6) || len < 4 || strcmp(e->d_name + len - 3, ".h5"))
            continue;
        if (n == cap)
            names = xrealloc(names, (cap = cap ? 2 * cap : 16) * sizeof(char *));
        names[n++] = xstrdup(e->d_name);
    }
    if (d)
        closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of files */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *tmp = names[j];
            names[j] = names[j - 1];
            names[j - 1] = tmp;
        }
    *out = names;
    return n;
}

int ckpt_find_latest(char *out, size_t len, const char *dir, const Ctx *ctx)
{
    int found = 0;
    if (ctx->rank == 0) {
        char **names;
        size_t n = list_ckpts(&names, dir);
        found = n > 0;
        if (found)
            snprintf(out, len, "%s/%s", dir, names[n - 1]);
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
    }
    CHECK_MPI(MPI_Bcast(&found, 1, MPI_INT, 0, ctx->comm));
    if (found)
        CHECK_MPI(MPI_Bcast(out, (int)len, MPI_CHAR, 0, ctx->comm));
    return found;
}

void ckpt_prune(const char *dir, int keep, const Ctx *ctx)
{
    if (ctx->rank == 0) {
        char **names, full[4096];
        size_t n = list_ckpts(&names, dir);
        for (size_t i = 0; i < n; i++) {
            if (i + (size_t)keep < n) {
                snprintf(full, sizeof full, "%s/%s", dir, names[i]);
                unlink(full);
            }
            free(names[i]);
        }
        free(names);
    }
    CHECK_MPI(MPI_Barrier(ctx->comm));
}
