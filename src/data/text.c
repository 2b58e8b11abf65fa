/* text.c - lines, fields, numbers and encodings for the ratings readers (see text.h).
 *
 * Built for speed on files of tens of millions of short lines: the file is read in big
 * chunks and split into lines in place, fields are found with memchr and unquoted in
 * place, and plain decimals are parsed without strtod, so reading is O(bytes) with no
 * allocation per line. */
#include "config.h"

#include "collab/data/text.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collab/base/check.h"

enum { READ_CHUNK = 1 << 22 };

/* ---------------------------------------------------------------------------- lines */

int text_open_range(TextReader *r, const char *path, uint64_t start, uint64_t end,
                    size_t first_line, Status *st)
{
    struct stat sb;
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "rb");
    if (!r->f)
        return status_set(st, STATUS_DATA, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fileno(r->f), &sb) == 0 && S_ISDIR(sb.st_mode))
        return status_set(st, STATUS_DATA, "cannot open '%s': %s", path, strerror(EISDIR));
    if (start > 0 && fseeko(r->f, (off_t)start, SEEK_SET) != 0)
        return status_set(st, STATUS_DATA, "error reading '%s': %s", path, strerror(errno));
    r->cap = READ_CHUNK + 1;
    r->buf = xmalloc(r->cap);
    r->base = start;
    r->end = end;
    r->lineno = first_line - 1;
    return STATUS_OK;
}

int text_open(TextReader *r, const char *path, Status *st)
{
    return text_open_range(r, path, 0, UINT64_MAX, 1, st);
}

