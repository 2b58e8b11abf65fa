/* modelfile.h - a trained model read back for use: a model file (train --output) or a
 * checkpoint (train --checkpoint-dir), validated the way a resume validates a checkpoint.
 *
 * Rank 0 checks the file (format and version, kind, the settings the model needs, every
 * table's type and shape, the vocabularies) and reads the small parts: vocabularies,
 * titles and the resolved settings, which every rank then holds. The parameter tables
 * are read later, each rank only the rows it needs (modelfile_read_rows), and checked
 * against their checksums and for non-finite values. Every failure is one message
 * naming the file and the problem, the same on every rank (exit 1), never a crash. */
#ifndef COLLAB_MODELFILE_H
#define COLLAB_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "collab/store/checkpoint.h"
#include "collab/data/dataset.h"
#include "collab/base/ctx.h"
#include "collab/model/model.h"
#include "collab/base/status.h"

/* Table indices of ModelFile.sums and modelfile_read_rows. */
enum {
    MF_USER_F = 0,
    MF_USER_B = 1,
    MF_ITEM_F = 2,
    MF_ITEM_B = 3,
    MF_NN_PARAMS = 4, /* MODEL_NN's dense head, replicated */
    MF_NN_STATS = 5,  /* its BatchNorm running statistics (absent without BatchNorm) */
    MF_TABLES = 6
};

typedef struct ModelFile {
    char path[4096];
    char kind[16];      /* "model" or "checkpoint" */
    ModelSpec spec;     /* from the settings: model, n-factors, y-range (nn: layers,
                           batchnorm, and the embedding widths from the vocabularies) */
    CkptData data;      /* the training data's sizes and fingerprint (/data) */
    Vocab users, items; /* as trained, index 0 "#na#"; replicated */
    char **titles;      /* (items.n) display titles, NULL where unknown; replicated */
    size_t n_settings;
    char **set_names;         /* (n_settings) the /settings attributes as stored */
    char **set_values;        /* (n_settings) */
    uint64_t sums[MF_TABLES]; /* checksum attribute of each model table (0: absent) */
} ModelFile;

/* Collective: validates path on rank 0 and gives every rank the metadata. Returns
 * STATUS_OK, or STATUS_DATA on every rank with st naming the file and the problem (mf is
 * then freeable). */
int modelfile_open(ModelFile *mf, const char *path, const Ctx *ctx, Status *st);

/* Collective: reads only the kind and the settings of path (rank 0, then broadcast),
 * for a run that resumes from it before its data is loaded; mf->data, the vocabularies
 * and the checksums stay empty. Returns STATUS_OK or STATUS_DATA on every rank (mf is
 * freeable either way); the full validation is ckpt_read's. */
int modelfile_read_settings(ModelFile *mf, const char *path, const Ctx *ctx, Status *st);

/* The stored value of setting name, or NULL when the file has none. Local. */
const char *modelfile_setting(const ModelFile *mf, const char *name);

/* Collective: reads user rows [user_lo, user_lo + m->n_users) and item rows [item_lo,
 * item_lo + m->n_items) into m (model_init'ed with mf->spec by the caller), and for
 * MODEL_NN the whole dense head and running statistics on every rank. The ranks'
 * ranges must partition both tables (each table is checked against its checksum as a
 * sum over ranks). Non-finite values are an error naming the table and row. */
int modelfile_read_rows(const ModelFile *mf, Model *m, size_t user_lo, size_t item_lo,
                        const Ctx *ctx, Status *st);

/* What to show for item i: its title when known, else its vocabulary entry. Local. */
const char *modelfile_item_label(const ModelFile *mf, size_t i);

/* Frees mf; safe on a zeroed or partly filled one. */
void modelfile_free(ModelFile *mf);

#endif
