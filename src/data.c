/* data.c - ratings readers: MovieLens 100k (u.data/u.item), 1M/10M (ratings.dat/movies.dat),
 * 20M/25M/32M/latest (ratings.csv/movies.csv) and any delimited file.
 *
 * One pass per file: the file is read in big chunks, split into lines in place, fields
 * are parsed by hand (the text machinery is in text.c) and keys interned in hash tables,
 * so reading is O(bytes). Every bad line is an error naming file, line and expectation,
 * or (skip_bad_lines) a counted warning; duplicates and unknown movies are checked after
 * the pass, so their line numbers are rebuilt from the list of lines that did not become
 * rows. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collab/check.h"
#include "collab/data.h"
#include "collab/log.h"
#include "collab/text.h"

enum { MAX_WARNINGS = 5, PATH_CAP = 4096 };
enum { ROW_FAIL = -1, ROW_SKIP = 0, ROW_OK = 1 };
enum { COL_USER, COL_ITEM, COL_RATING, COL_TIME }; /* ratings files */
enum { COL_ID, COL_TITLE };                        /* items files */
enum { ENC_BYTES, ENC_UTF8, ENC_LATIN1, ENC_UTF8_OR_LATIN1 };

#define ML_CSV_HEADER "userId,movieId,rating,timestamp"

void data_options_default(DataOptions *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->format = DATA_AUTO;
    opt->header = -1;
    opt->keep_timestamps = 1;
}

/* ---------------------------------------------------------------------------- state */

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

/* The reading session: options, error status and reusable buffers. */
typedef struct ReadCtx {
    const DataOptions *opt;
    Status *st;
    const char *path;  /* the file being read, for messages */
    TextFields fields; /* of the current line */
    char *conv;        /* (cap_conv) the current line converted from Latin-1 */
    size_t cap_conv;
    size_t n_skipped; /* bad lines skipped, all files */
} ReadCtx;

/* Titles from a movies or items file, keyed by item ID. */
typedef struct Movies {
    int present;
    const char *path;
    KeyTable ids;
    char **titles; /* (ids.n) UTF-8 */
    size_t *lines; /* (ids.n) line of each ID, for duplicate messages */
    size_t cap;
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
    size_t *gaps;         /* (n_gaps) ascending lines that are not rows: header, blank,
                             skipped; row i is on the (i+1)-th line not listed */
    size_t n_gaps, cap_gaps;
    int32_t last_user; /* rows often come grouped by user: skip the lookup */
} Build;

/* Reports a bad line: with skip_bad_lines it is counted and the first MAX_WARNINGS are
 * warned about (returns ROW_SKIP), else it is the error (returns ROW_FAIL). */
