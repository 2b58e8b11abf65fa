/* pread.c - the parallel ratings reader (see pread.h).
 *
 *   every rank     resolve the files, read the head of the ratings file (header, columns)
 *                  and the whole items file
 *   byte ranges    rank r takes [D + r*(S-D)/P, ...) of the data after the head, moved to
 *                  the next line start
 *   parse          reader.c's line machinery on the range, lines numbered as if the range
 *                  began the data; line counts -> MPI_Exscan -> global line numbers (a
 *                  rank whose messages hold line numbers parses again); bad-line
 *                  warnings are kept
 *   agree          the first error of the file wins (lowest failing rank = earliest line);
 *                  rank 0 prints the first warnings of the file in file order
 *   keys           local key tables merged into global ones (pkeys_union)
 *   duplicates     found across ranks (pkeys_find_dups): the first one is the error, or
 *                  (skip_bad_lines) every repeat is dropped before rows are numbered
 *   rows           global key indices; items re-keyed by title when items are titles
 *
 * Every step after the parse is collective and its outcome is the same on every rank. */
#include "config.h"

#include "collab/data/pread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collab/base/check.h"
#include "collab/base/log.h"
#include "collab/data/pkeys.h"
#include "collab/data/reader.h"

/* One file being read on this rank. */
typedef struct FileRead {
    ReadCtx c;
    Source src;
    FileLayout lay;
    Movies m;
    Build b;             /* this rank's rows, local key indices */
    uint64_t size;       /* bytes in the ratings file */
    uint64_t data_start; /* offset of the first line after the header (or of line 1 of data) */
    size_t data_line;    /* its line number */
    uint64_t *row_start; /* (P + 1) first row of each rank among the file's rows */
    int p, rank;
    MPI_Comm comm;
} FileRead;

void partkeys_init(PartKeys *k)
{
    memset(k, 0, sizeof *k);
    keytable_init(&k->users);
    keytable_init(&k->items);
}

void partkeys_free(PartKeys *k)
{
    for (size_t i = 0; k->titles && i < k->items.n; i++)
        free(k->titles[i]);
    free(k->titles);
    keytable_free(&k->users);
    keytable_free(&k->items);
    memset(k, 0, sizeof *k);
}

void partrows_free(PartRows *r)
{
    free(r->user);
    free(r->item);
    free(r->rating);
    free(r->ts);
    memset(r, 0, sizeof *r);
}

/* -------------------------------------------------------------------------- the head */

/* Local, on every rank: the files, the head of the ratings file (where the data starts,
 * the columns of a delimited file) and the items file. Returns 0 or -1 (st set). */
static int read_open(FileRead *f, Status *st)
{
    TextReader lr;
    FileLayout ilay;
    struct stat sb;
    char *first = NULL;
    size_t first_len = 0;
    if (source_resolve(&f->src, f->c.opt, st))
        return -1;
    file_layout_ratings(&f->lay, &f->src, f->c.opt);
    f->c.path = f->src.ratings;
    int rc = ratings_head(&f->c, NULL, &f->lay, &lr, &first, &first_len);
    if (rc == 0) { /* a data line starts the data; after a header, the next line does */
        f->data_start = first ? lr.line_off : text_tell(&lr);
        f->data_line = first ? lr.lineno : lr.lineno + 1;
    }
    free(first);
    text_close(&lr);
    if (rc == 0 && stat(f->src.ratings, &sb) != 0)
        rc = reader_file_error(&f->c, STATUS_DATA, "cannot open '%s': %s", f->src.ratings,
                               strerror(errno));
    f->size = rc == 0 ? (uint64_t)sb.st_size : 0;
    file_layout_items(&ilay, &f->src, f->c.opt, f->lay.header);
    if (rc == 0 && f->src.items[0])
        rc = movies_read(&f->c, &f->m, &ilay, f->src.items);
    return rc;
}

/* -------------------------------------------------------------------------- the parse */

/* Collective: this rank's byte range [*lo, *hi) of the data. Each rank finds its own
 * start; the starts are shared, so every line belongs to exactly one rank (the one whose
 * range holds its first byte). An I/O error is left in st, after every collective call
 * was made. */
