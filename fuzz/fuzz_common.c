/* fuzz_common.c - what the fuzz targets share (fuzz.h). */
#include "config.h"

#include "fuzz.h"

#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/base/log.h"

static char dir[256];
static char written[16][64]; /* names fuzz_write used, removed at exit */
static int n_written;

/* Removes the scratch folder and what was written into it. */
static void fuzz_cleanup(void)
{
    char path[1024];
    for (int i = 0; i < n_written; i++) {
        snprintf(path, sizeof path, "%.255s/%.63s", dir, written[i]);
        unlink(path);
    }
    rmdir(dir);
}

const char *fuzz_setup(void)
{
    if (dir[0])
        return dir;
    int init = 0;
    MPI_Initialized(&init);
    if (!init)
        MPI_Init(NULL, NULL);
    log_init(0, LOG_QUIET);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/collab-fuzz.XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    atexit(fuzz_cleanup);
    return dir;
}

const char *fuzz_write(const char *where, const char *name, const uint8_t *data, size_t len)
{
    static char path[512];
    int known = 0;
    for (int i = 0; i < n_written && !known; i++)
        known = !strcmp(written[i], name);
    if (!known && n_written < 16)
        snprintf(written[n_written++], sizeof written[0], "%s", name);
    snprintf(path, sizeof path, "%s/%s", where, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len)) {
        perror(path);
        exit(1);
    }
    fclose(f);
    return path;
}

void fuzz_report(const Status *st)
{
    if (getenv("COLLAB_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", st->code ? st->msg : "ok");
}
