/* data.h - ratings readers (MovieLens 100k, 1M/10M, 20M/25M/32M/latest, any delimited
 * file), vocabularies as fastai builds them, and the encoded dataset.
 *
 * data_read is local: one process reads a whole file. Training loads through
 * dataset_load (distribute.h), where every rank reads its own byte range with the same
 * line machinery (reader.h, pread.h) and ends with the same rows. Every reader error
 * names the file, the line and what was expected, and comes back as a Status (exit 1):
 * nothing is dropped silently. With skip_bad_lines, bad lines are counted, the first
 * few reported as warnings, and skipped. */
#ifndef COLLAB_DATA_H
#define COLLAB_DATA_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/dist/shard.h"
#include "collab/base/status.h"

typedef enum DataFormat {
    DATA_AUTO = 0,  /* detect from the folder's files, or a file's name and first line */
    DATA_ML100K,    /* u.data (tab: user item rating ts) + u.item ('|', Latin-1) */
    DATA_ML1M,      /* ratings.dat + movies.dat, '::' separated (1M, 10M) */
    DATA_MLCSV,     /* ratings.csv + movies.csv with headers (20M/25M/32M/latest) */
    DATA_DELIM      /* any delimited file, columns chosen by name or index */
} DataFormat;

typedef struct DataOptions {
    const char *path;       /* a MovieLens folder, or a ratings file */
    DataFormat format;
    int item_by_title;      /* 1: items are titles (duplicate titles merge); 0: item IDs */
    /* DATA_DELIM only (also accepted for others as overrides where meaningful) */
    char sep;               /* field separator; 0 = ',' for .csv, '\t' otherwise */
    int header;             /* 1: first line names the columns; 0: none; -1: auto */
    const char *user_col;   /* column name or 0-based index as text; NULL = default */
    const char *item_col;
    const char *rating_col;
    const char *time_col;   /* optional; NULL = none */
    const char *items_path; /* optional file of item id -> title (DATA_DELIM) */
    /* validation of values */
    int has_rating_range;   /* 1: ratings must lie in [rating_min, rating_max] */
    double rating_min, rating_max;
    int skip_bad_lines;     /* 1: count, report and skip bad lines instead of failing */
    int keep_timestamps;    /* 0: Ratings.timestamp stays NULL (saves 8 bytes a rating) */
    /* sharding (the parallel loaders, pload.c and prep_load.c) */
    int user_blocks;        /* 0: users cut per rank; B: into B blocks (layout_init_blocks) */
} DataOptions;

/* Sets every field to its default (auto format, item IDs, auto header, no range,
 * timestamps kept). */
void data_options_default(DataOptions *opt);

