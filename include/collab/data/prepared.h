/* prepared.h - prepared datasets: ratings parsed once from text into one HDF5 file,
 * grouped by user, that training reads in parallel without parsing.
 *
 *   prep_write   (collab-mpi prepare) every rank parses its byte range of the text
 *                (pread.h), the rows are moved to user-key order (CSR: each user's rows
 *                in file order, users in vocabulary order) and written collectively
 *   prep_load    every rank reads the per-user offsets and the keys, decides the split
 *                of its share of the rows, agrees the vocabularies and the layout, then
 *                reads only its own users' rows with hyperslab selections
 *
 * prep_load gives, field for field, the Dataset dataset_load gives from the original
 * text with the same options (vocabularies, rows in file order, train_gidx, train_mean,
 * layout), at any number of ranks: the file keeps each rating's row index in the text
 * (after duplicates and skipped lines are dropped), which is what the split and the
 * batch order are keyed by. Layout of the file: docs/FORMAT.md. */
#ifndef COLLAB_PREPARED_H
#define COLLAB_PREPARED_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/data/dataset.h"
#include "collab/data/distribute.h"
#include "collab/base/status.h"

enum { PREP_FORMAT_VERSION = 1 };

/* Collective: 1 on every rank when rank 0 finds the HDF5 signature at the start of path
 * (a regular file), else 0. A missing file gives 0 (the text readers report it). */
int prep_is_file(const char *path, MPI_Comm comm);

/* What prep_write reports. */
typedef struct PrepSummary {
    uint64_t n_rows, n_users, n_items, n_skipped;
    double parse_seconds; /* reading and parsing the text (pread_file) */
    double total_seconds; /* everything, the file closed and renamed */
} PrepSummary;

/* Collective: parses the text opt names (any reader, options as for training) and
 * writes the prepared file out (through out.tmp, renamed when complete). Returns the
 * agreed status: the reader's errors, or STATUS_DATA naming out when it cannot be
 * written. */
int prep_write(PrepSummary *sum, const char *out, const DataOptions *opt, MPI_Comm comm,
               Status *st);

/* Collective: every rank's shard of the prepared file opt->path, with the random split
 * of sp (sp->valid_path must be NULL). The options that decide the content (format,
 * --item-name, --rating-range, --skip-bad-lines) must be those the file was prepared
 * with: a conflict is STATUS_USAGE naming the option. A file that is not a prepared
 * file, of another version, truncated or damaged is STATUS_DATA naming it. Returns the
 * agreed status; ds is zeroed on error. */
int prep_load(Dataset *ds, const DataOptions *opt, const SplitSpec *sp, MPI_Comm comm, Status *st);

/* ---- Shared by the writer and the reader ---- */

/* The name of a format as --format spells it ("ml-csv", ...). */
const char *prep_format_name(DataFormat f);

/* The checksum of n elements of size bytes (4 or 8) at col, which are places
 * [pos0, pos0 + n) of a column: sum of (element + c) * (2 * place + 1) modulo 2^64, so
 * the sums of the parts of a column add up to the whole column's, and any one changed
 * or moved element changes it. Local. */
uint64_t prep_checksum(const void *col, size_t size, size_t n, uint64_t pos0);

/* ---- Reading a prepared file (prep_file.c, used by prep_load.c) ---- */

/* The parts of an open prepared file that every rank holds. */
typedef struct PrepFile {
    int64_t file; /* HDF5 file id (hid_t), -1 when closed */
    const char *path;
    uint64_t n_rows, n_users, n_items; /* stored keys, without #na# */
    uint64_t *offsets;                 /* (n_users + 1) first row of each user */
    char *blob[3];                     /* fixed-length strings: user keys, item keys, titles */
    char **ukeys, **ikeys, **titles;   /* (n_users), (n_items), (n_items) into the blobs;
                                          titles[i] NULL when unknown */
    int64_t sums[3];                   /* checksums of ratings/row, item, rating */
} PrepFile;

/* Collective: opens path with the MPI-IO driver, checks the kind, the version, the
 * options o against the file's (prep_load's conflicts) and every dataset's type and
 * shape, and reads the offsets (checked to be increasing), keys and titles. Returns the
 * agreed status; f is closeable either way. */
int prep_file_open(PrepFile *f, const char *path, const DataOptions *o, MPI_Comm comm, Status *st);

/* Closes f and frees what it holds; safe on a failed open. */
void prep_file_close(PrepFile *f);

#endif
