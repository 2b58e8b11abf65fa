/* data.c - the serial ratings reader: which files a path names and how they are laid out
 * (MovieLens 100k u.data/u.item, 1M/10M ratings.dat/movies.dat, 20M/25M/32M/latest
 * ratings.csv/movies.csv, any delimited file), and one process reading a whole ratings
 * file into Ratings.
 *
 * The line-level machinery is in reader.c (shared with the parallel reader, pread.c).
 * Duplicates are checked after the pass, so their line numbers are rebuilt from the list
 * of lines that did not become rows. */
#include "config.h"

#include "collab/data/ratings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collab/base/check.h"
#include "collab/data/keys.h"
#include "collab/base/log.h"
#include "collab/data/reader.h"

#define ML_CSV_HEADER "userId,movieId,rating,timestamp"

void data_options_default(DataOptions *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->format = DATA_AUTO;
    opt->header = -1;
    opt->keep_timestamps = 1;
}

/* ------------------------------------------------------------------------ duplicates */

/* Reports repeated (user, item ID) pairs: the first is the error, or with skip_bad_lines
 * every later occurrence is skipped (listed in *drop, ascending; *n_drop of them).
 * Returns 0 or -1. */
static int dup_check(ReadCtx *c, const Build *b, const FileLayout *lay, size_t **drop,
                     size_t *n_drop)
{
    size_t *pairs;
    size_t n_dup = rows_find_dups(&pairs, b->user, b->item, b->n, b->users.n, b->items.n, NULL);
    *drop = xmalloc((n_dup ? n_dup : 1) * sizeof **drop);
    *n_drop = 0;
    for (size_t k = 0; k < n_dup; k++) {
        size_t row = pairs[2 * k], prev = pairs[2 * k + 1];
        const char *u = b->users.keys[b->user[row]], *it = b->items.keys[b->item[row]];
        (*drop)[(*n_drop)++] = row;
        if (c->opt->skip_bad_lines && c->n_skipped >= MAX_WARNINGS) {
            c->n_skipped++; /* only counted: spare the line-number lookups */
            continue;
        }
        if (reader_bad_line(c, build_line_of(b, row),
                            "duplicate rating of %s '%s' by %s '%s' (first on line %zu); each "
                            "user may rate an item once",
                            lay->names[COL_ITEM], text_show(it, strlen(it)).s, lay->names[COL_USER],
                            text_show(u, strlen(u)).s, build_line_of(b, prev)) == ROW_FAIL)
            break;
    }
    free(pairs);
    return c->st->code ? -1 : 0;
}

/* ------------------------------------------------------------------------ the result */

/* Re-keys the items by title (first-appearance order), so duplicate titles merge. */
static void build_by_title(Build *b, const Movies *m)
{
    KeyTable titles;
    int32_t *map = xmalloc(b->items.n * sizeof *map);
    keytable_init(&titles);
    for (size_t i = 0; i < b->items.n; i++)
        map[i] = -1;
    for (size_t i = 0; i < b->n; i++) {
        int32_t it = b->item[i];
        if (map[it] < 0) {
            const char *t = m->titles[b->item_movie[it]];
            map[it] = keytable_intern(&titles, t, strlen(t));
        }
        b->item[i] = map[it];
    }
    free(map);
    keytable_free(&b->items);
    b->items = titles;
}

/* Moves the rows and keys of b into r, with the titles of the items. */
static void build_finish(Build *b, const Movies *m, int by_title, Ratings *r)
{
    if (by_title && m->present)
        build_by_title(b, m);
    r->n = b->n;
    r->user = xrealloc(b->user, b->n * sizeof *r->user);
    r->item = xrealloc(b->item, b->n * sizeof *r->item);
    r->rating = xrealloc(b->rating, b->n * sizeof *r->rating);
    r->timestamp = b->keep_ts ? xrealloc(b->ts, b->n * sizeof *r->timestamp) : NULL;
    b->user = b->item = NULL, b->rating = NULL, b->ts = NULL;
    r->user_keys = keytable_release(&b->users, &r->n_user_keys);
    r->item_keys = keytable_release(&b->items, &r->n_item_keys);
    if (!by_title && !m->present)
        return;
    r->item_titles = xcalloc(r->n_item_keys, sizeof *r->item_titles);
    for (size_t i = 0; i < r->n_item_keys; i++) {
        int32_t mv = by_title ? -1 : b->item_movie[i];
        r->item_titles[i] = by_title  ? xstrdup(r->item_keys[i])
                            : mv >= 0 ? xstrdup(m->titles[mv])
                                      : NULL;
    }
}