/* Raw ratings in file order, with user and item keys interned as strings. */
typedef struct Ratings {
    size_t n;              /* rows kept */
    int32_t *user;         /* (n) index into user_keys */
    int32_t *item;         /* (n) index into item_keys */
    float *rating;         /* (n) */
    int64_t *timestamp;    /* (n); 0 where the format has none; NULL unless
                              keep_timestamps */
    size_t n_user_keys;
    char **user_keys;      /* (n_user_keys) distinct user values, first-appearance order */
    size_t n_item_keys;
    char **item_keys;      /* (n_item_keys) distinct item values (IDs or titles), UTF-8 */
    char **item_titles;    /* (n_item_keys) title of each item key, or NULL when unknown;
                              NULL array when no titles are available */
    size_t n_skipped;      /* bad lines skipped (skip_bad_lines) */
    char source[512];      /* the ratings file actually read */
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

/* A vocabulary as fastai's Categorify builds it: names[0] = "#na#", then the distinct
 * values sorted (numerically when every value is an integer, else bytewise UTF-8, which
 * is code-point order like Python's). Lookup of an unknown value gives 0. */
typedef struct Vocab {
    size_t n;          /* entries including #na# */
    char **names;      /* (n) */
    int numeric;       /* 1 when sorted as integers */
    size_t hcap;       /* hash index capacity (power of two) */
    int32_t *hslot;    /* (hcap) vocab index + 1, 0 = empty */
} Vocab;

/* Builds v from the keys keys[idx[j]] for j < n (duplicates allowed). Local. */
void vocab_build(Vocab *v, char *const *keys, const int32_t *idx, size_t n);
/* As vocab_build for distinct keys keys[idx[j]] that may already be in vocabulary order
 * (e.g. read back from a file written in that order): checked in O(n) and, when they
 * are, taken as they are without a sort (then keys[idx[j]] has index j + 1); returns 1
 * then, else 0 after vocab_build. Local. */
int vocab_build_sorted(Vocab *v, char *const *keys, const int32_t *idx, size_t n);
/* Index of s in v, or 0 (#na#) when absent. */
int32_t vocab_find(const Vocab *v, const char *s);
void vocab_free(Vocab *v);

/* The encoded dataset every subcommand trains and evaluates on. */
typedef struct Dataset {
    Vocab users;            /* from the training rows */
    Vocab items;            /* from the training rows; from all rows when items are
                               titles (fastai's categorical-dtype behaviour) */
    char **item_titles;     /* (items.n) display title per item, NULL entries allowed */
    size_t n_train;
    int32_t *train_user;    /* (n_train) vocab index */
    int32_t *train_item;    /* (n_train) */
    float *train_rating;    /* (n_train) */
    size_t n_valid;
    int32_t *valid_user;    /* (n_valid) vocab index, 0 when unseen in training */
    int32_t *valid_item;    /* (n_valid) */
    float *valid_rating;    /* (n_valid) */
    double train_mean;      /* mean training rating: the exact sum rounded once (FloatSum),
                               divided by n_train_total, so the same at any -np */
    /* Set by dataset_distribute (distribute.h); after it, the row arrays above hold only
     * this rank's users' ratings. */
    int64_t *train_gidx;    /* (n_train) index among all training rows, in file order */
    size_t n_train_total;   /* training rows over all ranks */
    size_t n_valid_total;   /* validation rows over all ranks */
    Layout layout;          /* who owns which user and item */
} Dataset;

/* An exact sum of floats that does not depend on the order of its terms (so every rank
 * count and every reduction order give the same bits): each float is an integer
 * mantissa times a power of two, and the mantissas are added as integers, one bucket
 * per exponent. Holds up to 2^39 terms. */
typedef struct FloatSum {
    int64_t m[256];     /* sum of signed mantissas per biased exponent (0 unused) */
    int64_t special[3]; /* +inf, -inf and NaN terms */
} FloatSum;

/* Adds x to s. */
void floatsum_add(FloatSum *s, float x);
/* Adds t to s element-wise (merging partial sums; MPI_SUM on the int64s does the same). */
void floatsum_merge(FloatSum *s, const FloatSum *t);
/* The exact sum, rounded once to the nearest double (ties to even); inf or NaN as IEEE
 * addition would give when infinite or NaN terms were added. */
double floatsum_value(const FloatSum *s);

/* Encodes r into ds with is_valid[i] marking validation rows (NULL: none). Train and
 * validation rows keep file order. Local. */
void dataset_build(Dataset *ds, const Ratings *r, const uint8_t *is_valid, int item_by_title);

/* As dataset_build, but takes r's row arrays over instead of copying them (r's rows are
 * gone afterwards; its keys stay): the whole dataset is held only once. Local. */
void dataset_build_take(Dataset *ds, Ratings *r, const uint8_t *is_valid, int item_by_title);

/* Collective: rank root's ds is copied to every rank of comm. */
void dataset_bcast(Dataset *ds, int root, MPI_Comm comm);

/* Frees ds; safe on a zeroed or partly filled Dataset. */
void dataset_free(Dataset *ds);

/* ---- Key interning (shared by the readers, ratings_append and the vocabularies) ---- */

/* One hash slot: the key's first 8 bytes (zero-padded) and hash inline, so keys shorter
 * than 8 bytes (which cannot contain NUL) compare without touching the key itself. */
typedef struct KeySlot {
    uint64_t head;     /* first min(8, len) bytes of the key, zero-padded */
    uint32_t index1;   /* key index + 1; 0 = empty */
    uint32_t hash;     /* high 32 bits of data_hash */
} KeySlot;

/* Distinct strings in first-appearance order with an open-addressing hash index, so
 * interning n keys costs O(n). Local. */
typedef struct KeyTable {
    size_t n;          /* distinct keys */
    size_t cap;        /* allocated entries of keys and lens */
    char **keys;       /* (n) owned NUL-terminated copies */
    size_t *lens;      /* (n) byte lengths of keys */
    size_t hcap;       /* hash index capacity, a power of two */
    KeySlot *slots;    /* (hcap) linear probing, load at most 1/2 */
} KeyTable;

/* A 64-bit hash of the len bytes at s (not cryptographic; fast on short keys). */
uint64_t data_hash(const char *s, size_t len);
/* Sets t to an empty table. */
void keytable_init(KeyTable *t);
/* Index of the len bytes at s, adding a copy when new. s must not contain NUL bytes. */
int32_t keytable_intern(KeyTable *t, const char *s, size_t len);
/* Index of the len bytes at s, or -1 when absent. */
int32_t keytable_find(const KeyTable *t, const char *s, size_t len);
/* Hands the keys array (n entries, each owned) to the caller; t is left empty. */
char **keytable_release(KeyTable *t, size_t *n);
/* Frees t and its keys; safe on a zeroed or released table. */
void keytable_free(KeyTable *t);

#endif
