/* reader.h - the reading machinery under both ratings readers: the serial one (data.c,
 * one process reads a whole file) and the parallel one (pread.c, every rank reads its
 * own byte range). Which files to read and how they are laid out, the items file, one
 * ratings line turned into a row, bad-line reporting, and duplicate detection.
 *
 * Everything here is local (no MPI). A bad line is an error naming file, line and
 * expectation, or with skip_bad_lines a counted warning; in "collect" mode (the parallel
 * reader) the warnings are kept instead of printed, so that rank 0 can print the first
 * few of the whole file in file order. */
#ifndef COLLAB_READER_H
#define COLLAB_READER_H

#include <stddef.h>
#include <stdint.h>

#include "collab/data/keys.h"
#include "collab/data/ratings.h"
#include "collab/base/status.h"
#include "collab/data/text.h"

enum { MAX_WARNINGS = 5, PATH_CAP = 4096 };
enum { ROW_FAIL = -1, ROW_SKIP = 0, ROW_OK = 1 };
enum { COL_USER, COL_ITEM, COL_RATING, COL_TIME }; /* ratings files */
enum { COL_ID, COL_TITLE };                        /* items files */
enum { ENC_BYTES, ENC_UTF8, ENC_LATIN1, ENC_UTF8_OR_LATIN1 };

/* Which files to read, in which format. */
typedef struct Source {
    DataFormat format;
    char ratings[PATH_CAP];
    char items[PATH_CAP]; /* "" when there is none */
    int items_optional;   /* a MovieLens movies file may be absent when items are IDs */
    int whole_stars;      /* MovieLens 1M (users.dat beside ratings.dat): ratings 1 to 5 */
} Source;

/* How one file is laid out and what its fields must hold. */
typedef struct FileLayout {
    TextDialect d;
    int enc;            /* ENC_*: how the bytes are checked or converted */
    int header;         /* 1: the first line is a header */
    const char *expect; /* the exact header (MovieLens CSV), or NULL */
    size_t n_fields;    /* fields per line; 0: as many as on the first line */
    size_t min_fields;  /* with n_fields 0 (items files): at least this many */
    int col[4];         /* COL_* indices of the fields used; -1: absent */
    char names[4][64];  /* names of those fields, for messages */
    char what[128];     /* the expected line, for messages */
    int int_ids;        /* IDs must be integers (MovieLens) */
    int find_columns;   /* DATA_DELIM: columns and header come from the first line */
    int has_range;
    double lo, hi;
} FileLayout;

/* The reading session: options, error status, reusable buffers, kept warnings. */
typedef struct ReadCtx {
    const DataOptions *opt;
    Status *st;
    const char *path;  /* the file being read, for messages */
    TextFields fields; /* of the current line */
    char *conv;        /* (cap_conv) the current line converted from Latin-1 */
    size_t cap_conv;
    size_t n_skipped; /* bad lines skipped, all files of one read */
    int collect;      /* 1: skipped-line warnings go to kept[], not to the log */
    size_t n_kept;    /* warnings in kept (at most MAX_WARNINGS) */
    char kept[MAX_WARNINGS][sizeof(((Status *)0)->msg)];
} ReadCtx;

/* Titles from a movies or items file, keyed by item ID. */
typedef struct Movies {
    int present;
    const char *path;
    KeyTable ids;
    char **titles; /* (ids.n) UTF-8 */
    size_t *lines; /* (ids.n) line of each ID, for duplicate messages */
    size_t cap;
    int32_t *by_int; /* (cap_int) index + 1 of integer ID v, 0: absent (a cache of ids) */
    size_t cap_int;
} Movies;

/* Rows under construction, with raw user and item IDs interned. */
typedef struct Build {
    KeyTable users, items;
    int32_t *item_movie; /* (items.n) index in Movies, -1 when the movie is not there */
    size_t cap_movie;    /* allocated entries of item_movie */
    size_t n, cap;
    int32_t *user, *item; /* (n) */
    float *rating;        /* (n) */
    int64_t *ts;          /* (n), NULL unless keep_ts */
    int keep_ts;
    size_t first_line; /* number of the first line the rows come from */
    size_t *gaps;      /* (n_gaps) ascending lines that are not rows: header, blank,
                          skipped; row i is on the (i+1)-th line not listed, counting
                          from first_line */
    size_t n_gaps, cap_gaps;
    int32_t last_user; /* rows often come grouped by user: skip the lookup */
    /* Integer IDs (nearly all files) skip the hash tables: by_int[v] is the key index +
     * 1 of the ID v (0: not seen yet), for 0 <= v < cap; 0 users, 1 items. */
    int32_t *by_int[2];
    size_t cap_int[2];
} Build;

