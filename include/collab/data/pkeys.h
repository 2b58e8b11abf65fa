/* pkeys.h - keys and duplicate ratings across ranks, for the parallel reader (pread.c).
 *
 * Each rank parses its own part of a ratings file with its own key tables. pkeys_union
 * merges those tables into one that is identical on every rank, moving each key only to
 * the rank that owns its hash bucket and back, so no rank ever holds more than the
 * distinct keys (vocabulary-sized). pkeys_find_dups finds repeated (user, item) pairs:
 * locally for users that only one rank has (files grouped by user: nearly all), and by
 * sending the rows of the other users to one rank per user. */
#ifndef COLLAB_PKEYS_H
#define COLLAB_PKEYS_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "collab/data/keys.h"
#include "collab/data/ratings.h"

/* Collective: adds every rank's keys t to g (the same additions in the same order on
 * every rank, so g stays identical everywhere; keys already in g keep their index).
 * map (t->n) gets the index in g of each of t's keys; shared (t->n, may be NULL) gets 1
 * for the keys that another rank's t also holds. */
void pkeys_union(KeyTable *g, int32_t *map, uint8_t *shared, const KeyTable *t, MPI_Comm comm);

/* One repeated rating, in global terms. */
typedef struct DupRow {
    uint64_t row;   /* index of the repeat among the file's rows (file order) */
    uint64_t first; /* index of the first row with the same (user, item) */
    int32_t user;   /* global user key index */
    int32_t item;   /* global item key index */
} DupRow;

/* This rank's rows and keys, as pkeys_find_dups needs them. */
typedef struct DupInput {
    const int32_t *user, *item; /* (n) local key indices of this rank's rows */
    size_t n;
    size_t n_users, n_items;    /* local key counts */
    const int32_t *umap, *imap; /* (n_users), (n_items) local -> global key index */
    const uint8_t *shared;      /* (n_users) 1: another rank has rows of this user */
    size_t g_users, g_items;    /* global key counts */
    const uint64_t *row_start;  /* (P + 1) index of each rank's first row; last = total */
} DupInput;

/* Collective: every repeated (user, item) pair of the file, each found on exactly one
 * rank: *out (free it) gets this rank's finds, sorted by row; returns their number. The
 * first occurrence of a pair is the one earliest in the file. */
size_t pkeys_find_dups(DupRow **out, const DupInput *in, MPI_Comm comm);

/* Collective: the n rows (global indices) each go back to the rank whose rows they are
 * (row_start as in DupInput); *local (free it) gets this rank's, as local indices in
 * increasing order. Returns their number. */
size_t pkeys_return_rows(size_t **local, const uint64_t *rows, size_t n, const uint64_t *row_start,
                         MPI_Comm comm);

#endif
