/* reader.c - the line-level reading machinery shared by the serial reader (data.c) and
 * the parallel one (pread.c): bad-line reporting, field checks, the items file, one
 * ratings line into a row, the head of a ratings file, and duplicate detection.
 *
 * One pass per file: lines come from a TextReader (a whole file or a byte range), fields
 * are parsed by hand (text.c) and keys interned in hash tables, so reading is O(bytes).
 * Every bad line is an error naming file, line and expectation, or (skip_bad_lines) a
 * counted warning. */
#include "config.h"

#include "collab/data/reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/base/check.h"
#include "collab/base/log.h"

/* ------------------------------------------------------------------------- reporting */

int reader_bad_line(ReadCtx *c, size_t line, const char *fmt, ...)
{
    char why[800];
    const int skip = c->opt->skip_bad_lines;
    if (skip && ++c->n_skipped > MAX_WARNINGS && !c->collect)
        return ROW_SKIP;
    if (skip && c->collect && c->n_kept >= MAX_WARNINGS)
        return ROW_SKIP; /* rank 0 prints at most MAX_WARNINGS of the whole file */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (skip && c->collect) {
        snprintf(c->kept[c->n_kept++], sizeof c->kept[0], "%s:%zu: %s (skipped)", c->path, line,
                 why);
        return ROW_SKIP;
    }
    if (skip) {
        log_warn("%s:%zu: %s (skipped)", c->path, line, why);
        return ROW_SKIP;
    }
    status_set(c->st, STATUS_DATA, "%s:%zu: %s", c->path, line, why);
    return ROW_FAIL;
}

int reader_file_error(ReadCtx *c, int code, const char *fmt, ...)
{
    char msg[sizeof c->st->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    status_set(c->st, code, "%s", msg);
    return -1;
}

void reader_free(ReadCtx *c)
{
    text_free_fields(&c->fields);
    free(c->conv);
    c->conv = NULL;
    c->cap_conv = 0;
}

int reader_summary(ReadCtx *c, const Source *src, size_t n_rows)
{
    if (c->n_skipped)
        log_warn("skipped %zu bad line%s while reading %s%s%s%s", c->n_skipped,
                 c->n_skipped > 1 ? "s" : "", src->ratings, src->items[0] ? " and " : "",
                 src->items, c->n_skipped > MAX_WARNINGS ? " (the first 5 are shown above)" : "");
    if (n_rows == 0 && c->n_skipped)
        return reader_file_error(c, STATUS_DATA,
                                 "%s: no ratings left after skipping %zu bad line%s", src->ratings,
                                 c->n_skipped, c->n_skipped > 1 ? "s" : "");
    if (n_rows == 0)
        return reader_file_error(c, STATUS_DATA, "%s: no ratings after the header line",
                                 src->ratings);
    return 0;
}

/* ------------------------------------------------------------------------------ rows */

void build_init(Build *b, int keep_ts, size_t first_line)
{
    memset(b, 0, sizeof *b);
    b->keep_ts = keep_ts;
    b->first_line = first_line;
    b->last_user = -1;
}

void build_gap(Build *b, size_t line)
{
    if (b->n_gaps == b->cap_gaps) {
        b->cap_gaps = b->cap_gaps ? 2 * b->cap_gaps : 64;
        b->gaps = xrealloc(b->gaps, b->cap_gaps * sizeof *b->gaps);
    }
    b->gaps[b->n_gaps++] = line;
}

size_t build_line_of(const Build *b, size_t i)
{
    size_t line = b->first_line + i;
    for (size_t k = 0; k < b->n_gaps && b->gaps[k] <= line; k++)
        line++;
    return line;
}

void build_reserve(Build *b, size_t cap)
{
    if (cap <= b->cap)
        return;
    b->cap = cap;
    b->user = xrealloc(b->user, b->cap * sizeof *b->user);
    b->item = xrealloc(b->item, b->cap * sizeof *b->item);
    b->rating = xrealloc(b->rating, b->cap * sizeof *b->rating);
    if (b->keep_ts)
        b->ts = xrealloc(b->ts, b->cap * sizeof *b->ts);
}

static void build_push(Build *b, int32_t user, int32_t item, float rating, int64_t ts)
{
    if (b->n == b->cap)
        build_reserve(b, b->cap ? 2 * b->cap : 1 << 16);
    b->user[b->n] = user;
    b->item[b->n] = item;
    b->rating[b->n] = rating;
    if (b->keep_ts)
        b->ts[b->n] = ts;
    b->n++;
}

void build_free(Build *b)
{
    keytable_free(&b->users);
    keytable_free(&b->items);
    free(b->item_movie);
    free(b->user);
    free(b->item);
    free(b->rating);
    free(b->ts);
    free(b->gaps);
    free(b->by_int[0]);
    free(b->by_int[1]);
}

void movies_free(Movies *m)
{
    free(m->by_int);
    for (size_t i = 0; i < m->ids.n; i++)
        free(m->titles[i]);
    free(m->titles);
    free(m->lines);
    keytable_free(&m->ids);
}

void build_drop(Build *b, const size_t *drop, size_t n_drop)
{
    size_t o = 0, k = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (k < n_drop && drop[k] == i) {
            k++;
            continue;
        }
        b->user[o] = b->user[i];
        b->item[o] = b->item[i];
        b->rating[o] = b->rating[i];
        if (b->keep_ts)
            b->ts[o] = b->ts[i];
        o++;
    }
    b->n = o;
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
        return reader_bad_line(c, ln, "NUL byte at byte %zu (expected text)", bad + 1);
    if (enc == ENC_UTF8)
        return reader_bad_line(c, ln,
                               "invalid UTF-8 at byte %zu (expected UTF-8 text; convert the "
                               "file, e.g. iconv -f latin1 -t utf-8)",
                               bad + 1);
    if (memchr(*line, '\0', *len))
        return reader_bad_line(c, ln, "NUL byte (expected text)");
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
        return reader_bad_line(c, ln, "%s", why);
    if (lay->n_fields ? c->fields.n != lay->n_fields : c->fields.n < lay->min_fields)
        return reader_bad_line(
            c, ln, "expected %s%zu fields (%s), found %zu", lay->n_fields ? "" : "at least ",
            lay->n_fields ? lay->n_fields : lay->min_fields, lay->what, c->fields.n);
    return ROW_OK;
}