void text_close(TextReader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Moves the unread bytes to the front and reads the next chunk (never past r->end); grows
 * the buffer when one line fills it. One byte is always kept free for the NUL after a
 * last unterminated line. */
static void reader_fill(TextReader *r)
{
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->base += r->pos;
    r->len -= r->pos;
    r->pos = 0;
    if (r->len + 1 >= r->cap) {
        r->cap *= 2;
        r->buf = xrealloc(r->buf, r->cap);
    }
    uint64_t left = r->end - (r->base + r->len);
    size_t want = r->cap - 1 - r->len;
    size_t got = fread(r->buf + r->len, 1, left < want ? (size_t)left : want, r->f);
    r->len += got;
    if (got == 0) {
        r->eof = 1;
        if (ferror(r->f))
            r->error = errno ? errno : EIO;
    }
}

char *text_read_line(TextReader *r, size_t *len)
{
    for (;;) {
        char *start = r->buf + r->pos;
        char *nl = memchr(start, '\n', r->len - r->pos);
        if (nl || (r->eof && r->pos < r->len)) {
            size_t n = nl ? (size_t)(nl - start) : r->len - r->pos;
            r->line_off = r->base + r->pos;
            r->pos += n + (nl != NULL);
            if (n > 0 && start[n - 1] == '\r')
                n--;
            start[n] = '\0';
            if (++r->lineno == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
                start += 3;
                n -= 3;
            }
            *len = n;
            return start;
        }
        if (r->eof)
            return NULL;
        reader_fill(r);
    }
}

uint64_t text_tell(const TextReader *r)
{
    return r->base + r->pos;
}

/* Reads up to n bytes of f at off into buf; returns the count, or -1 with *err set. */
static long read_at(char *buf, size_t n, FILE *f, uint64_t off, int *err)
{
    if (fseeko(f, (off_t)off, SEEK_SET) != 0) {
        *err = errno ? errno : EIO;
        return -1;
    }
    size_t got = fread(buf, 1, n, f);
    if (got < n && ferror(f)) {
        *err = errno ? errno : EIO;
        return -1;
    }
    return (long)got;
}

int text_line_start(uint64_t *out, FILE *f, uint64_t pos, uint64_t size)
{
    enum { PIECE = 1 << 16 };
    char buf[PIECE];
    int err = 0;
    *out = size;
    if (pos == 0 || pos > size) {
        *out = pos == 0 ? 0 : size;
        return 0;
    }
    for (uint64_t off = pos - 1; off < size;) { /* the byte before pos may end a line */
        long got = read_at(buf, PIECE, f, off, &err);
        if (got <= 0)
            return got < 0 ? err : 0;
        const char *nl = memchr(buf, '\n', (size_t)got);
        if (nl) {
            *out = off + (uint64_t)(nl - buf) + 1;
            return 0;
        }
        off += (uint64_t)got;
    }
    return 0;
}

int text_count_lines(uint64_t *out, FILE *f, uint64_t start, uint64_t end)
{
    enum { PIECE = 1 << 20 };
    char *buf = xmalloc(PIECE);
    int err = 0;
    char last = '\n';
    *out = 0;
    for (uint64_t off = start; off < end;) {
        size_t want = end - off < PIECE ? (size_t)(end - off) : PIECE;
        long got = read_at(buf, want, f, off, &err);
        if (got <= 0) {
            err = got < 0 ? err : EIO; /* the file is shorter than it was */
            break;
        }
        uint64_t n = 0; /* a plain count vectorises; memchr per line is a call per line */
        for (long k = 0; k < got; k++)
            n += buf[k] == '\n';
        *out += n;
        last = buf[got - 1];
        off += (uint64_t)got;
    }
    free(buf);
    *out += last != '\n';
    return err;
}

/* --------------------------------------------------------------------------- fields */

static void fields_push(TextFields *fl, char *s, size_t len)
{
    if (fl->n == fl->cap) {
        fl->cap = fl->cap ? 2 * fl->cap : 16;
        fl->f = xrealloc(fl->f, fl->cap * sizeof *fl->f);
    }
    fl->f[fl->n++] = (TextField){s, len};
}

static int at_sep(const char *p, const char *end, const TextDialect *d)
{
    return p < end && *p == d->sep && (!d->dcolon || (p + 1 < end && p[1] == ':'));
}

/* End of the unquoted field starting at p. Fields are short: a plain loop beats a call
 * to memchr for each. */
static char *field_end(char *p, char *end, const TextDialect *d)
{
    if (!d->dcolon) {
        while (p < end && *p != d->sep)
            p++;
        return p;
    }
    for (;;) {
        char *q = memchr(p, d->sep, (size_t)(end - p));
        if (!q || !d->dcolon || at_sep(q, end, d))
            return q ? q : end;
        p = q + 1;
    }
}

/* Unquotes the field at *p (which starts with '"') in place into *out and moves *p past
 * the closing quote. Returns NULL, or what is wrong. */
static const char *field_unquote(char **p, char *end, const TextDialect *d, TextField *out)
{
    char *w = *p, *r = *p + 1;
    for (;;) {
        if (r == end)
            return "unterminated quoted field (a '\"' without its closing '\"'; "
                   "fields cannot span lines)";
        if (*r == '"' && r + 1 < end && r[1] == '"') {
            *w++ = '"';
            r += 2;
        } else if (*r == '"') {
            break;
        } else {
            *w++ = *r++;
        }
    }
    *out = (TextField){*p, (size_t)(w - *p)};
    *p = r + 1;
    if (*p < end && !at_sep(*p, end, d))
        return "text after a closing quote (expected the separator; write \"\" for a quote "
               "inside a quoted field)";
    return NULL;
}

const char *text_split(TextFields *out, char *line, size_t len, const TextDialect *d)
{
    char *p = line, *end = line + len;
    out->n = 0;
    for (;;) {
        if (d->quotes && p < end && *p == '"') {
            TextField q;
            const char *why = field_unquote(&p, end, d, &q);
            if (why)
                return why;
            fields_push(out, q.s, q.len);
        } else {
            char *q = field_end(p, end, d);
            fields_push(out, p, (size_t)(q - p));
            p = q;
        }
        if (p == end)
            return NULL;
        p += d->dcolon ? 2 : 1;
    }
}

void text_free_fields(TextFields *fl)
{
    free(fl->f);
    memset(fl, 0, sizeof *fl);
}

/* -------------------------------------------------------------------------- numbers */

static void trim_spaces(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t'))
        (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

int text_parse_int64(const char *s, size_t len, int64_t *out)
{
    trim_spaces(&s, &len);
    size_t i = (len && (s[0] == '-' || s[0] == '+'));
    int neg = i && s[0] == '-';
    if (i == len)
        return -1;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    /* 18 digits cannot overflow: no division per digit on the usual short IDs. */
    const size_t safe = len - i <= 18 ? len : i + 18;
    for (; i < safe; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9)
            return -1;
        v = 10 * v + d;
    }
    for (; i < len; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9 || v > (lim - d) / 10)
            return -1;
        v = 10 * v + d;
    }
    *out = !neg ? (int64_t)v : v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
    return 0;
}

/* Plain decimals with at most 15 digits ("4", "3.5"): m / 10^k with m < 2^53 and k <= 22
 * are both exact, so one correctly rounded division gives exactly what strtod gives. */
static int parse_number_fast(const char *s, size_t len, double *out)
{
    static const double pow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    size_t i = (len && (s[0] == '-' || s[0] == '+'));
    int neg = i && s[0] == '-', dot = 0, digits = 0, frac = 0;
    uint64_t m = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d <= 9 && digits < 16) {
            m = 10 * m + d, digits++, frac += dot;
        } else if (s[i] == '.' && !dot) {
            dot = 1;
        } else {
            return -1;
        }
    }
    if (digits == 0 || digits > 15)
        return -1;
    *out = neg ? -((double)m / pow10[frac]) : (double)m / pow10[frac];
    return 0;
}