static void read_range(FileRead *f, uint64_t *lo, uint64_t *hi, Status *st)
{
    const uint64_t span = f->size - f->data_start;
    uint64_t cut =
        f->data_start + (uint64_t)((unsigned __int128)span * (unsigned)f->rank / (unsigned)f->p);
    uint64_t start = f->data_start;
    FILE *fp = f->rank > 0 ? fopen(f->src.ratings, "rb") : NULL;
    int err = f->rank > 0 && !fp ? errno : 0;
    if (!err && f->rank > 0)
        err = text_line_start(&start, fp, cut, f->size);
    uint64_t *starts = xmalloc(((size_t)f->p + 1) * sizeof *starts);
    CHECK_MPI(MPI_Allgather(&start, 1, MPI_UINT64_T, starts, 1, MPI_UINT64_T, f->comm));
    starts[f->p] = f->size;
    *lo = starts[f->rank];
    *hi = starts[f->rank + 1];
    free(starts);
    if (fp)
        fclose(fp);
    if (err)
        status_set(st, STATUS_DATA, "error reading '%s': %s", f->src.ratings, strerror(err));
}

/* Local: parses this rank's range into f->b, numbering its lines from first_line;
 * skipped lines' warnings are kept for rank 0. *n_lines gets the lines read. Returns 0
 * or -1 (st set). */
static int read_part(FileRead *f, uint64_t lo, uint64_t hi, size_t first_line, size_t *n_lines,
                     Status *st)
{
    TextReader lr;
    build_init(&f->b, f->c.opt->keep_timestamps, first_line);
    build_reserve(&f->b, (size_t)((hi - lo) / 12) + 1024); /* lines of 12 bytes or more */
    int rc = text_open_range(&lr, f->src.ratings, lo, hi, first_line, st) ? -1 : 0;
    f->c.collect = 1;
    if (rc == 0)
        rc = ratings_loop(&f->c, &f->b, &f->m, &f->lay, &lr);
    f->c.collect = 0;
    *n_lines = lr.lineno + 1 > first_line ? lr.lineno + 1 - first_line : 0;
    text_close(&lr);
    return rc;
}

/* Collective: the range parsed once without counting its lines first: each rank numbers
 * its lines from a guess, then the line counts are prefix-summed (MPI_Exscan) and the
 * rows' line numbers shifted. A rank whose parse wrote a line number into a message (an
 * error, a kept warning) parses again with the right numbers, and so does one whose
 * first line turns out to be line 1 (where a byte-order mark is dropped; the guess is
 * never 1 on ranks > 0): the outcome is that of numbering right from the start.
 * k0: lines skipped before this file. */
static void read_parse(FileRead *f, uint64_t lo, uint64_t hi, size_t k0, Status *st)
{
    size_t n_lines = 0;
    uint64_t lines, before = 0;
    const size_t guess = f->data_line + (f->rank ? 1 : 0);
    int rc = read_part(f, lo, hi, guess, &n_lines, st);
    lines = n_lines;
    CHECK_MPI(MPI_Exscan(&lines, &before, 1, MPI_UINT64_T, MPI_SUM, f->comm));
    const size_t right = f->data_line + (f->rank ? (size_t)before : 0);
    if (right == guess)
        return;
    if (rc == 0 && f->c.n_kept == 0 && right != 1) {
        const size_t shift = right - guess; /* modulo 2^64: may move numbers down by one */
        f->b.first_line += shift;
        for (size_t k = 0; k < f->b.n_gaps; k++)
            f->b.gaps[k] += shift;
        return;
    }
    build_free(&f->b);
    status_clear(st);
    f->c.n_skipped = k0;
    f->c.n_kept = 0;
    read_part(f, lo, hi, right, &n_lines, st);
}

/* Collective: rank 0 prints the first warnings of the whole file (the items file's were
 * printed as it was read, so only MAX_WARNINGS - k0 more), and every rank learns how many
 * lines were skipped. k0: lines of the items file skipped (the same on every rank). */