/* An ID field: integers are put in canonical form (in buf, 24 bytes) so that 007 and 7
 * are one ID; other text is taken as is (DATA_DELIM) or rejected (MovieLens). *num
 * (NULL: not wanted) gets the integer, or -1 when the ID is not a non-negative one. */
static int id_field(ReadCtx *c, const FileLayout *lay, size_t ln, int col, char *buf,
                    TextField *key, int64_t *num)
{
    TextField f = c->fields.f[lay->col[col]];
    int64_t v;
    if (num)
        *num = -1;
    if (f.len && text_parse_int64(f.s, f.len, &v) == 0) {
        if (num)
            *num = v;
        if (!text_is_canonical_int(f.s, f.len))
            *key = (TextField){buf, (size_t)snprintf(buf, 24, "%lld", (long long)v)};
        else
            *key = f;
        return ROW_OK;
    }
    if (lay->int_ids)
        return reader_bad_line(c, ln, "expected an integer %s, found %s", lay->names[col],
                               text_describe(f.s, f.len).s);
    if (f.len == 0)
        return reader_bad_line(c, ln, "expected a value for %s, found an empty field",
                               lay->names[col]);
    *key = f;
    return ROW_OK;
}

/* The rating field: a finite number within the layout's range. */
static int rating_field(ReadCtx *c, const FileLayout *lay, size_t ln, double *v)
{
    TextField f = c->fields.f[lay->col[COL_RATING]];
    int rc = text_parse_number(f.s, f.len, v);
    if (rc == -1)
        return reader_bad_line(c, ln, "expected a number for %s, found %s", lay->names[COL_RATING],
                               text_describe(f.s, f.len).s);
    if (rc == -2)
        return reader_bad_line(c, ln, "expected a finite number for %s, found %s",
                               lay->names[COL_RATING], text_describe(f.s, f.len).s);
    if (lay->has_range && (*v < lay->lo || *v > lay->hi))
        return reader_bad_line(c, ln, "%s %s is out of range (expected %g to %g)",
                               lay->names[COL_RATING], text_show(f.s, f.len).s, lay->lo, lay->hi);
    return ROW_OK;
}