static int bad_line(ReadCtx *c, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_line(ReadCtx *c, size_t line, const char *fmt, ...)
{
    char why[800];
    if (c->opt->skip_bad_lines && ++c->n_skipped > MAX_WARNINGS)
        return ROW_SKIP;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (c->opt->skip_bad_lines) {
        log_warn("%s:%zu: %s (skipped)", c->path, line, why);
        return ROW_SKIP;
    }
    status_set(c->st, STATUS_DATA, "%s:%zu: %s", c->path, line, why);
    return ROW_FAIL;
}

/* Sets an error that skip_bad_lines does not cover (the whole file is unusable): -1. */
static int file_error(ReadCtx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int file_error(ReadCtx *c, int code, const char *fmt, ...)
{
    char msg[sizeof c->st->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    status_set(c->st, code, "%s", msg);
    return -1;
}

static void build_gap(Build *b, size_t line)
{
    if (b->n_gaps == b->cap_gaps) {
        b->cap_gaps = b->cap_gaps ? 2 * b->cap_gaps : 64;
        b->gaps = xrealloc(b->gaps, b->cap_gaps * sizeof *b->gaps);
    }
    b->gaps[b->n_gaps++] = line;
}

/* Line number of row i of the ratings file. */
static size_t build_line_of(const Build *b, size_t i)
{
    size_t line = i + 1;
    for (size_t k = 0; k < b->n_gaps && b->gaps[k] <= line; k++)
        line++;
    return line;
}

static void build_push(Build *b, int32_t user, int32_t item, float rating, int64_t ts)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1 << 16;
        b->user = xrealloc(b->user, b->cap * sizeof *b->user);
        b->item = xrealloc(b->item, b->cap * sizeof *b->item);
        b->rating = xrealloc(b->rating, b->cap * sizeof *b->rating);
        if (b->keep_ts)
            b->ts = xrealloc(b->ts, b->cap * sizeof *b->ts);
    }
    b->user[b->n] = user;
    b->item[b->n] = item;
    b->rating[b->n] = rating;
    if (b->keep_ts)
        b->ts[b->n] = ts;
    b->n++;
}

static void build_free(Build *b)
{
    keytable_free(&b->users);
    keytable_free(&b->items);
    free(b->item_movie);
    free(b->user);
    free(b->item);
    free(b->rating);
    free(b->ts);
    free(b->gaps);
}

static void movies_free(Movies *m)
{
    for (size_t i = 0; i < m->ids.n; i++)
        free(m->titles[i]);
    free(m->titles);
    free(m->lines);
    keytable_free(&m->ids);
}

/* ----------------------------------------------------------------------- line checks */

/* Checks or converts the encoding of *line in place or into c->conv (ENC_*). */
static int line_decode(ReadCtx *c, int enc, size_t ln, char **line, size_t *len)
{
    if (enc == ENC_BYTES)
        return ROW_OK;
    size_t bad = text_find_invalid_utf8((const unsigned char *)*line, *len);
    if (bad == *len)
        return ROW_OK;
    if ((*line)[bad] == '\0')
        return bad_line(c, ln, "NUL byte at byte %zu (expected text)", bad + 1);
    if (enc == ENC_UTF8)
        return bad_line(c, ln,
                        "invalid UTF-8 at byte %zu (expected UTF-8 text; convert the "
                        "file, e.g. iconv -f latin1 -t utf-8)",
                        bad + 1);
    if (memchr(*line, '\0', *len))
        return bad_line(c, ln, "NUL byte (expected text)");
    if (c->cap_conv < 2 * *len + 1) {
        c->cap_conv = 2 * *len + 1;
        c->conv = xrealloc(c->conv, c->cap_conv);
    }
    *len = text_latin1_to_utf8(c->conv, *line, *len);
    *line = c->conv;
    return ROW_OK;
}

/* Splits the line into c->f and checks the number of fields against lay. */
static int line_split(ReadCtx *c, const FileLayout *lay, size_t ln, char *line, size_t len)
{
    const char *why = text_split(&c->fields, line, len, &lay->d);
    if (why)
        return bad_line(c, ln, "%s", why);
    if (lay->n_fields ? c->fields.n != lay->n_fields : c->fields.n < lay->min_fields)
        return bad_line(c, ln, "expected %s%zu fields (%s), found %zu",
                        lay->n_fields ? "" : "at least ",
                        lay->n_fields ? lay->n_fields : lay->min_fields, lay->what, c->fields.n);
    return ROW_OK;
}

/* An ID field: integers are put in canonical form (in buf, 24 bytes) so that 007 and 7
 * are one ID; other text is taken as is (DATA_DELIM) or rejected (MovieLens). */
static int id_field(ReadCtx *c, const FileLayout *lay, size_t ln, int col, char *buf,
                    TextField *key)
{
    TextField f = c->fields.f[lay->col[col]];
    int64_t v;
    if (f.len && text_parse_int64(f.s, f.len, &v) == 0) {
        if (!text_is_canonical_int(f.s, f.len))
            *key = (TextField){buf, (size_t)snprintf(buf, 24, "%lld", (long long)v)};
        else
            *key = f;
        return ROW_OK;
    }
    if (lay->int_ids)
        return bad_line(c, ln, "expected an integer %s, found %s", lay->names[col],
                        text_describe(f.s, f.len).s);
    if (f.len == 0)
        return bad_line(c, ln, "expected a value for %s, found an empty field", lay->names[col]);
    *key = f;
    return ROW_OK;
}

/* The rating field: a finite number within the layout's range. */
static int rating_field(ReadCtx *c, const FileLayout *lay, size_t ln, double *v)
{
    TextField f = c->fields.f[lay->col[COL_RATING]];
    int rc = text_parse_number(f.s, f.len, v);
    if (rc == -1)
        return bad_line(c, ln, "expected a number for %s, found %s", lay->names[COL_RATING],
                        text_describe(f.s, f.len).s);
    if (rc == -2)
        return bad_line(c, ln, "expected a finite number for %s, found %s", lay->names[COL_RATING],
                        text_describe(f.s, f.len).s);
    if (lay->has_range && (*v < lay->lo || *v > lay->hi))
        return bad_line(c, ln, "%s %s is out of range (expected %g to %g)", lay->names[COL_RATING],
                        text_show(f.s, f.len).s, lay->lo, lay->hi);
    return ROW_OK;
}

static int time_field(ReadCtx *c, const FileLayout *lay, size_t ln, int64_t *ts)
{
    *ts = 0;
    if (lay->col[COL_TIME] < 0)
        return ROW_OK;
    TextField f = c->fields.f[lay->col[COL_TIME]];
    if (text_parse_int64(f.s, f.len, ts) != 0)
        return bad_line(c, ln, "expected an integer %s, found %s", lay->names[COL_TIME],
                        text_describe(f.s, f.len).s);
    return ROW_OK;
}

/* ---------------------------------------------------------------------------- movies */

/* One line of a movies or items file: an ID and its title. */
static int movies_row(ReadCtx *c, Movies *m, const FileLayout *lay, size_t ln, char *line,
                      size_t len)
{
    char buf[24];
    TextField id, title;
    int rc = line_decode(c, lay->enc, ln, &line, &len);
    if (rc == ROW_OK)
        rc = line_split(c, lay, ln, line, len);
    if (rc == ROW_OK)
        rc = id_field(c, lay, ln, COL_ID, buf, &id);
    if (rc != ROW_OK)
        return rc;
    title = c->fields.f[lay->col[COL_TITLE]];
    if (title.len == 0)
        return bad_line(c, ln, "expected a title, found an empty field");
    int32_t k = keytable_find(&m->ids, id.s, id.len);
    if (k >= 0)
        return bad_line(c, ln, "duplicate %s '%s' (first on line %zu); each ID needs one title",
                        lay->names[COL_ID], text_show(id.s, id.len).s, m->lines[k]);
    k = keytable_intern(&m->ids, id.s, id.len);
    if ((size_t)k == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 1024;
        m->titles = xrealloc(m->titles, m->cap * sizeof *m->titles);
        m->lines = xrealloc(m->lines, m->cap * sizeof *m->lines);
    }
    m->titles[k] = xmalloc(title.len + 1);
    memcpy(m->titles[k], title.s, title.len);
    m->titles[k][title.len] = '\0';
    m->lines[k] = ln;
    return ROW_OK;
}

/* Checks a MovieLens CSV header line; other headers are only skipped. Returns 0 or -1. */
static int header_check(ReadCtx *c, const FileLayout *lay, size_t ln, const char *line, size_t len)
{
    if (!lay->expect || strcmp(line, lay->expect) == 0)
        return 0;
    return file_error(c, STATUS_DATA, "%s:%zu: expected the header '%s', found '%s'", c->path, ln,
                      lay->expect, text_show(line, len).s);
}

/* Reads a whole movies or items file into m. Returns 0 or -1 (c->st set). */
static int movies_read(ReadCtx *c, Movies *m, const FileLayout *lay, const char *path)
{
    TextReader lr;
    const char *saved = c->path;
    int seen = 0;
    m->present = 1;
    m->path = path;
    c->path = path;
    if (text_open(&lr, path, c->st) == STATUS_OK) {
        size_t len;
        char *line;
        while ((line = text_read_line(&lr, &len))) {
            if (len == 0)
                continue; /* blank lines hold no data */
            if (!seen++ && lay->header) {
                if (header_check(c, lay, lr.lineno, line, len))
                    break;
            } else if (movies_row(c, m, lay, lr.lineno, line, len) == ROW_FAIL) {
                break;
            }
        }
        if (!c->st->code && lr.error)
            status_set(c->st, STATUS_DATA, "error reading '%s': %s", path, strerror(lr.error));
        if (!c->st->code && m->ids.n == 0)
            status_set(c->st, STATUS_DATA, "%s: no titles in the file (expected lines of %s)", path,
                       lay->what);
    }
    text_close(&lr);
    c->path = saved;
    return c->st->code ? -1 : 0;
}

/* --------------------------------------------------------------------------- ratings */

/* Interns the user, reusing the previous row's index when it is the same user. */
static int32_t build_user(Build *b, TextField key)
{
    int32_t u = b->last_user;
    if (u >= 0 && b->users.lens[u] == key.len && memcmp(b->users.keys[u], key.s, key.len) == 0)
        return u;
    return b->last_user = keytable_intern(&b->users, key.s, key.len);
}

/* Interns an item ID seen for the first time and looks up its movie; with items keyed
 * by title, an ID the movies file lacks is a bad line (pandas' inner merge would drop it). */
static int build_new_item(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, size_t ln,
                          TextField key, int32_t *item)
{
    int32_t mv = m->present ? keytable_find(&m->ids, key.s, key.len) : -1;
    if (m->present && mv < 0 && c->opt->item_by_title)
        return bad_line(c, ln,
                        "%s '%s' is not in %s (items are keyed by title, so every "
                        "rated item needs one)",
                        lay->names[COL_ITEM], text_show(key.s, key.len).s, m->path);
    *item = keytable_intern(&b->items, key.s, key.len);
    if (b->cap_movie < b->items.cap) {
        b->cap_movie = b->items.cap;
        b->item_movie = xrealloc(b->item_movie, b->cap_movie * sizeof *b->item_movie);
    }
    b->item_movie[*item] = mv;
    return ROW_OK;
}

/* One line of a ratings file. */
static int ratings_row(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, size_t ln,
                       char *line, size_t len)
{
    char ubuf[24], ibuf[24];
    TextField user, item;
    double rating;
    int64_t ts;
    int rc = line_decode(c, lay->enc, ln, &line, &len);
    if (rc == ROW_OK)
        rc = line_split(c, lay, ln, line, len);
    if (rc == ROW_OK)
        rc = id_field(c, lay, ln, COL_USER, ubuf, &user);
    if (rc == ROW_OK)
        rc = id_field(c, lay, ln, COL_ITEM, ibuf, &item);
    if (rc == ROW_OK)
        rc = rating_field(c, lay, ln, &rating);
    if (rc == ROW_OK)
        rc = time_field(c, lay, ln, &ts);
    if (rc != ROW_OK)
        return rc;
    int32_t it = keytable_find(&b->items, item.s, item.len);
    if (it < 0 && (rc = build_new_item(c, b, m, lay, ln, item, &it)) != ROW_OK)
        return rc;
    build_push(b, build_user(b, user), it, (float)rating, ts);
    return ROW_OK;
}

/* Reads the ratings file's lines after its first non-blank one. Returns 0 or -1. */
static int ratings_loop(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay,
                        TextReader *lr)
{
    size_t len;
    char *line;
    while ((line = text_read_line(lr, &len))) {
        int rc = len ? ratings_row(c, b, m, lay, lr->lineno, line, len) : ROW_SKIP;
        if (rc == ROW_FAIL)
            return -1;
        if (rc == ROW_SKIP)
            build_gap(b, lr->lineno);
    }
    if (lr->error)
        status_set(c->st, STATUS_DATA, "error reading '%s': %s", c->path, strerror(lr->error));
    return lr->error ? -1 : 0;
}

/* ------------------------------------------------------------------- delimited heads */

/* Auto header: the first line is a header when the rating column there is not a number
 * (a rating column given by name can only be found in a header). */
static int delim_auto_header(const ReadCtx *c, const char *rating_spec)
{
    int64_t idx;
    double v;
    if (text_parse_int64(rating_spec, strlen(rating_spec), &idx) != 0)
        return 1;
    if (idx < 0 || (size_t)idx >= c->fields.n)
        return 0;
    return text_parse_number(c->fields.f[idx].s, c->fields.f[idx].len, &v) == -1;
}

/* Index of the column spec names (a header name, else a 0-based index); -1 with c->st set. */
static int delim_column(ReadCtx *c, const char *spec, const char *role, int header, size_t ln)
{
    int64_t idx;
    size_t n = strlen(spec);
    for (size_t j = 0; header && j < c->fields.n; j++)
        if (c->fields.f[j].len == n && memcmp(c->fields.f[j].s, spec, n) == 0)
            return (int)j;
    if (n && spec[0] >= '0' && spec[0] <= '9' && text_parse_int64(spec, n, &idx) == 0) {
        if ((size_t)idx < c->fields.n)
            return (int)idx;
        return file_error(c, STATUS_DATA,
                          "%s:%zu: the %s column index %s is out of range (the line has %zu "
                          "fields, indices 0 to %zu)",
                          c->path, ln, role, spec, c->fields.n, c->fields.n - 1);
    }
    if (header) {
        char list[300] = "";
        for (size_t j = 0; j < c->fields.n && strlen(list) < 200; j++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", j ? ", " : "",
                     text_show(c->fields.f[j].s, c->fields.f[j].len).s);
        return file_error(c, STATUS_DATA,
                          "%s:%zu: no column named '%s' (the %s column) in the header; "
                          "expected one of %s",
                          c->path, ln, spec, role, list);
    }
    return file_error(c, STATUS_USAGE,
                      "the %s column '%s' is a name, but %s has no header line; give a "
                      "0-based column index",
                      role, spec, c->path);
}

/* Resolves the columns of a delimited file from its first line (ln): fills lay's columns,
 * names and field count. Returns 1 when the line is a header, 0 when data, -1 on error. */
static int delim_head(ReadCtx *c, FileLayout *lay, char *line, size_t len, size_t ln)
{
    static const char *const role[4] = {"user", "item", "rating", "timestamp"};
    const DataOptions *o = c->opt;
    const char *spec[4] = {o->user_col ? o->user_col : "0", o->item_col ? o->item_col : "1",
                           o->rating_col ? o->rating_col : "2", o->time_col};
    size_t bad = text_find_invalid_utf8((const unsigned char *)line, len);
    const char *why = bad < len ? "invalid UTF-8 or a NUL byte (expected UTF-8 text)"
                                : text_split(&c->fields, line, len, &lay->d);
    if (why)
        return file_error(c, STATUS_DATA, "%s:%zu: %s", c->path, ln, why);
    int header = o->header >= 0 ? o->header : delim_auto_header(c, spec[COL_RATING]);
    for (int k = 0; k < 4; k++) {
        lay->col[k] = spec[k] ? delim_column(c, spec[k], role[k], header, ln) : -1;
        if (spec[k] && lay->col[k] < 0)
            return -1;
        TextField f = spec[k] ? c->fields.f[lay->col[k]] : (TextField){"", 0};
        if (header)
            snprintf(lay->names[k], sizeof lay->names[k], "%s (column '%.40s')", role[k],
                     text_show(f.s, f.len).s);
        else
            snprintf(lay->names[k], sizeof lay->names[k], "%s (column %d)", role[k], lay->col[k]);
        for (int j = 0; j < k; j++)
            if (spec[k] && lay->col[j] == lay->col[k])
                return file_error(c, STATUS_USAGE, "the %s and %s columns are both column %d of %s",
                                  role[j], role[k], lay->col[k], c->path);
    }
    char sep[3] = {lay->d.sep, '\0', '\0'};
    if (lay->d.sep == '\t')
        memcpy(sep, "\\t", 3);
    lay->n_fields = c->fields.n;
    snprintf(lay->what, sizeof lay->what, "separated by '%s', as on line %zu", sep, ln);
    return lay->header = header;
}

/* Opens the ratings file and takes its first non-blank line: a header is checked (or, for
 * a delimited file, gives the columns); a data line is copied to *first for later. */
static int ratings_open(ReadCtx *c, Build *b, FileLayout *lay, TextReader *lr, char **first,
                        size_t *first_len)
{
    size_t len;
    char *line;
    if (text_open(lr, c->path, c->st) != STATUS_OK)
        return -1;
    while ((line = text_read_line(lr, &len)) && len == 0)
        build_gap(b, lr->lineno);
    if (!line)
        return file_error(c, STATUS_DATA, "%s: %s (expected lines of %s)", c->path,
                          lr->error ? strerror(lr->error) : "the file is empty", lay->what);
    *first = xmalloc(len + 1); /* kept intact: splitting unquotes in place */
    memcpy(*first, line, len + 1);
    *first_len = len;
    int header = lay->find_columns ? delim_head(c, lay, line, len, lr->lineno) : lay->header;
    if (header < 0 || (header && header_check(c, lay, lr->lineno, *first, len)))
        return -1;
    if (header) {
        build_gap(b, lr->lineno);
        free(*first);
        *first = NULL;
    }
    return 0;
}

/* ------------------------------------------------------------------------ duplicates */

/* Rows grouped by user (CSR order), or NULL when the file already is: user indices are
 * in first-appearance order, so a file grouped by user has them non-decreasing. */
static size_t *dup_order(const Build *b)
{
    size_t i = 1;
    while (i < b->n && b->user[i] >= b->user[i - 1])
        i++;
    if (i >= b->n)
        return NULL;
    size_t *start = xcalloc(b->users.n + 1, sizeof *start), *order = xmalloc(b->n * sizeof *order);
    for (i = 0; i < b->n; i++)
        start[b->user[i] + 1]++;
    for (size_t u = 0; u < b->users.n; u++)
        start[u + 1] += start[u];
    for (i = 0; i < b->n; i++)
        order[start[b->user[i]]++] = i;
    free(start);
    return order;
}

static int dup_cmp(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Pairs (row, earlier row) of repeated (user, item ID) pairs, in file order. Returns the
 * number of pairs in *pairs (2 per pair). Within one user's rows, stamp[item] marks the
 * items already seen, so the whole check is O(n). */
static size_t dup_find(const Build *b, size_t **pairs)
{
    size_t *order = dup_order(b), n_dup = 0, cap = 0;
    int32_t *stamp = xmalloc(b->items.n * sizeof *stamp);
    size_t *seen_at = xmalloc(b->items.n * sizeof *seen_at);
    for (size_t i = 0; i < b->items.n; i++)
        stamp[i] = -1;
    *pairs = NULL;
    for (size_t k = 0; k < b->n; k++) {
        size_t row = order ? order[k] : k;
        int32_t u = b->user[row], it = b->item[row];
        if (stamp[it] != u) {
            stamp[it] = u;
            seen_at[it] = row;
            continue;
        }
        if (n_dup == cap) {
            cap = cap ? 2 * cap : 16;
            *pairs = xrealloc(*pairs, 2 * cap * sizeof **pairs);
        }
        (*pairs)[2 * n_dup] = row;
        (*pairs)[2 * n_dup++ + 1] = seen_at[it];
    }
    if (order && n_dup > 1)
        qsort(*pairs, n_dup, 2 * sizeof **pairs, dup_cmp);
    free(order);
    free(stamp);
    free(seen_at);
    return n_dup;
}

/* Reports repeated (user, item ID) pairs: the first is the error, or with skip_bad_lines
 * every later occurrence is skipped (marked in drop). Returns 0 or -1. */
static int dup_check(ReadCtx *c, const Build *b, const FileLayout *lay, uint8_t *drop)
{
    size_t *pairs;
    size_t n_dup = dup_find(b, &pairs);
    for (size_t k = 0; k < n_dup; k++) {
        size_t row = pairs[2 * k], prev = pairs[2 * k + 1];
        const char *u = b->users.keys[b->user[row]], *it = b->items.keys[b->item[row]];
        drop[row] = 1;
        if (c->opt->skip_bad_lines && c->n_skipped >= MAX_WARNINGS) {
            c->n_skipped++; /* only counted: spare the line-number lookups */
            continue;
        }
        if (bad_line(c, build_line_of(b, row),
                     "duplicate rating of %s '%s' by %s '%s' (first on line %zu); each user may "
                     "rate an item once",
                     lay->names[COL_ITEM], text_show(it, strlen(it)).s, lay->names[COL_USER],
                     text_show(u, strlen(u)).s, build_line_of(b, prev)) == ROW_FAIL)
            break;
    }
    free(pairs);
    return c->st->code ? -1 : 0;
}

/* Removes the rows marked in drop, keeping file order. */
static void build_compact(Build *b, const uint8_t *drop)
{
    size_t o = 0;
    for (size_t i = 0; i < b->n; i++)
        if (!drop[i]) {
            b->user[o] = b->user[i];
            b->item[o] = b->item[i];
            b->rating[o] = b->rating[i];
            if (b->keep_ts)
                b->ts[o] = b->ts[i];
            o++;
        }
    b->n = o;
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

/* Which files to read, in which format. */
typedef struct Source {
    DataFormat format;
    char ratings[PATH_CAP];
    char items[PATH_CAP]; /* "" when there is none */
    int items_optional;   /* a MovieLens movies file may be absent when items are IDs */
    int whole_stars;      /* MovieLens 1M (users.dat beside ratings.dat): ratings 1 to 5 */
} Source;

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

static int source_resolve(Source *src, const DataOptions *opt, Status *st)
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

static void layout_ratings(FileLayout *lay, const Source *src, const DataOptions *opt)
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

/* header: whether the ratings file had one (DATA_DELIM items files follow it in auto). */
static void layout_items(FileLayout *lay, const Source *src, const DataOptions *opt, int header)
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
    int rc = ratings_open(c, b, lay, &lr, &first, &first_len);
    first_ln = lr.lineno;
    layout_items(&ilay, src, c->opt, lay->header);
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
    uint8_t *drop = xcalloc(b->n, 1);
    int rc = dup_check(c, b, lay, drop);
    if (rc == 0 && c->n_skipped)
        build_compact(b, drop);
    free(drop);
    if (rc == 0 && c->n_skipped)
        log_warn("skipped %zu bad line%s while reading %s%s%s%s", c->n_skipped,
                 c->n_skipped > 1 ? "s" : "", src->ratings, src->items[0] ? " and " : "",
                 src->items, c->n_skipped > MAX_WARNINGS ? " (the first 5 are shown above)" : "");
    if (rc == 0 && b->n == 0 && c->n_skipped)
        rc = file_error(c, STATUS_DATA, "%s: no ratings left after skipping %zu bad line%s",
                        src->ratings, c->n_skipped, c->n_skipped > 1 ? "s" : "");
    else if (rc == 0 && b->n == 0)
        rc = file_error(c, STATUS_DATA, "%s: no ratings after the header line", src->ratings);
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
    memset(&b, 0, sizeof b);
    memset(&m, 0, sizeof m);
    b.last_user = -1;
    b.keep_ts = opt->keep_timestamps;
    status_clear(st);
    if (source_resolve(&src, opt, st) == STATUS_OK) {
        layout_ratings(&lay, &src, opt);
        if (read_files(&c, &b, &m, &src, &lay) == 0 && read_checks(&c, &b, &lay, &src) == 0) {
            build_finish(&b, &m, opt->item_by_title, r);
            r->n_skipped = c.n_skipped;
            snprintf(r->source, sizeof r->source, "%.511s", src.ratings);
        }
    }
    build_free(&b);
    movies_free(&m);
    text_free_fields(&c.fields);
    free(c.conv);
    return st->code;
}