void ratings_free(Ratings *r)
{
    for (size_t i = 0; r->user_keys && i < r->n_user_keys; i++)
        free(r->user_keys[i]);
    for (size_t i = 0; r->item_keys && i < r->n_item_keys; i++)
        free(r->item_keys[i]);
    for (size_t i = 0; r->item_titles && i < r->n_item_keys; i++)
        free(r->item_titles[i]);
    free(r->user_keys);
    free(r->item_keys);
    free(r->item_titles);
    free(r->user);
    free(r->item);
    free(r->rating);
    free(r->timestamp);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------------------- sources */

static const char *const RATINGS_NAME[] = {"", "u.data", "ratings.dat", "ratings.csv"};
static const char *const ITEMS_NAME[] = {"", "u.item", "movies.dat", "movies.csv"};

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* out = dir/name, or name beside the file dir_or_file when is_file. */
static void path_join(char *out, const char *dir_or_file, int is_file, const char *name)
{
    char dir[PATH_CAP];
    snprintf(dir, sizeof dir, "%.3900s", dir_or_file); /* leaves room for the name */
    char *slash = strrchr(dir, '/');
    if (is_file && slash)
        slash[1] = '\0';
    else if (is_file)
        memcpy(dir, "./", 3);
    size_t n = strlen(dir);
    snprintf(out, PATH_CAP, "%.3900s%s%.100s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* 1 when the file starts with the MovieLens CSV header line. */
static int has_ml_csv_header(const char *path)
{
    char head[64] = "";
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0, k = strlen(ML_CSV_HEADER);
    if (f)
        fclose(f);
    head[n] = '\0';
    const char *h = strncmp(head, "\xEF\xBB\xBF", 3) == 0 ? head + 3 : head;
    return strncmp(h, ML_CSV_HEADER, k) == 0 && strchr("\r\n", h[k]);
}

static int source_from_dir(Source *src, const DataOptions *opt, Status *st)
{
    if (src->format == DATA_DELIM)
        return status_set(st, STATUS_USAGE,
                          "'%s' is a folder; the delimited format reads one ratings file: give "
                          "its path",
                          opt->path);
    for (int f = DATA_ML100K; src->format == DATA_AUTO && f <= DATA_MLCSV; f++) {
        path_join(src->ratings, opt->path, 0, RATINGS_NAME[f]);
        if (file_exists(src->ratings))
            src->format = (DataFormat)f;
    }
    if (src->format == DATA_AUTO)
        return status_set(st, STATUS_DATA,
                          "no ratings file in '%s' (expected u.data for "
                          "MovieLens 100k, ratings.dat for 1M/10M or ratings.csv for "
                          "20M/25M/32M/latest)",
                          opt->path);
    path_join(src->ratings, opt->path, 0, RATINGS_NAME[src->format]);
    path_join(src->items, opt->path, 0, ITEMS_NAME[src->format]);
    return STATUS_OK;
}

/* A ratings file: .dat is MovieLens 1M/10M, u.data MovieLens 100k, a CSV starting with
 * the MovieLens header MovieLens CSV, anything else a delimited file. */
static int source_from_file(Source *src, const DataOptions *opt)
{
    const char *base = strrchr(opt->path, '/') ? strrchr(opt->path, '/') + 1 : opt->path;
    if (src->format == DATA_AUTO)
        src->format = strcmp(base, "u.data") == 0                               ? DATA_ML100K
                      : ends_with(base, ".dat")                                 ? DATA_ML1M
                      : ends_with(base, ".csv") && has_ml_csv_header(opt->path) ? DATA_MLCSV
                                                                                : DATA_DELIM;
    snprintf(src->ratings, sizeof src->ratings, "%s", opt->path);
    if (src->format != DATA_DELIM)
        path_join(src->items, opt->path, 1, ITEMS_NAME[src->format]);
    return STATUS_OK;
}

int source_resolve(Source *src, const DataOptions *opt, Status *st)
{
    struct stat sb;
    memset(src, 0, sizeof *src);
    src->format = opt->format;
    if (!opt->path || stat(opt->path, &sb) != 0)
        return status_set(st, STATUS_DATA, "cannot open '%s': %s", opt->path ? opt->path : "",
                          strerror(opt->path ? errno : ENOENT));
    if (S_ISDIR(sb.st_mode) ? source_from_dir(src, opt, st) : source_from_file(src, opt))
        return st->code;
    src->items_optional = !opt->item_by_title;
    if (opt->items_path) {
        snprintf(src->items, sizeof src->items, "%s", opt->items_path);
        src->items_optional = 0;
    }
    if (src->items_optional && src->items[0] && !file_exists(src->items))
        src->items[0] = '\0';
    if (src->format == DATA_ML1M) {
        char users[PATH_CAP];
        path_join(users, src->ratings, 1, "users.dat");
        src->whole_stars = file_exists(users); /* 1M ships users.dat, 10M does not */
    }
    return STATUS_OK;
}

/* ---------------------------------------------------------------------------- layouts */

static void layout_names(FileLayout *lay, const char *a, const char *b, const char *c,
                         const char *d, const char *what)
{
    const char *names[4] = {a, b, c, d};
    for (int k = 0; k < 4; k++)
        snprintf(lay->names[k], sizeof lay->names[k], "%s", names[k] ? names[k] : "");
    snprintf(lay->what, sizeof lay->what, "%s", what);
}

/* The separator of a delimited file: the option, else ',' for .csv and tab otherwise. */
static char delim_sep(const DataOptions *opt, const char *path)
{
    return opt->sep ? opt->sep : ends_with(path, ".csv") ? ',' : '\t';
}

void file_layout_ratings(FileLayout *lay, const Source *src, const DataOptions *opt)
{
    memset(lay, 0, sizeof *lay);
    lay->col[COL_USER] = 0, lay->col[COL_ITEM] = 1, lay->col[COL_RATING] = 2;
    lay->col[COL_TIME] = 3;
    lay->n_fields = 4, lay->int_ids = 1, lay->has_range = 1, lay->lo = 0.5, lay->hi = 5;
    if (src->format == DATA_ML100K) {
        lay->d = (TextDialect){'\t', 0, 0}, lay->lo = 1;
        layout_names(lay, "user id", "item id", "rating", "timestamp",
                     "user id, item id, rating, timestamp separated by tabs");
    } else if (src->format == DATA_ML1M) {
        lay->d = (TextDialect){':', 1, 0}, lay->lo = src->whole_stars ? 1 : 0.5;
        layout_names(lay, "UserID", "MovieID", "Rating", "Timestamp",
                     "UserID::MovieID::Rating::Timestamp");
    } else if (src->format == DATA_MLCSV) {
        lay->d = (TextDialect){',', 0, 1}, lay->header = 1, lay->expect = ML_CSV_HEADER;
        layout_names(lay, "userId", "movieId", "rating", "timestamp", ML_CSV_HEADER);
    } else {
        lay->d = (TextDialect){delim_sep(opt, src->ratings), 0, 1}, lay->enc = ENC_UTF8;
        lay->n_fields = 0, lay->int_ids = 0, lay->has_range = 0, lay->find_columns = 1;
        layout_names(lay, "user", "item", "rating", "timestamp", "user, item, rating");
    }
    if (opt->has_rating_range)
        lay->has_range = 1, lay->lo = opt->rating_min, lay->hi = opt->rating_max;
}

void file_layout_items(FileLayout *lay, const Source *src, const DataOptions *opt, int header)
{
    memset(lay, 0, sizeof *lay);
    lay->col[COL_ID] = 0, lay->col[COL_TITLE] = 1, lay->col[2] = lay->col[3] = -1;
    lay->int_ids = 1, lay->min_fields = 2;
    if (src->format == DATA_ML100K) {
        lay->d = (TextDialect){'|', 0, 0}, lay->enc = ENC_LATIN1;
        layout_names(lay, "movie id", "title", 0, 0, "movie id|title|...");
    } else if (src->format == DATA_ML1M) {
        lay->d = (TextDialect){':', 1, 0}, lay->enc = ENC_UTF8_OR_LATIN1, lay->n_fields = 3;
        layout_names(lay, "MovieID", "Title", 0, 0, "MovieID::Title::Genres");
    } else if (src->format == DATA_MLCSV) {
        lay->d = (TextDialect){',', 0, 1}, lay->enc = ENC_UTF8, lay->n_fields = 3;
        lay->header = 1, lay->expect = "movieId,title,genres";
        layout_names(lay, "movieId", "title", 0, 0,
                     "movieId,title,genres; quote a title that contains commas");
    } else {
        lay->d = (TextDialect){delim_sep(opt, src->items), 0, 1}, lay->enc = ENC_UTF8;
        lay->int_ids = 0, lay->header = opt->header >= 0 ? opt->header : header;
        layout_names(lay, "item id", "title", 0, 0, "item id, title");
    }
}

/* ------------------------------------------------------------------------- data_read */

/* Reads the ratings file, and the items file once the ratings' first line is known. */
static int read_files(ReadCtx *c, Build *b, Movies *m, const Source *src, FileLayout *lay)
{
    TextReader lr;
    FileLayout ilay;
    char *first = NULL;
    size_t first_len = 0, first_ln;
    c->path = src->ratings;
    int rc = ratings_head(c, b, lay, &lr, &first, &first_len);
    first_ln = lr.lineno;
    file_layout_items(&ilay, src, c->opt, lay->header);
    if (rc == 0 && src->items[0])
        rc = movies_read(c, m, &ilay, src->items);
    if (rc == 0 && first) {
        int row = ratings_row(c, b, m, lay, first_ln, first, first_len);
        rc = row == ROW_FAIL ? -1 : 0;
        if (row == ROW_SKIP)
            build_gap(b, first_ln);
    }
    if (rc == 0)
        rc = ratings_loop(c, b, m, lay, &lr);
    free(first);
    text_close(&lr);
    return rc;
}

/* After the pass: duplicates, then the summary of skipped lines and the empty check. */
static int read_checks(ReadCtx *c, Build *b, const FileLayout *lay, const Source *src)
{
    size_t *drop, n_drop;
    int rc = dup_check(c, b, lay, &drop, &n_drop);
    if (rc == 0 && n_drop)
        build_drop(b, drop, n_drop);
    free(drop);
    if (rc == 0)
        rc = reader_summary(c, src, b->n);
    return rc;
}

int data_read(Ratings *r, const DataOptions *opt, Status *st)
{
    Source src;
    FileLayout lay;
    ReadCtx c = {.opt = opt, .st = st};
    Build b;
    Movies m;
    memset(r, 0, sizeof *r);
    memset(&m, 0, sizeof m);
    build_init(&b, opt->keep_timestamps, 1);
    status_clear(st);
    if (source_resolve(&src, opt, st) == STATUS_OK) {
        file_layout_ratings(&lay, &src, opt);
        if (read_files(&c, &b, &m, &src, &lay) == 0 && read_checks(&c, &b, &lay, &src) == 0) {
            build_finish(&b, &m, opt->item_by_title, r);
            r->n_skipped = c.n_skipped;
            snprintf(r->source, sizeof r->source, "%.511s", src.ratings);
        }
    }
    build_free(&b);
    movies_free(&m);
    reader_free(&c);
    return st->code;
}

/* --------------------------------------------------------------------------- append */

/* Interns every key of keys (n) into t; returns the index map (n). */
static int32_t *keys_reintern(KeyTable *t, char *const *keys, size_t n)
{
    int32_t *map = xmalloc(n * sizeof *map);
    for (size_t i = 0; i < n; i++)
        map[i] = keytable_intern(t, keys[i], strlen(keys[i]));
    return map;
}

/* Replaces *keys (*n entries) by the keys of t. */
static void keys_replace(char ***keys, size_t *n, KeyTable *t)
{
    for (size_t i = 0; i < *n; i++)
        free((*keys)[i]);
    free(*keys);
    *keys = keytable_release(t, n);
}

/* Extends dst's titles to n_new item keys with the titles src has for them. */
static void titles_append(Ratings *dst, const Ratings *src, const int32_t *imap, size_t n_new)
{
    if (!dst->item_titles && !src->item_titles)
        return;
    char **t = xcalloc(n_new, sizeof *t);
    for (size_t i = 0; dst->item_titles && i < dst->n_item_keys; i++)
        t[i] = dst->item_titles[i];
    for (size_t i = 0; src->item_titles && i < src->n_item_keys; i++)
        if (!t[imap[i]] && src->item_titles[i])
            t[imap[i]] = xstrdup(src->item_titles[i]);
    free(dst->item_titles);
    dst->item_titles = t;
}

void ratings_append(Ratings *dst, const Ratings *src)
{
    KeyTable users, items;
    keytable_init(&users);
    keytable_init(&items);
    free(keys_reintern(&users, dst->user_keys, dst->n_user_keys));
    free(keys_reintern(&items, dst->item_keys, dst->n_item_keys));
    int32_t *umap = keys_reintern(&users, src->user_keys, src->n_user_keys);
    int32_t *imap = keys_reintern(&items, src->item_keys, src->n_item_keys);
    size_t n = dst->n + src->n;
    dst->user = xrealloc(dst->user, n * sizeof *dst->user);
    dst->item = xrealloc(dst->item, n * sizeof *dst->item);
    dst->rating = xrealloc(dst->rating, n * sizeof *dst->rating);
    if (dst->timestamp)
        dst->timestamp = xrealloc(dst->timestamp, n * sizeof *dst->timestamp);
    for (size_t i = 0; i < src->n; i++) {
        dst->user[dst->n + i] = umap[src->user[i]];
        dst->item[dst->n + i] = imap[src->item[i]];
        dst->rating[dst->n + i] = src->rating[i];
        if (dst->timestamp)
            dst->timestamp[dst->n + i] = src->timestamp ? src->timestamp[i] : 0;
    }
    dst->n = n;
    dst->n_skipped += src->n_skipped;
    titles_append(dst, src, imap, items.n);
    keys_replace(&dst->user_keys, &dst->n_user_keys, &users);
    keys_replace(&dst->item_keys, &dst->n_item_keys, &items);
    free(umap);
    free(imap);
}
