/* ratings.h - raw ratings as read, and the serial reader of the ratings formats
 * (MovieLens 100k, 1M/10M, 20M/25M/32M/latest, any delimited file).
 *
 * data_read is local: one process reads a whole file. Training loads through
 * dataset_load (distribute.h), where every rank reads its own byte range with the same
 * line machinery (reader.h, pread.h) and ends with the same rows. Every reader error
 * names the file, the line and what was expected, and comes back as a Status (exit 1):
 * nothing is dropped silently. With skip_bad_lines, bad lines are counted, the first
 * few reported as warnings, and skipped. */
#ifndef COLLAB_RATINGS_H
#define COLLAB_RATINGS_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/status.h"

typedef enum DataFormat {
    DATA_AUTO = 0, /* detect from the folder's files, or a file's name and first line */
    DATA_ML100K,   /* u.data (tab: user item rating ts) + u.item ('|', Latin-1) */
    DATA_ML1M,     /* ratings.dat + movies.dat, '::' separated (1M, 10M) */
    DATA_MLCSV,    /* ratings.csv + movies.csv with headers (20M/25M/32M/latest) */
    DATA_DELIM     /* any delimited file, columns chosen by name or index */
} DataFormat;

typedef struct DataOptions {
    const char *path; /* a MovieLens folder, or a ratings file */
    DataFormat format;
    int item_by_title; /* 1: items are titles (duplicate titles merge); 0: item IDs */
    /* DATA_DELIM only (also accepted for others as overrides where meaningful) */
    char sep;             /* field separator; 0 = ',' for .csv, '\t' otherwise */
    int header;           /* 1: first line names the columns; 0: none; -1: auto */
    const char *user_col; /* column name or 0-based index as text; NULL = default */
    const char *item_col;
    const char *rating_col;
    const char *time_col;   /* optional; NULL = none */
    const char *items_path; /* optional file of item id -> title (DATA_DELIM) */
    /* validation of values */
    int has_rating_range; /* 1: ratings must lie in [rating_min, rating_max] */
    double rating_min, rating_max;
    int skip_bad_lines;  /* 1: count, report and skip bad lines instead of failing */
    int keep_timestamps; /* 0: Ratings.timestamp stays NULL (saves 8 bytes a rating) */
    /* sharding (the parallel loaders, pload.c and prep_load.c) */
    int user_blocks; /* 0: users cut per rank; B: into B blocks (layout_init_blocks) */
} DataOptions;

/* Sets every field to its default (auto format, item IDs, auto header, no range,
 * timestamps kept). */
void data_options_default(DataOptions *opt);

/* Raw ratings in file order, with user and item keys interned as strings. */
typedef struct Ratings {
    size_t n;           /* rows kept */
    int32_t *user;      /* (n) index into user_keys */
    int32_t *item;      /* (n) index into item_keys */
    float *rating;      /* (n) */
    int64_t *timestamp; /* (n); 0 where the format has none; NULL unless
                           keep_timestamps */
    size_t n_user_keys;
    char **user_keys; /* (n_user_keys) distinct user values, first-appearance order */
    size_t n_item_keys;
    char **item_keys;   /* (n_item_keys) distinct item values (IDs or titles), UTF-8 */
    char **item_titles; /* (n_item_keys) title of each item key, or NULL when unknown;
                           NULL array when no titles are available */
    size_t n_skipped;   /* bad lines skipped (skip_bad_lines) */
    char source[512];   /* the ratings file actually read */
} Ratings;

/* Reads opt->path into r (zeroed by the caller or fresh). Local. Returns STATUS_OK, or
 * STATUS_DATA / STATUS_USAGE with st->msg naming file, line and expectation. On
 * failure r is left freeable. */
int data_read(Ratings *r, const DataOptions *opt, Status *st);

/* Appends the rows of src to dst, re-interning keys; src is left unchanged. Used to put
 * an explicit validation file after the training rows. Local. */
void ratings_append(Ratings *dst, const Ratings *src);

/* Frees r; safe on a zeroed or partly filled Ratings. */
void ratings_free(Ratings *r);

#endif