static int time_field(ReadCtx *c, const FileLayout *lay, size_t ln, int64_t *ts)
{
    *ts = 0;
    if (lay->col[COL_TIME] < 0)
        return ROW_OK;
    TextField f = c->fields.f[lay->col[COL_TIME]];
    if (text_parse_int64(f.s, f.len, ts) != 0)
        return reader_bad_line(c, ln, "expected an integer %s, found %s", lay->names[COL_TIME],
                               text_describe(f.s, f.len).s);
    return ROW_OK;
}

/* ---------------------------------------------------------------------------- movies */

static int64_t simple_id(const char *s, size_t len);

int32_t movies_find(const Movies *m, const char *id, size_t len)
{
    const int64_t v = simple_id(id, len);
    if (v >= 0 && v < (1 << 26)) /* every such ID of m is in by_int */
        return (uint64_t)v < m->cap_int ? m->by_int[v] - 1 : -1;
    return keytable_find(&m->ids, id, len);
}

/* Records integer ID text id (when it is one, below 2^26) as movie k in m->by_int. */
static void movies_put_int(Movies *m, const char *id, size_t len, int32_t k)
{
    const int64_t v = simple_id(id, len);
    if (v < 0 || v >= (1 << 26))
        return;
    if ((uint64_t)v >= m->cap_int) {
        size_t cap = m->cap_int ? m->cap_int : 1024;
        while (cap <= (uint64_t)v)
            cap *= 2;
        m->by_int = xrealloc(m->by_int, cap * sizeof *m->by_int);
        memset(m->by_int + m->cap_int, 0, (cap - m->cap_int) * sizeof *m->by_int);
        m->cap_int = cap;
    }
    m->by_int[v] = k + 1;
}

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
        rc = id_field(c, lay, ln, COL_ID, buf, &id, NULL);
    if (rc != ROW_OK)
        return rc;
    title = c->fields.f[lay->col[COL_TITLE]];
    if (title.len == 0)
        return reader_bad_line(c, ln, "expected a title, found an empty field");
    int32_t k = movies_find(m, id.s, id.len);
    if (k >= 0)
        return reader_bad_line(c, ln,
                               "duplicate %s '%s' (first on line %zu); each ID needs one title",
                               lay->names[COL_ID], text_show(id.s, id.len).s, m->lines[k]);
    k = keytable_intern(&m->ids, id.s, id.len);
    movies_put_int(m, id.s, id.len, k);
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
    return reader_file_error(c, STATUS_DATA, "%s:%zu: expected the header '%s', found '%s'",
                             c->path, ln, lay->expect, text_show(line, len).s);
}

/* Reads a whole movies or items file into m. Returns 0 or -1 (c->st set). */
int movies_read(ReadCtx *c, Movies *m, const FileLayout *lay, const char *path)
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

enum { BY_INT_MAX = 1 << 26 }; /* integer IDs up to 64 Mi go through by_int */

/* The key index of integer ID v (0 <= v) of kind k (0 users, 1 items), or -1 when not
 * known here (not seen yet, or too large for the array). */
static int32_t build_int_find(const Build *b, int k, int64_t v)
{
    return v >= 0 && (uint64_t)v < b->cap_int[k] ? b->by_int[k][v] - 1 : -1;
}

/* Records that integer ID v (when >= 0 and not too large) has key index i. */
static void build_int_put(Build *b, int k, int64_t v, int32_t i)
{
    if (v < 0 || v >= BY_INT_MAX)
        return;
    if ((uint64_t)v >= b->cap_int[k]) {
        size_t cap = b->cap_int[k] ? b->cap_int[k] : 1024;
        while (cap <= (uint64_t)v)
            cap *= 2;
        b->by_int[k] = xrealloc(b->by_int[k], cap * sizeof *b->by_int[k]);
        memset(b->by_int[k] + b->cap_int[k], 0, (cap - b->cap_int[k]) * sizeof *b->by_int[k]);
        b->cap_int[k] = cap;
    }
    b->by_int[k][v] = i + 1;
}

