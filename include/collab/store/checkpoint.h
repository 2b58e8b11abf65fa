/* checkpoint.h - parallel HDF5 checkpoints and model files.
 *
 * One file per checkpoint, written collectively: every rank writes its own rows of each
 * table with a hyperslab, in vocabulary order, so the file does not depend on -np and a
 * run can resume at any -np. A file holds the model tables, the optimizer state (not in
 * a model-only file), where training stands, the vocabularies, the data fingerprint and
 * split, the resolved settings and provenance. Layout: docs/FORMAT.md.
 *
 * Writes are atomic: the file is written under a temporary name, closed collectively,
 * then renamed by rank 0, so a crash leaves the previous checkpoint intact. Reads are
 * validated by rank 0 (every attribute, every dataset's type and shape, each table's
 * checksum) before any rank reads its rows, so a bad file gives one message naming the
 * file and the problem, never a crash. */
#ifndef COLLAB_CHECKPOINT_H
#define COLLAB_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/ctx.h"
#include "collab/base/status.h"

enum { CKPT_FORMAT_VERSION = 1 };

/* Element type of a table: float32 (every model table), or float64 (optimizer state that
 * must round-trip exactly, such as the sparse optimizers' per-row decay products). */
typedef enum CkptElem { CKPT_F32 = 0, CKPT_F64 = 1 } CkptElem;

/* One distributed table: this rank holds rows [row0, row0 + rows) of total rows. */
typedef struct CkptTable {
    const char *name; /* dataset path, e.g. "model/user_factors" */
    float *data;      /* (rows, width) this rank's rows (CKPT_F32) */
    size_t rows, row0, total, width;
    double *data_f64; /* (rows, width) this rank's rows (CKPT_F64; data is NULL) */
    CkptElem elem;    /* CKPT_F32 when left zero */
} CkptTable;

/* Where training stands. */
typedef struct CkptProgress {
    int64_t epoch;     /* epoch in progress (or the next to start) */
    int64_t batch;     /* next training batch of that epoch; == batches: train done,
                          validation pending */
    int64_t iter;      /* training batches done since the fit began */
    int64_t opt_step;  /* optimizer steps taken */
    double smooth_val; /* recorder's smoothed-loss state */
    int64_t smooth_count;
    int64_t epochs;    /* epochs the run was asked for */
    double decay_prod; /* sparse optimizers' running decay product (1 when absent) */
} CkptProgress;

/* What identifies the data: sizes and an order-free fingerprint of every rating. */
typedef struct CkptData {
    uint64_t n_train, n_valid, n_users, n_items;
    uint64_t fingerprint;
} CkptData;

/* Resolved settings as name/value strings (every option of the run). */
typedef struct CkptSetting {
    const char *name, *value;
} CkptSetting;

/* Everything a checkpoint write takes; the read fills the same. */
typedef struct CkptContent {
    int with_optimizer; /* 0: a model file (--output) */
    CkptTable *tables;  /* model tables, then optimizer tables if any */
    size_t n_tables;
    CkptProgress progress;
    CkptData data;
    char *const *user_names;  /* (n_users) vocabularies, replicated */
    char *const *item_names;  /* (n_items) */
    char *const *item_titles; /* (n_items), NULL entries allowed, or NULL */
    const CkptSetting *settings;
    size_t n_settings;
} CkptContent;

/* Collective: writes c to path (through path.tmp, then rename). Returns STATUS_OK or
 * STATUS_DATA on every rank with st naming the file and the problem. */
int ckpt_write(const char *path, const Ctx *ctx, const CkptContent *c, Status *st);

/* Collective: validates path against expect (table shapes, settings that must match
 * and the data identity; see ckpt_setting_may_change) and reads this rank's rows into
 * expect's tables and the progress into expect->progress. Returns STATUS_OK, or
 * STATUS_DATA on every rank with st naming the file and the problem. */
int ckpt_read(const char *path, const Ctx *ctx, CkptContent *expect, Status *st);

/* 1 when a setting may differ between a checkpoint and the run resuming it. */
int ckpt_setting_may_change(const char *name);

/* What a setting absent from a file stands for: options added after files were first
 * written ("blocks", "folds", "fold") were off, "0", in those files; NULL for any other
 * name (its absence is an error). Local. */
const char *ckpt_setting_absent(const char *name);

/* Rank 0 + broadcast: the newest complete checkpoint in dir (by training position), in
 * out (size len). Returns 1 if found, 0 if none. Collective. */
int ckpt_find_latest(char *out, size_t len, const char *dir, const Ctx *ctx);

/* Rank 0: deletes all but the newest keep checkpoints in dir. Collective. */
void ckpt_prune(const char *dir, int keep, const Ctx *ctx);

/* The file name of the checkpoint at a training position: DIR/ckpt-e%04d-i%010d.h5 */
void ckpt_name(char *out, size_t len, const char *dir, int64_t epoch, int64_t iter);

/* Collective: an order-free fingerprint of the rows this rank holds, summed over ranks. */
uint64_t ckpt_fingerprint(const int64_t *gidx, const int32_t *user, const int32_t *item,
                          const float *rating, size_t n, uint64_t salt, const Ctx *ctx);

/* Collective, for modelfile.c (which validates a model file itself): reads each rank's
 * rows of tables[0..n) from path (parallel open) and checks them against sums[i], the
 * tables' checksum attributes; the ranks' rows must partition each table. Returns
 * STATUS_OK or STATUS_DATA on every rank. */
int ckpt_read_rows(const char *path, const Ctx *ctx, CkptTable *tables, size_t n,
                   const uint64_t *sums, Status *st);

#endif