/* ---- Reporting ---- */

/* Reports a bad line: with skip_bad_lines it is counted and the first MAX_WARNINGS are
 * warned about (or kept, in collect mode) and ROW_SKIP is returned; else it is the error
 * (c->st) and ROW_FAIL is returned. */
int reader_bad_line(ReadCtx *c, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets an error that skip_bad_lines does not cover (the whole file is unusable): -1. */
int reader_file_error(ReadCtx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* After a ratings file is read (n_rows rows kept, c->n_skipped lines skipped): warns
 * how many lines were skipped, and fails when no rows are left. Returns 0 or -1. */
int reader_summary(ReadCtx *c, const Source *src, size_t n_rows);

/* Frees the session's buffers. */
void reader_free(ReadCtx *c);

/* ---- Sources and layouts ---- */

/* Resolves opt->path (a folder or a file) into the files to read and their format.
 * Returns STATUS_OK, or an error naming the path. */
int source_resolve(Source *src, const DataOptions *opt, Status *st);

/* The layout of src's ratings file (DATA_DELIM: completed by ratings_head). */
void file_layout_ratings(FileLayout *lay, const Source *src, const DataOptions *opt);

/* The layout of src's items file; header: whether the ratings file had one (a delimited
 * items file follows it when --header is auto). */
void file_layout_items(FileLayout *lay, const Source *src, const DataOptions *opt, int header);

/* ---- Files ---- */

/* Reads a whole movies or items file into m (zeroed). Returns 0 or -1 (c->st set). */
int movies_read(ReadCtx *c, Movies *m, const FileLayout *lay, const char *path);
void movies_free(Movies *m);
/* Index in m of the item ID (len bytes at id, canonical), or -1 when m lacks it. */
int32_t movies_find(const Movies *m, const char *id, size_t len);

/* Opens c->path and takes its first non-blank line: a header is checked (or, for a
 * delimited file, gives lay its columns); a data line is copied to *first for later
 * (NULL after a header). Blank lines and the header are recorded as gaps of b (NULL:
 * not recorded). Returns 0 or -1 (c->st set); lr is closeable either way. */
int ratings_head(ReadCtx *c, Build *b, FileLayout *lay, TextReader *lr, char **first,
                 size_t *first_len);

/* One data line (number ln) of a ratings file into b. Returns ROW_OK, ROW_SKIP or
 * ROW_FAIL. */
int ratings_row(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, size_t ln, char *line,
                size_t len);

/* Every remaining line of lr into b (blank and skipped lines become gaps). Returns 0 or
 * -1 (c->st set). */
int ratings_loop(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, TextReader *lr);

/* ---- Rows ---- */

/* Sets b to no rows, numbering lines from first_line; keep_ts keeps timestamps. */
void build_init(Build *b, int keep_ts, size_t first_line);
/* Makes room for cap rows (e.g. the lines of a byte range, counted beforehand), so the
 * row arrays are allocated once instead of grown by doubling. */
void build_reserve(Build *b, size_t cap);
/* Records that line is not a row. */
void build_gap(Build *b, size_t line);
/* Line number of row i. */
size_t build_line_of(const Build *b, size_t i);
/* Removes the rows whose indices are listed in drop (n_drop, ascending), keeping order. */
void build_drop(Build *b, const size_t *drop, size_t n_drop);
void build_free(Build *b);

/* Repeated (user, item) pairs among n rows: returns the number of repeats and sets
 * *pairs to (row, first row of the pair) for each, in row order (2 entries a repeat;
 * free it). Users and items are indices below n_users and n_items; rows whose user is
 * marked in skip_user (NULL: none) are ignored. O(n) when the rows considered are
 * grouped by user in increasing user index, else O(n + n_users) with a counting sort. */
size_t rows_find_dups(size_t **pairs, const int32_t *user, const int32_t *item, size_t n,
                      size_t n_users, size_t n_items, const uint8_t *skip_user);

#endif