/* Interns the user, reusing the previous row's index when it is the same user. */
static int32_t build_user(Build *b, TextField key, int64_t num)
{
    int32_t u = b->last_user;
    if (u >= 0 && b->users.lens[u] == key.len && memcmp(b->users.keys[u], key.s, key.len) == 0)
        return u;
    if ((u = build_int_find(b, 0, num)) >= 0)
        return b->last_user = u;
    u = keytable_intern(&b->users, key.s, key.len);
    build_int_put(b, 0, num, u);
    return b->last_user = u;
}

/* Interns an item ID seen for the first time and looks up its movie; with items keyed
 * by title, an ID the movies file lacks is a bad line (pandas' inner merge would drop it). */
static int build_new_item(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, size_t ln,
                          TextField key, int32_t *item)
{
    int32_t mv = m->present ? movies_find(m, key.s, key.len) : -1;
    if (m->present && mv < 0 && c->opt->item_by_title)
        return reader_bad_line(c, ln,
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

/* The row of a line whose fields are checked: the item and user keys are interned (by
 * integer value when they are non-negative integers, num >= 0) and the row is pushed. */
static int row_finish(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, size_t ln,
                      TextField user, int64_t unum, TextField item, int64_t inum, double rating,
                      int64_t ts)
{
    int32_t it = build_int_find(b, 1, inum);
    /* An integer ID below BY_INT_MAX that by_int lacks is new: no hash lookup. */
    if (it < 0 && !(inum >= 0 && inum < BY_INT_MAX))
        it = keytable_find(&b->items, item.s, item.len);
    if (it < 0) {
        int rc = build_new_item(c, b, m, lay, ln, item, &it);
        if (rc != ROW_OK)
            return rc;
        build_int_put(b, 1, inum, it);
    }
    build_push(b, build_user(b, user, unum), it, (float)rating, ts);
    return ROW_OK;
}

/* A non-negative integer written as it prints ("0", "42"; not "007", "+4", " 4" or 19
 * digits and more), or -1. */
static int64_t simple_id(const char *s, size_t len)
{
    if (len == 0 || len > 18 || (s[0] == '0' && len > 1))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9)
            return -1;
        v = 10 * v + d;
    }
    return v;
}

enum { SIMPLE_FIELDS = 16 };

/* A plain decimal ("4", "3.5": digits and at most one '.', at most 15 digits, no sign
 * or spaces) as text_parse_number computes it (m / 10^k, exact operands, one rounding);
 * 0 when the text is not that plain, so that text_parse_number decides. */
static int simple_decimal(const char *s, size_t len, double *out)
{
    static const double pow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    uint64_t m = 0;
    int dot = 0, digits = 0, frac = 0;
    for (size_t i = 0; i < len; i++) {
        const unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d <= 9)
            m = 10 * m + d, digits++, frac += dot;
        else if (s[i] == '.' && !dot)
            dot = 1;
        else
            return 0;
    }
    if (digits == 0 || digits > 15)
        return 0;
    *out = (double)m / pow10[frac];
    return 1;
}

/* The nf fields of a simple line (ASCII without NUL, no quotes when d quotes, a one-byte
 * separator) into f, 8 bytes at a time with exact per-byte tests. Returns 0 when the
 * line is not simple or has another number of fields, else 1. */