/* 1 when s (len) is nan, inf or infinity, any case, with an optional sign. */
static int is_nan_or_inf(const char *s, size_t len)
{
    static const char *const names[] = {"nan", "inf", "infinity"};
    if (len && (s[0] == '-' || s[0] == '+'))
        s++, len--;
    for (size_t k = 0; k < 3; k++) {
        size_t i = 0, n = strlen(names[k]);
        while (i < len && i < n && (s[i] | 0x20) == names[k][i])
            i++;
        if (i == len && i == n)
            return 1;
    }
    return 0;
}

int text_parse_number(const char *s, size_t len, double *out)
{
    trim_spaces(&s, &len);
    if (parse_number_fast(s, len, out) == 0)
        return 0;
    if (is_nan_or_inf(s, len))
        return -2;
    if (len == 0 || strspn(s, "0123456789+-.eE") < len)
        return -1; /* no hex floats or other strtod extensions */
    char small[64], *copy = len < sizeof small ? small : xmalloc(len + 1), *end;
    memcpy(copy, s, len);
    copy[len] = '\0';
    *out = strtod(copy, &end);
    int rc = end != copy + len ? -1 : isfinite(*out) ? 0 : -2;
    if (copy != small)
        free(copy);
    return rc;
}

int text_is_canonical_int(const char *s, size_t len)
{
    const char *d = s + (s[0] == '-');
    return s[0] != '+' && s[0] != ' ' && s[0] != '\t' && s[len - 1] != ' ' && s[len - 1] != '\t' &&
           !(d[0] == '0' && (len > 1 || s[0] == '-'));
}

/* ---------------------------------------------------------------------------- UTF-8 */

size_t text_find_invalid_utf8(const unsigned char *s, size_t len)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    while (i < len) {
        uint64_t w;
        if (i + 8 <= len && (memcpy(&w, s + i, 8), !(w & highs) && !((w - ones) & ~w & highs))) {
            i += 8; /* eight ASCII bytes, none of them NUL */
            continue;
        }
        unsigned c = s[i], lo = 0x80, hi = 0xBF;
        size_t n;
        if (c != 0 && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else
            return i; /* NUL, a continuation byte, an overlong lead or beyond U+10FFFF */
        if (i + n >= len || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

size_t text_latin1_to_utf8(char *out, const char *in, size_t len)
{
    size_t o = 0; /* Latin-1 is the first 256 code points: one or two UTF-8 bytes each */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch < 0x80) {
            out[o++] = (char)ch;
        } else {
            out[o++] = (char)(0xC0 | (ch >> 6));
            out[o++] = (char)(0x80 | (ch & 0x3F));
        }
    }
    out[o] = '\0';
    return o;
}

/* ------------------------------------------------------------------------- messages */

TextShown text_show(const char *s, size_t len)
{
    TextShown out;
    size_t o = 0;
    for (size_t i = 0; i < len && i < TEXT_SHOW_MAX; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f)
            out.s[o++] = (char)ch;
        else
            o += (size_t)snprintf(out.s + o, 5, "\\x%02X", ch);
    }
    if (len > TEXT_SHOW_MAX)
        memcpy(out.s + o, "...", 3), o += 3;
    out.s[o] = '\0';
    return out;
}

TextShown text_describe(const char *s, size_t len)
{
    TextShown out;
    if (len == 0)
        memcpy(out.s, "an empty field", 15);
    else
        snprintf(out.s, sizeof out.s, "'%.*s'", (int)sizeof out.s - 3, text_show(s, len).s);
    return out;
}
