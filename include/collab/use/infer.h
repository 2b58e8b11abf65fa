/* infer.h - a trained model sharded for use: predictions for (user, item) pairs, scores
 * of item blocks, the cold-start stand-ins, and top-N lists that do not depend on -np.
 *
 * Ownership follows training's rules (shard.h): users in contiguous ranges, items in
 * near-equal blocks; each rank reads and holds only its rows. Item rows a rank needs
 * for its users' pairs are fetched from their owners through the training exchange.
 *
 * Cold start (docs/USING.md): vocabulary index 0 (#na#) is "unknown". An unknown user is
 * replaced by the average known user (the mean of user rows 1.. and of their biases), an
 * unknown item by the average known item, then the model's own formula applies; so for
 * DotProductBias an unknown user gets sigmoid_range(item bias + mean user bias + <mean
 * user, item>) - the item's standing for a typical user - and never NaN. The means are
 * sums in fixed point, so they are the same bits at any number of ranks.
 *
 * Ties: every ranking orders by score, higher first, then by vocabulary index, lower
 * first, a total order, so top-N lists are the same whichever rank held which item. */
#ifndef COLLAB_INFER_H
#define COLLAB_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "collab/dist/exchange.h"
#include "collab/model/model.h"
#include "collab/store/modelfile.h"
#include "collab/data/shard.h"

typedef struct Infer {
    const Ctx *ctx;
    const ModelFile *mf;
    Layout layout;        /* users in ranges, items in blocks */
    size_t user_lo;       /* global index of this rank's first user row */
    size_t item_lo;       /* global index of this rank's first item row */
    Model m;              /* this rank's rows: m.n_users users, m.n_items items */
    size_t uw;            /* floats of a user row: m.ku factors + bias */
    float *avg_user;      /* (uw) average known user: factors, bias */
    float *avg_item;      /* (k + 1) average known item: factors, bias */
    Exchange x;           /* fetches item rows from their owners */
    size_t cap;           /* capacity of the scratch buffers below (rows) */
    float *irows, *ibias; /* (cap, k), (cap) gathered item rows */
    float *z;             /* (cap) logits */
    NNWork nnw;           /* MODEL_NN: the head's workspace, for cap rows */
    float *nx;            /* MODEL_NN: (cap, m.nn.n_in) inputs */
} Infer;

/* Collective: shards mf over ctx's ranks and reads this rank's rows. users: the user
 * ranges to use (a dataset's layout, so that each rank's users' ratings and rows are
 * together) or NULL for ranges of equal size. Returns STATUS_OK, or STATUS_DATA on every
 * rank (st names the file and the problem); in is freeable either way. */
int infer_init(Infer *in, const Ctx *ctx, const ModelFile *mf, const Layout *users, Status *st);
void infer_free(Infer *in);

/* Collective: pred[j] for this rank's n pairs (user[j] owned by this rank, or 0 for an
 * unknown user; item[j] any item, 0 for an unknown one); cold start as above. Every rank
 * calls it, with n = 0 if it has no pairs. */
void infer_predict_local(Infer *in, float *pred, const int32_t *user, const int32_t *item,
                         size_t n);

/* Collective: predictions for n pairs given on rank 0 (global indices; other ranks pass
 * n = 0 and NULLs); pred is filled on rank 0 in the same order. */
void infer_predict_root(Infer *in, float *pred, const int32_t *user, const int32_t *item, size_t n);

/* Local: a user's row as infer_score_items takes it, in->uw floats: factors, then the
 * bias (0 for DotProduct and nn). user is owned by this rank, or 0 for the average user. */
void infer_user_row(const Infer *in, float *row, size_t user);

/* Local: this rank's item rows transposed, (k, m.n_items), as infer_score_items takes
 * them. The caller frees the array. */
float *infer_items_t(const Infer *in);

/* Local: the predictions for the user whose row (infer_user_row) is given, for n items
 * given transposed, items_t (k, n), with biases (n; NULL for DotProduct and nn). The same
 * bits as infer_predict_local (model_forward_items, vectorised across the items; for nn
 * the head in evaluation mode, where each row's output depends on that row alone). */
void infer_score_items(Infer *in, float *pred, const float *user_row, const float *items_t,
                       const float *bias, size_t n);

/* ---- top-N under the total order (score desc, index asc) ---- */

/* A bounded list of the best entries seen: a heap while filling, sorted by topn_sort. */
typedef struct TopN {
    size_t cap, n;
    float *score; /* (cap) */
    int32_t *idx; /* (cap) */
} TopN;

void topn_init(TopN *t, size_t cap);
void topn_free(TopN *t);
/* Offers (s, i); kept when among the cap best so far. Local. */
void topn_push(TopN *t, float s, int32_t i);
/* Sorts the kept entries best first. Local. */
void topn_sort(TopN *t);

/* The same on caller-owned storage (for many lists in one allocation): score and idx
 * hold cap entries, *n is the current count. */
void topn_push_raw(float *score, int32_t *idx, size_t *n, size_t cap, float s, int32_t i);
void topn_sort_raw(float *score, int32_t *idx, size_t n);

/* Collective: merges every rank's list t into rank 0's, which ends sorted best first
 * with at most t->cap entries; the other ranks' lists are left as they were. */
void topn_merge_root(TopN *t, const Ctx *ctx);

#endif