static int simple_fields(TextField *f, size_t nf, const char *line, size_t len,
                         const TextDialect *d)
{
    const uint64_t ones = 0x0101010101010101ULL, low7 = 0x7F7F7F7F7F7F7F7FULL;
    const uint64_t sep = ones * (unsigned char)d->sep, quote = ones * '"';
    size_t k = 0, at = 0, i = 0;
    for (; i < len; i += 8) {
        uint64_t w = 0, seps;
        memcpy(&w, line + i, len - i < 8 ? len - i : 8);
        if (len - i < 8) /* pad the tail with a byte that matches nothing */
            w |= ~(uint64_t)0 << (8 * (len - i)) & (ones * 'a');
        const uint64_t z = ~(((w & low7) + low7) | w | low7);
        const uint64_t q = ~((((w ^ quote) & low7) + low7) | (w ^ quote) | low7);
        if ((w & ~low7) || z || (d->quotes && q))
            return 0; /* not ASCII, a NUL, or a quote */
        seps = ~((((w ^ sep) & low7) + low7) | (w ^ sep) | low7);
        for (; seps; seps &= seps - 1) {
            const size_t at_sep = i + (size_t)__builtin_ctzll(seps) / 8;
            if (k + 1 >= nf)
                return 0;
            f[k++] = (TextField){(char *)line + at, at_sep - at};
            at = at_sep + 1;
        }
    }
    f[k++] = (TextField){(char *)line + at, len - at};
    return k == nf;
}

/* The fast path for the common line: a simple line (simple_fields) with the expected
 * number of fields, IDs that are integers as they print, and a rating and time the
 * checks of the general path accept; then its outcome is the general path's. Returns 1
 * with *rc set when it took the line, 0 when the general path must. */
static int row_simple(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, size_t ln,
                      const char *line, size_t len, int *rc)
{
    TextField f[SIMPLE_FIELDS];
    const size_t nf = lay->n_fields;
    if (lay->d.dcolon || nf == 0 || nf > SIMPLE_FIELDS || !simple_fields(f, nf, line, len, &lay->d))
        return 0;
    const TextField user = f[lay->col[COL_USER]], item = f[lay->col[COL_ITEM]];
    const TextField r = f[lay->col[COL_RATING]];
    const int64_t unum = simple_id(user.s, user.len), inum = simple_id(item.s, item.len);
    double rating;
    int64_t ts = 0;
    if (unum < 0 || inum < 0 ||
        (!simple_decimal(r.s, r.len, &rating) && text_parse_number(r.s, r.len, &rating) != 0) ||
        (lay->has_range && (rating < lay->lo || rating > lay->hi)))
        return 0;
    const TextField t = lay->col[COL_TIME] >= 0 ? f[lay->col[COL_TIME]] : (TextField){NULL, 0};
    if (t.s && (ts = simple_id(t.s, t.len)) < 0 && text_parse_int64(t.s, t.len, &ts) != 0)
        return 0;
    *rc = row_finish(c, b, m, lay, ln, user, unum, item, inum, rating, ts);
    return 1;
}

/* One line of a ratings file. */
int ratings_row(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, size_t ln, char *line,
                size_t len)
{
    char ubuf[24], ibuf[24];
    TextField user, item;
    double rating;
    int64_t ts, unum, inum;
    int rc;
    if (row_simple(c, b, m, lay, ln, line, len, &rc))
        return rc;
    rc = line_decode(c, lay->enc, ln, &line, &len);
    if (rc == ROW_OK)
        rc = line_split(c, lay, ln, line, len);
    if (rc == ROW_OK)
        rc = id_field(c, lay, ln, COL_USER, ubuf, &user, &unum);
    if (rc == ROW_OK)
        rc = id_field(c, lay, ln, COL_ITEM, ibuf, &item, &inum);
    if (rc == ROW_OK)
        rc = rating_field(c, lay, ln, &rating);
    if (rc == ROW_OK)
        rc = time_field(c, lay, ln, &ts);
    if (rc != ROW_OK)
        return rc;
    return row_finish(c, b, m, lay, ln, user, unum, item, inum, rating, ts);
}