static void read_warnings(FileRead *f, size_t k0)
{
    ReadCtx *c = &f->c;
    uint64_t mine = c->n_skipped - k0, total = 0;
    CHECK_MPI(MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, f->comm));
    if (c->opt->skip_bad_lines && total && k0 < MAX_WARNINGS) {
        const int len = (int)sizeof c->kept[0];
        int n = (int)c->n_kept, *cnt = xcalloc((size_t)f->p, sizeof *cnt);
        int *dis = xcalloc((size_t)f->p, sizeof *dis);
        CHECK_MPI(MPI_Gather(&n, 1, MPI_INT, cnt, 1, MPI_INT, 0, f->comm));
        int all = 0;
        for (int q = 0; q < f->p; q++) {
            dis[q] = all;
            all += cnt[q];
            cnt[q] *= len, dis[q] *= len;
        }
        char *msgs = xmalloc((size_t)(f->rank == 0 ? all : 0) * (size_t)len + 1);
        CHECK_MPI(MPI_Gatherv(c->kept, n * len, MPI_CHAR, msgs, cnt, dis, MPI_CHAR, 0, f->comm));
        for (int k = 0; f->rank == 0 && k < all && (size_t)k + k0 < MAX_WARNINGS; k++)
            log_warn("%s", msgs + (size_t)k * (size_t)len);
        free(msgs);
        free(cnt);
        free(dis);
    }
    c->n_skipped = k0 + (size_t)total;
    c->n_kept = 0;
}

/* -------------------------------------------------------------------------- the rows */

/* Collective: f->row_start from every rank's row count; returns the total. */
static uint64_t read_row_starts(FileRead *f)
{
    uint64_t n = f->b.n;
    CHECK_MPI(MPI_Allgather(&n, 1, MPI_UINT64_T, f->row_start + 1, 1, MPI_UINT64_T, f->comm));
    f->row_start[0] = 0;
    for (int q = 0; q < f->p; q++)
        f->row_start[q + 1] += f->row_start[q];
    return f->row_start[f->p];
}

/* Collective: the first `want` repeats of the file (by row), from every rank's finds d
 * (nd, sorted), into sel; with the line of each repeat and of its first occurrence in
 * lines (2 per repeat), asked of the ranks holding them. */
static void dups_first(DupRow *sel, size_t *lines, size_t want, const FileRead *f, const DupRow *d,
                       size_t nd)
{
    const size_t w = 4 * want, np = (size_t)f->p;
    uint64_t *mine = xmalloc(w * sizeof *mine), *all = xmalloc(w * np * sizeof *all);
    for (size_t k = 0; k < want; k++) {
        DupRow r = k < nd ? d[k] : (DupRow){UINT64_MAX, 0, 0, 0};
        uint64_t rec[4] = {r.row, r.first, (uint64_t)(uint32_t)r.user, (uint64_t)(uint32_t)r.item};
        memcpy(mine + 4 * k, rec, sizeof rec);
    }
    CHECK_MPI(MPI_Allgather(mine, (int)w, MPI_UINT64_T, all, (int)w, MPI_UINT64_T, f->comm));
    for (size_t k = 0; k < want; k++) { /* selection: want is at most MAX_WARNINGS */
        size_t best = 0;
        for (size_t j = 1; j < want * np; j++)
            if (all[4 * j] < all[4 * best])
                best = j;
        sel[k] = (DupRow){all[4 * best], all[4 * best + 1], (int32_t)(uint32_t)all[4 * best + 2],
                          (int32_t)(uint32_t)all[4 * best + 3]};
        all[4 * best] = UINT64_MAX;
    }
    uint64_t *ln = xcalloc(2 * want, sizeof *ln);
    const uint64_t lo = f->row_start[f->rank], hi = f->row_start[f->rank + 1];
    for (size_t k = 0; k < 2 * want; k++) {
        uint64_t row = k % 2 ? sel[k / 2].first : sel[k / 2].row;
        if (row >= lo && row < hi)
            ln[k] = build_line_of(&f->b, (size_t)(row - lo));
    }
    CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, ln, (int)(2 * want), MPI_UINT64_T, MPI_MAX, f->comm));
    for (size_t k = 0; k < 2 * want; k++)
        lines[k] = (size_t)ln[k];
    free(ln);
    free(mine);
    free(all);
}

