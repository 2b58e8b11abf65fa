/* pairs.c - reading the (user, item) lines of `predict`: MovieLens files through data_read,
 * delimited files with the same column options but no rating column. */
#include "config.h"

#include "collab/use/pairs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collab/base/check.h"
#include "collab/base/log.h"
#include "collab/data/keys.h"
#include "collab/data/text.h"

enum { MAX_WARNINGS = 5 };

/* The state of one delimited read. */
typedef struct PairsRead {
    const DataOptions *opt;
    Status *st;
    TextDialect d;
    TextFields fields;
    int col[2];        /* user, item column */
    char names[2][64]; /* "user (column 0)" or "user (column 'userId')", for messages */
    KeyTable users, items;
    size_t n, cap;
    int32_t *user, *item; /* (n) key indices */
    size_t n_skipped;
} PairsRead;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* 1 when data_read should read path: a MovieLens format given or detected the way data.c
 * detects it (a folder, u.data, *.dat, or a CSV with the MovieLens header). */
static int is_movielens(const DataOptions *opt)
{
    struct stat sb;
    if (opt->format != DATA_AUTO)
        return opt->format != DATA_DELIM;
    if (stat(opt->path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return 1;
    const char *base = strrchr(opt->path, '/') ? strrchr(opt->path, '/') + 1 : opt->path;
    if (!strcmp(base, "u.data") || ends_with(base, ".dat"))
        return 1;
    char head[40] = "";
    FILE *f = ends_with(base, ".csv") ? fopen(opt->path, "rb") : NULL;
    if (f) {
        size_t got = fread(head, 1, sizeof head - 1, f);
        head[got] = '\0';
        fclose(f);
    }
    const char *h = strncmp(head, "\xEF\xBB\xBF", 3) == 0 ? head + 3 : head;
    return strncmp(h, "userId,movieId,rating,timestamp", 31) == 0;
}

/* A bad line: the error, or with skip_bad_lines a warning (the first few) and a skip.
 * Returns 1 to skip the line, -1 to stop. */
static int pairs_bad(PairsRead *p, size_t ln, const char *why, const char *what)
{
    if (p->opt->skip_bad_lines) {
        if (++p->n_skipped <= MAX_WARNINGS)
            log_warn("%s:%zu: %s%s (skipped)", p->opt->path, ln, why, what);
        return 1;
    }
    status_set(p->st, STATUS_DATA, "%s:%zu: %s%s", p->opt->path, ln, why, what);
    return -1;
}

/* Resolves a column spec (header name or 0-based index) against the first line. */
static int pairs_column(PairsRead *p, const char *spec, int header, size_t ln)
{
    int64_t idx;
    const size_t n = strlen(spec);
    for (size_t j = 0; header && j < p->fields.n; j++)
        if (p->fields.f[j].len == n && memcmp(p->fields.f[j].s, spec, n) == 0)
            return (int)j;
    if (text_parse_int64(spec, n, &idx) == 0 && idx >= 0 && (size_t)idx < p->fields.n)
        return (int)idx;
    status_set(p->st, STATUS_DATA,
               "%s:%zu: no column '%s' (the line has %zu fields%s); give "
               "--user-col/--item-col as a header name or a 0-based index",
               p->opt->path, ln, spec, p->fields.n, header ? " and is a header" : "");
    return -1;
}

/* The first line: header or data, and the columns. Returns 1 header, 0 data, -1 error. */
static int pairs_head(PairsRead *p, char *line, size_t len, size_t ln, int users_numeric)
{
    const char *spec[2] = {p->opt->user_col ? p->opt->user_col : "0",
                           p->opt->item_col ? p->opt->item_col : "1"};
    static const char *const role[2] = {"user", "item"};
    char *copy = xmalloc(len + 1);
    memcpy(copy, line, len + 1); /* splitting unquotes in place: keep the line intact */
    const char *why = text_split(&p->fields, copy, len, &p->d);
    int header = p->opt->header, rc = 0;
    int64_t v;
    if (why) {
        rc = -1;
        status_set(p->st, STATUS_DATA, "%s:%zu: %s", p->opt->path, ln, why);
    } else if (header < 0) {
        int named = text_parse_int64(spec[0], strlen(spec[0]), &v) != 0 ||
                    text_parse_int64(spec[1], strlen(spec[1]), &v) != 0;
        int col0 = named ? 0 : (int)strtol(spec[0], NULL, 10);
        header = named || (users_numeric && (size_t)col0 < p->fields.n &&
                           text_parse_int64(p->fields.f[col0].s, p->fields.f[col0].len, &v) != 0);
    }
    for (int c = 0; c < 2 && rc == 0; c++) {
        p->col[c] = pairs_column(p, spec[c], header, ln);
        rc = p->col[c] < 0 ? -1 : 0;
        if (rc == 0 && header)
            snprintf(p->names[c], sizeof p->names[c], "%s (column '%.30s')", role[c], spec[c]);
        else if (rc == 0)
            snprintf(p->names[c], sizeof p->names[c], "%s (column %d)", role[c], p->col[c]);
    }
    if (rc == 0 && p->col[0] == p->col[1]) {
        status_set(p->st, STATUS_USAGE, "the user and item columns are both column %d of %s",
                   p->col[0], p->opt->path);
        rc = -1;
    }
    free(copy);
    return rc < 0 ? -1 : header;
}

/* A key field: integers in canonical form (buf holds 24 bytes), other text as is. */
static TextField pairs_key(TextField f, char *buf)
{
    int64_t v;
    if (f.len && text_parse_int64(f.s, f.len, &v) == 0 && !text_is_canonical_int(f.s, f.len))
        return (TextField){buf, (size_t)snprintf(buf, 24, "%lld", (long long)v)};
    return f;
}

/* One data line. Returns 0 kept, 1 skipped, -1 error. */
static int pairs_line(PairsRead *p, char *line, size_t len, size_t ln)
{
    char ubuf[24], ibuf[24], what[160];
    if (text_find_invalid_utf8((const unsigned char *)line, len) < len)
        return pairs_bad(p, ln, "invalid UTF-8 or a NUL byte (expected UTF-8 text)", "");
    const char *why = text_split(&p->fields, line, len, &p->d);
    if (why)
        return pairs_bad(p, ln, why, "");
    const size_t need = (size_t)(p->col[0] > p->col[1] ? p->col[0] : p->col[1]) + 1;
    if (p->fields.n < need) {
        char sep[3] = {p->d.sep, '\0', '\0'};
        if (p->d.sep == '\t')
            memcpy(sep, "\\t", 3);
        snprintf(what, sizeof what,
                 "expected at least %zu fields (user, item separated by "
                 "'%s'), found %zu",
                 need, sep, p->fields.n);
        return pairs_bad(p, ln, what, "");
    }
    for (int c = 0; c < 2; c++)
        if (p->fields.f[p->col[c]].len == 0) {
            snprintf(what, sizeof what, "%s, found an empty field", p->names[c]);
            return pairs_bad(p, ln, "expected a value for ", what);
        }
    TextField u = pairs_key(p->fields.f[p->col[0]], ubuf);
    TextField i = pairs_key(p->fields.f[p->col[1]], ibuf);
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->user = xrealloc(p->user, p->cap * sizeof(int32_t));
        p->item = xrealloc(p->item, p->cap * sizeof(int32_t));
    }
    p->user[p->n] = keytable_intern(&p->users, u.s, u.len);
    p->item[p->n++] = keytable_intern(&p->items, i.s, i.len);
    return 0;
}

/* Moves the rows and keys into r. */
static void pairs_finish(PairsRead *p, Ratings *r)
{
    r->n = p->n;
    r->user = p->user;
    r->item = p->item;
    r->rating = xcalloc(p->n ? p->n : 1, sizeof(float));
    r->user_keys = keytable_release(&p->users, &r->n_user_keys);
    r->item_keys = keytable_release(&p->items, &r->n_item_keys);
    r->n_skipped = p->n_skipped;
    snprintf(r->source, sizeof r->source, "%.511s", p->opt->path);
    p->user = p->item = NULL;
}

static int read_delimited(Ratings *r, const DataOptions *opt, int users_numeric, Status *st)
{
    PairsRead p = {.opt = opt, .st = st};
    TextReader tr;
    keytable_init(&p.users);
    keytable_init(&p.items);
    p.d = (TextDialect){opt->sep ? opt->sep : ends_with(opt->path, ".csv") ? ',' : '\t', 0, 1};
    int first = 1, rc = 0;
    if (text_open(&tr, opt->path, st) == STATUS_OK) {
        size_t len;
        char *line;
        while (rc >= 0 && (line = text_read_line(&tr, &len))) {
            if (len == 0)
                continue;
            if (first) {
                first = 0;
                rc = pairs_head(&p, line, len, tr.lineno, users_numeric);
                if (rc != 0)
                    continue; /* a header, or an error that stops the loop */
            }
            rc = pairs_line(&p, line, len, tr.lineno);
        }
        if (!st->code && tr.error)
            status_set(st, STATUS_DATA, "error reading '%s': %s", opt->path, strerror(tr.error));
        if (!st->code && p.n == 0)
            status_set(st, STATUS_DATA, "%s: no (user, item) lines%s", opt->path,
                       p.n_skipped ? " left after skipping bad lines" : "");
        if (!st->code && p.n_skipped)
            log_warn("skipped %zu bad line%s of %s", p.n_skipped, p.n_skipped > 1 ? "s" : "",
                     opt->path);
    }
    text_close(&tr);
    text_free_fields(&p.fields);
    if (!st->code)
        pairs_finish(&p, r);
    keytable_free(&p.users);
    keytable_free(&p.items);
    free(p.user);
    free(p.item);
    return st->code;
}

int pairs_read(Ratings *r, const DataOptions *opt, int users_numeric, Status *st)
{
    memset(r, 0, sizeof *r);
    if (is_movielens(opt))
        return data_read(r, opt, st);
    return read_delimited(r, opt, users_numeric, st);
}