/* Reads the ratings file's lines after its first non-blank one. Returns 0 or -1. */
int ratings_loop(ReadCtx *c, Build *b, const Movies *m, const FileLayout *lay, TextReader *lr)
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
        return reader_file_error(c, STATUS_DATA,
                                 "%s:%zu: the %s column index %s is out of range (the line has %zu "
                                 "fields, indices 0 to %zu)",
                                 c->path, ln, role, spec, c->fields.n, c->fields.n - 1);
    }
    if (header) {
        char list[300] = "";
        for (size_t j = 0; j < c->fields.n && strlen(list) < 200; j++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", j ? ", " : "",
                     text_show(c->fields.f[j].s, c->fields.f[j].len).s);
        return reader_file_error(c, STATUS_DATA,
                                 "%s:%zu: no column named '%s' (the %s column) in the header; "
                                 "expected one of %s",
                                 c->path, ln, spec, role, list);
    }
    return reader_file_error(c, STATUS_USAGE,
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
        return reader_file_error(c, STATUS_DATA, "%s:%zu: %s", c->path, ln, why);
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
                return reader_file_error(c, STATUS_USAGE,
                                         "the %s and %s columns are both column %d of %s", role[j],
                                         role[k], lay->col[k], c->path);
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
int ratings_head(ReadCtx *c, Build *b, FileLayout *lay, TextReader *lr, char **first,
                 size_t *first_len)
{
    size_t len;
    char *line;
    if (text_open(lr, c->path, c->st) != STATUS_OK)
        return -1;
    while ((line = text_read_line(lr, &len)) && len == 0)
        if (b)
            build_gap(b, lr->lineno);
    if (!line)
        return reader_file_error(c, STATUS_DATA, "%s: %s (expected lines of %s)", c->path,
                                 lr->error ? strerror(lr->error) : "the file is empty", lay->what);
    *first = xmalloc(len + 1); /* kept intact: splitting unquotes in place */
    memcpy(*first, line, len + 1);
    *first_len = len;
    int header = lay->find_columns ? delim_head(c, lay, line, len, lr->lineno) : lay->header;
    if (header < 0 || (header && header_check(c, lay, lr->lineno, *first, len)))
        return -1;
    if (header) {
        if (b)
            build_gap(b, lr->lineno);
        free(*first);
        *first = NULL;
    }
    return 0;
}

/* ------------------------------------------------------------------------ duplicates */

/* The rows considered (user not in skip) grouped by user (CSR order), or NULL when they
 * already are: user indices in first-appearance order make a file grouped by user
 * non-decreasing. *m gets the number of rows considered. */
static size_t *dup_order(size_t *m, const int32_t *user, size_t n, size_t n_users,
                         const uint8_t *skip)
{
    int32_t last = -1;
    size_t i, count = 0;
    for (i = 0; i < n; i++) {
        if (skip && skip[user[i]])
            continue;
        if (user[i] < last)
            break;
        last = user[i];
        count++;
    }
    *m = count;
    if (i >= n)
        return NULL;
    size_t *start = xcalloc(n_users + 1, sizeof *start);
    for (i = 0, count = 0; i < n; i++)
        if (!(skip && skip[user[i]]))
            start[user[i] + 1]++, count++;
    for (size_t u = 0; u < n_users; u++)
        start[u + 1] += start[u];
    size_t *order = xmalloc((count ? count : 1) * sizeof *order);
    for (i = 0; i < n; i++)
        if (!(skip && skip[user[i]]))
            order[start[user[i]]++] = i;
    free(start);
    *m = count;
    return order;
}

static int dup_cmp(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

size_t rows_find_dups(size_t **pairs, const int32_t *user, const int32_t *item, size_t n,
                      size_t n_users, size_t n_items, const uint8_t *skip_user)
{
    /* Within one user's rows, stamp[item] marks the items already seen (with the row in
     * seen_at), so the whole check is O(n). */
    size_t m, n_dup = 0, cap = 0;
    size_t *order = dup_order(&m, user, n, n_users, skip_user);
    int32_t *stamp = xmalloc((n_items ? n_items : 1) * sizeof *stamp);
    size_t *seen_at = xmalloc((n_items ? n_items : 1) * sizeof *seen_at);
    for (size_t i = 0; i < n_items; i++)
        stamp[i] = -1;
    *pairs = NULL;
    for (size_t k = 0, j = 0; k < m; k++, j++) {
        while (!order && skip_user && skip_user[user[j]])
            j++;
        size_t row = order ? order[k] : j;
        int32_t u = user[row], it = item[row];
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