/* Collective: reports the repeats d (nd, this rank's finds) as the serial reader does:
 * the first is the error, or with skip_bad_lines the first few are warned about and all
 * are dropped. Returns 0 or -1 (the same on every rank). */
static int read_dups(FileRead *f, const DupRow *d, size_t nd, const KeyTable *users,
                     const KeyTable *ids)
{
    ReadCtx *c = &f->c;
    uint64_t mine = nd, total = 0;
    CHECK_MPI(MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, f->comm));
    if (total == 0)
        return 0;
    size_t want = !c->opt->skip_bad_lines       ? 1
                  : c->n_skipped < MAX_WARNINGS ? MAX_WARNINGS - c->n_skipped
                                                : 0;
    want = want < total ? want : (size_t)total;
    DupRow sel[MAX_WARNINGS];
    size_t lines[2 * MAX_WARNINGS];
    if (want)
        dups_first(sel, lines, want, f, d, nd);
    for (size_t k = 0; k < want; k++) {
        const char *u = users->keys[sel[k].user], *it = ids->keys[sel[k].item];
        if (reader_bad_line(c, lines[2 * k],
                            "duplicate rating of %s '%s' by %s '%s' (first on line %zu); each "
                            "user may rate an item once",
                            f->lay.names[COL_ITEM], text_show(it, strlen(it)).s,
                            f->lay.names[COL_USER], text_show(u, strlen(u)).s,
                            lines[2 * k + 1]) == ROW_FAIL)
            return -1;
    }
    c->n_skipped += (size_t)total - want;
    uint64_t *rows = xmalloc((nd ? nd : 1) * sizeof *rows);
    for (size_t k = 0; k < nd; k++)
        rows[k] = d[k].row;
    size_t *drop, n_drop = pkeys_return_rows(&drop, rows, nd, f->row_start, f->comm);
    build_drop(&f->b, drop, n_drop);
    free(drop);
    free(rows);
    return 0;
}

/* Collective: merges the keys, finds and reports the repeats. umap and imap (local keys)
 * get the global indices: users in keys->users, item IDs in ids. Returns 0 or -1. */
static int read_keys_dups(FileRead *f, int32_t *umap, int32_t *imap, PartKeys *keys, KeyTable *ids)
{
    uint8_t *shared = xmalloc(f->b.users.n + 1);
    pkeys_union(&keys->users, umap, shared, &f->b.users, f->comm);
    pkeys_union(ids, imap, NULL, &f->b.items, f->comm);
    read_row_starts(f);
    DupInput in = {f->b.user, f->b.item, f->b.n,        f->b.users.n, f->b.items.n, umap,
                   imap,      shared,    keys->users.n, ids->n,       f->row_start};
    DupRow *d;
    size_t nd = pkeys_find_dups(&d, &in, f->comm);
    free(shared);
    int rc = read_dups(f, d, nd, &keys->users, ids);
    free(d);
    return rc;
}

/* The item key of each item ID of this file (kmap, ids->n entries): its title when items
 * are titles and the file has titles, else the ID; titles of ID keys are recorded when
 * still unknown. The same on every rank. */
static int32_t *read_item_keys(PartKeys *keys, const KeyTable *ids, const Movies *m, int by_title)
{
    int32_t *kmap = xmalloc((ids->n ? ids->n : 1) * sizeof *kmap);
    for (size_t g = 0; g < ids->n; g++) {
        int32_t mv = m->present ? movies_find(m, ids->keys[g], ids->lens[g]) : -1;
        const char *key = by_title && mv >= 0 ? m->titles[mv] : ids->keys[g];
        size_t before = keys->items.n;
        kmap[g] = keytable_intern(&keys->items, key, strlen(key));
        if (keys->items.n > before && keys->items.n > keys->cap_titles) {
            keys->cap_titles = keys->cap_titles ? 2 * keys->cap_titles : 1024;
            keys->titles = xrealloc(keys->titles, keys->cap_titles * sizeof *keys->titles);
        }
        if (keys->items.n > before)
            keys->titles[kmap[g]] = NULL;
        if (!by_title && mv >= 0 && !keys->titles[kmap[g]])
            keys->titles[kmap[g]] = xstrdup(m->titles[mv]);
    }
    return kmap;
}

