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

#include "collab/base/status.h"

/* ---- Lines ---- */

/* Lines of a file read in big chunks; a line may be longer than a chunk (the buffer
 * grows). A reader may be limited to a byte range of the file, so that every rank reads
 * its own part. The caller reads lineno, line_off and error; the rest is private to
 * text.c. */
typedef struct TextReader {
    FILE *f;
    char *buf; /* (cap) bytes [pos, len) are not yet returned */
    size_t cap, len, pos;
    uint64_t base;     /* file offset of buf[0] */
    uint64_t end;      /* no byte at or past this offset is read (UINT64_MAX: none) */
    size_t lineno;     /* number of the line last returned (from 1 in the whole file) */
    uint64_t line_off; /* file offset where the line last returned starts */
    int eof, error;    /* end of the range seen; errno of a read error */
} TextReader;

/* Opens path for reading. Returns STATUS_OK, or STATUS_DATA with "cannot open 'path':
 * reason" in st (also for a folder). r is closeable either way. Local. */
int text_open(TextReader *r, const char *path, Status *st);

/* As text_open, but reads only the bytes [start, end) of the file, numbering its first
 * line first_line. start must be where a line starts (0 or just after a '\n'); a line is
 * cut at end, so end should be a line start or the file size. The byte-order mark is
 * dropped only from line 1. Local. */
int text_open_range(TextReader *r, const char *path, uint64_t start, uint64_t end,
                    size_t first_line, Status *st);

/* The next line without its "\n" or "\r\n" (and without a UTF-8 byte-order mark on line
 * 1), NUL-terminated in place; *len is its length in bytes. The line is owned by r and
 * may be modified by the caller; it stays valid until the next call. NULL at the end of
 * the file or range, or after a read error (r->error is then the errno). */
char *text_read_line(TextReader *r, size_t *len);

/* File offset just past the line last returned: where the next line starts. */
uint64_t text_tell(const TextReader *r);

/* Closes the file and frees the buffer; safe on a zeroed or failed-to-open reader. */
void text_close(TextReader *r);

/* The first offset >= pos at which a line of f (size bytes) starts: pos itself when it
 * is 0 or follows a '\n', else just past the next '\n', else size. Returns 0, or the
 * errno of a failed read. Local; moves f's position. */
int text_line_start(uint64_t *out, FILE *f, uint64_t pos, uint64_t size);

/* Lines in the bytes [start, end) of f: the '\n's, plus one for a last line without
 * one. Returns 0, or the errno of a failed read. Local; moves f's position. */
int text_count_lines(uint64_t *out, FILE *f, uint64_t start, uint64_t end);

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
