/* pread.h - the parallel ratings reader: every rank reads and parses its own byte range
 * of a ratings file, so no rank ever holds more than about its share of the rows.
 *
 * The outcome is the serial reader's (data_read), cut into parts: the same rows in the
 * same order (rank r holds a contiguous run of them), the same keys, the same errors
 * (file, global line number, expectation; the first bad line of the file when several
 * are bad) agreed by every rank, and with skip_bad_lines the same count and the same
 * warnings, printed once by rank 0. The small items file is read by every rank. */
#ifndef COLLAB_PREAD_H
#define COLLAB_PREAD_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/data/dataset.h"
#include "collab/data/keys.h"
#include "collab/base/status.h"

/* The keys of every file read so far: identical on every rank (vocabulary-sized). */
typedef struct PartKeys {
    KeyTable users; /* user keys */
    KeyTable items; /* item keys as data_read keys them: titles when items are titles
                       and the file has an items file, else item IDs */
    char **titles;  /* (items.n) title of each key from the items files (NULL when
                       unknown); the first file that has one wins, as ratings_append */
    size_t cap_titles;
} PartKeys;

/* This rank's part of one file's rows. */
typedef struct PartRows {
    size_t n;         /* rows held here: the file's rows [first, first + n) */
    int32_t *user;    /* (n) index into PartKeys.users */
    int32_t *item;    /* (n) index into PartKeys.items */
    float *rating;    /* (n) */
    int64_t *ts;      /* (n) timestamps (0 without a time column); NULL unless
                         opt->keep_timestamps */
    int has_time;     /* the file has a time column */
    uint64_t first;   /* index of this rank's first row among the file's rows */
    uint64_t total;   /* rows of the file over all ranks */
    size_t n_skipped; /* bad lines skipped in the whole file (skip_bad_lines) */
} PartRows;

void partkeys_init(PartKeys *k);
void partkeys_free(PartKeys *k);
/* Frees r; safe on a zeroed PartRows. */
void partrows_free(PartRows *r);

/* Collective: reads the ratings file opt names (opt->path, a folder or a file, as
 * data_read) into this rank's rows, adding its keys to keys. Timestamps are checked, and
 * kept only with opt->keep_timestamps. Returns the agreed status (STATUS_OK, or the serial reader's
 * error on every rank); rows is freeable either way. */
int pread_file(PartRows *rows, PartKeys *keys, const DataOptions *opt, MPI_Comm comm, Status *st);

#endif