/* Moves f->b's rows into rows, re-indexed to the global keys. */
static void read_take_rows(PartRows *rows, FileRead *f, const int32_t *umap, const int32_t *imap,
                           const int32_t *kmap)
{
    Build *b = &f->b;
    for (size_t i = 0; i < b->n; i++) {
        b->user[i] = umap[b->user[i]];
        b->item[i] = kmap[imap[b->item[i]]];
    }
    rows->n = b->n;
    rows->user = xrealloc(b->user, (b->n ? b->n : 1) * sizeof *rows->user);
    rows->item = xrealloc(b->item, (b->n ? b->n : 1) * sizeof *rows->item);
    rows->rating = xrealloc(b->rating, (b->n ? b->n : 1) * sizeof *rows->rating);
    rows->ts = b->ts ? xrealloc(b->ts, (b->n ? b->n : 1) * sizeof *rows->ts) : NULL;
    rows->has_time = f->lay.col[COL_TIME] >= 0;
    b->user = b->item = NULL;
    b->rating = NULL;
    b->ts = NULL;
    rows->first = f->row_start[f->rank];
    rows->total = f->row_start[f->p];
    rows->n_skipped = f->c.n_skipped;
}

/* Collective: after an agreed parse, keys, repeats, the summary and the rows. */
static int read_rows(FileRead *f, PartRows *rows, PartKeys *keys)
{
    KeyTable ids;
    keytable_init(&ids);
    int32_t *umap = xmalloc((f->b.users.n + 1) * sizeof *umap);
    int32_t *imap = xmalloc((f->b.items.n + 1) * sizeof *imap);
    int rc = read_keys_dups(f, umap, imap, keys, &ids);
    if (rc == 0)
        rc = reader_summary(&f->c, &f->src, (size_t)read_row_starts(f));
    if (rc == 0) {
        int32_t *kmap = read_item_keys(keys, &ids, &f->m, f->c.opt->item_by_title);
        read_take_rows(rows, f, umap, imap, kmap);
        free(kmap);
    }
    free(umap);
    free(imap);
    keytable_free(&ids);
    return rc;
}

int pread_file(PartRows *rows, PartKeys *keys, const DataOptions *opt, MPI_Comm comm, Status *st)
{
    FileRead f;
    memset(&f, 0, sizeof f);
    memset(rows, 0, sizeof *rows);
    f.c.opt = opt;
    f.c.st = st;
    f.comm = comm;
    CHECK_MPI(MPI_Comm_size(comm, &f.p));
    CHECK_MPI(MPI_Comm_rank(comm, &f.rank));
    f.row_start = xcalloc((size_t)f.p + 1, sizeof *f.row_start);
    build_init(&f.b, 0, 1);
    status_clear(st);
    read_open(&f, st);
    if (status_agree(st, comm) == STATUS_OK) {
        uint64_t lo = 0, hi = 0;
        size_t k0 = f.c.n_skipped;
        read_range(&f, &lo, &hi, st);
        if (st->code == STATUS_OK)
            read_parse(&f, lo, hi, k0, st);
        else { /* read_parse's collective call, with no lines */
            uint64_t none = 0, ignored = 0;
            CHECK_MPI(MPI_Exscan(&none, &ignored, 1, MPI_UINT64_T, MPI_SUM, comm));
        }
        if (status_agree(st, comm) == STATUS_OK) {
            read_warnings(&f, k0);
            read_rows(&f, rows, keys);
        }
    }
    build_free(&f.b);
    movies_free(&f.m);
    reader_free(&f.c);
    free(f.row_start);
    return st->code;
}
