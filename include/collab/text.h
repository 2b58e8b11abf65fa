/* text.h - the text machinery under the ratings readers: lines of a file read in big
 * chunks, fields split by a separator (with RFC-4180 quoting), whole integers and
 * decimal numbers parsed from a field, UTF-8 validation and Latin-1 conversion, and
 * field text made safe to quote in a message.
 *
 * Nothing here knows a file format: data.c decides what the fields mean. Everything is
 * local (no MPI) and works on (pointer, length) byte ranges, so fields need not be
 * NUL-terminated. Parsing is done by hand because strtol/strtod would dominate the cost
 * of reading tens of millions of ratings. */
#ifndef COLLAB_TEXT_H
#define COLLAB_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collab/status.h"

/* ---- Lines ---- */

/* Lines of a file read in big chunks; a line may be longer than a chunk (the buffer
 * grows). The caller reads lineno and error; the rest is private to text.c. */
typedef struct TextReader {
    FILE *f;
    char *buf; /* (cap) bytes [pos, len) are not yet returned */
    size_t cap, len, pos;
    size_t lineno;  /* number of the line last returned, from 1 */
    int eof, error; /* end of file seen; errno of a read error */
} TextReader;

/* Opens path for reading. Returns STATUS_OK, or STATUS_DATA with "cannot open 'path':
 * reason" in st (also for a folder). r is closeable either way. Local. */
int text_open(TextReader *r, const char *path, Status *st);

/* The next line without its "\n" or "\r\n" (and without a UTF-8 byte-order mark on line
 * 1), NUL-terminated in place; *len is its length in bytes. The line is owned by r and
 * may be modified by the caller; it stays valid until the next call. NULL at the end of
 * the file or after a read error (r->error is then the errno). */
char *text_read_line(TextReader *r, size_t *len);

/* Closes the file and frees the buffer; safe on a zeroed or failed-to-open reader. */
void text_close(TextReader *r);

/* ---- Fields ---- */

/* One field of a line: len bytes at s, not NUL-terminated. */
typedef struct TextField {
    char *s;
    size_t len;
} TextField;

/* The fields of one line, a buffer the caller reuses from line to line. */
typedef struct TextFields {
    TextField *f; /* (n) fields; allocated for cap */
    size_t n, cap;
} TextFields;

/* How fields are separated. */
typedef struct TextDialect {
    char sep;   /* field separator, or ':' with dcolon */
    int dcolon; /* fields are separated by "::" (MovieLens 1M/10M) */
    int quotes; /* RFC-4180 quoting: "a, b" and "" for a quote inside */
} TextDialect;

/* Splits line (len bytes, from text_read_line or any writable buffer) into out, which
 * then points into line: quoted fields are unquoted in place, so line is modified.
 * Fields cannot span lines. Returns NULL, or a static message saying why the line cannot
 * be split (an unterminated quote, text after a closing quote); out is then partial. */
const char *text_split(TextFields *out, char *line, size_t len, const TextDialect *d);

/* Frees the fields buffer; safe on a zeroed one. */
void text_free_fields(TextFields *fl);

/* ---- Numbers ---- */

/* A whole decimal integer in s (len bytes), spaces and tabs around allowed, optional
 * sign. Returns 0 with *out set, or -1 when not an integer or outside int64_t. */
int text_parse_int64(const char *s, size_t len, int64_t *out);

/* A decimal number in s (len bytes), spaces and tabs around allowed: sign, digits, '.'
 * and exponent only (no hex floats or other strtod extensions), with exactly the value
 * strtod gives. Returns 0 with a finite *out, -1 when not a number, -2 for nan, inf or
 * infinity in any case and for overflow such as 1e999. */
int text_parse_number(const char *s, size_t len, double *out);

/* 1 when the integer text s (len >= 1 bytes, already accepted by text_parse_int64) is
 * spelled as it prints: no '+', no leading zeros or spaces, no "-0". Callers re-print
 * other spellings so that "007" and "7" are one ID. */
int text_is_canonical_int(const char *s, size_t len);

/* ---- Encodings ---- */

/* Offset of the first byte of s (len bytes) that is NUL or not part of valid UTF-8
 * (overlong forms, surrogates and code points beyond U+10FFFF are invalid); len when all
 * of it is valid. */
size_t text_find_invalid_utf8(const unsigned char *s, size_t len);

/* Converts len bytes of Latin-1 at in to UTF-8 at out, which must hold 2 * len + 1
 * bytes, and NUL-terminates it. Returns the length of the UTF-8 text. */
size_t text_latin1_to_utf8(char *out, const char *in, size_t len);

/* ---- Text for messages ---- */

enum { TEXT_SHOW_MAX = 40 }; /* bytes of a field shown in a message */

/* Text made printable, returned by value so it can be used inside a printf argument
 * list without a buffer of the caller's. */
typedef struct TextShown {
    char s[4 * TEXT_SHOW_MAX + 8];
} TextShown;

/* s (len bytes) for a message: at most TEXT_SHOW_MAX bytes then "...", control and
 * non-ASCII bytes escaped as \xNN. */
TextShown text_show(const char *s, size_t len);

/* What a field holds, for "found ...": the shown text in single quotes, or "an empty
 * field". */
TextShown text_describe(const char *s, size_t len);

#endif
