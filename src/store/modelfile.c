/* modelfile.c - reading a model file or checkpoint back for use: rank 0 validates and
 * reads the metadata, every rank receives it, each rank reads its own rows of the tables.
 *
 * The validation mirrors checkpoint.c's (with the same attribute and dataset checks,
 * h5.h): every problem becomes a Status naming the file, agreed by all ranks. */
#include "config.h"

#include "collab/store/modelfile.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/base/check.h"
#include "collab/base/h5.h"

static const char *const TABLE_NAMES[MF_TABLES] = {"model/user_factors", "model/user_bias",
                                                   "model/item_factors", "model/item_bias",
                                                   "model/nn_params",    "model/nn_stats"};

/* ------------------------------------------------------------------ settings */

typedef struct SettingsList {
    size_t n, cap;
    char **names, **values;
    int bad;
} SettingsList;

/* H5Aiterate2 callback: appends one string attribute of /settings. */
static herr_t settings_visit(hid_t loc, const char *name, const H5A_info_t *info, void *arg)
{
    (void)info;
    SettingsList *l = arg;
    char value[4096];
    if (h5_attr_read_str(loc, name, value, sizeof value)) {
        l->bad = 1;
        return 0;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->names = xrealloc(l->names, l->cap * sizeof(char *));
        l->values = xrealloc(l->values, l->cap * sizeof(char *));
    }
    l->names[l->n] = xstrdup(name);
    l->values[l->n++] = xstrdup(value);
    return 0;
}

const char *modelfile_setting(const ModelFile *mf, const char *name)
{
    for (size_t i = 0; i < mf->n_settings; i++)
        if (!strcmp(mf->set_names[i], name))
            return mf->set_values[i];
    return NULL;
}

/* The nn model's settings: layers and batchnorm. */
static int parse_nn(ModelFile *mf, Status *st)
{
    const char *layers = modelfile_setting(mf, "layers"), *bn = modelfile_setting(mf, "batchnorm");
    long long bad = 0;
    if (!layers || !bn || model_parse_layers(&mf->spec, layers, &bad) ||
        (strcmp(bn, "yes") && strcmp(bn, "no")))
        return status_set(st, STATUS_DATA,
                          "%s: settings layers '%s', batchnorm '%s' do not describe an nn model",
                          mf->path, layers ? layers : "(missing)", bn ? bn : "(missing)");
    mf->spec.use_bn = !strcmp(bn, "yes");
    return STATUS_OK;
}

/* The model's shape from its settings (model, n-factors, y-range). */
static int parse_spec(ModelFile *mf, Status *st)
{
    const char *model = modelfile_setting(mf, "model");
    const char *k = modelfile_setting(mf, "n-factors"), *yr = modelfile_setting(mf, "y-range");
    if (!model || !k || !yr)
        return status_set(st, STATUS_DATA,
                          "%s: setting '%s' is missing (not written by "
                          "collab-mpi train?)",
                          mf->path,
                          !model ? "model"
                          : !k   ? "n-factors"
                                 : "y-range");
    char *end = NULL;
    long long nk = strtoll(k, &end, 10);
    double lo = 0, hi = 0;
    ModelSpec *s = &mf->spec;
    s->kind = !strcmp(model, "dotbias") ? MODEL_DOTBIAS
              : !strcmp(model, "nn")    ? MODEL_NN
                                        : MODEL_DOT;
    s->has_range = strcmp(yr, "none") != 0;
    if (s->has_range && sscanf(yr, "%lf,%lf", &lo, &hi) != 2)
        lo = hi = NAN;
    if (s->kind == MODEL_NN && parse_nn(mf, st))
        return st->code;
    if ((strcmp(model, "dot") && strcmp(model, "dotbias") && strcmp(model, "nn")) || *end ||
        nk < 1 || nk > 100000 || !(lo <= hi))
        return status_set(st, STATUS_DATA,
                          "%s: settings model '%s', n-factors '%s', y-range "
                          "'%s' do not describe a model",
                          mf->path, model, k, yr);
    s->k = (size_t)nk;
    s->y_lo = (float)lo;
    s->y_hi = (float)hi;
    return STATUS_OK;
}

/* ------------------------------------------------------------------ validation (rank 0) */

static int check_root(hid_t file, ModelFile *mf, Status *st)
{
    char text[256];
    int64_t version = 0;
    if (h5_attr_read_str(file, "format", text, sizeof text) || strcmp(text, "collab-mpi"))
        return status_set(st, STATUS_DATA,
                          "%s: not a collab-mpi model (no 'format' attribute "
                          "'collab-mpi'); give a file written by train --output or "
                          "--checkpoint-dir",
                          mf->path);
    if (h5_attr_read_num(file, "format_version", H5T_NATIVE_INT64, H5T_INTEGER, &version) ||
        version != CKPT_FORMAT_VERSION)
        return status_set(st, STATUS_DATA,
                          "%s: format version %lld, but this program reads "
                          "version %d",
                          mf->path, (long long)version, CKPT_FORMAT_VERSION);
    if (h5_attr_read_str(file, "kind", text, sizeof text) ||
        (strcmp(text, "model") && strcmp(text, "checkpoint")))
        return status_set(st, STATUS_DATA, "%s: is a '%s' file, not a model or a checkpoint",
                          mf->path, text);
    snprintf(mf->kind, sizeof mf->kind, "%.15s", text);
    return STATUS_OK;
}

static int read_settings(hid_t file, ModelFile *mf, Status *st)
{
    SettingsList l = {0};
    if (H5Lexists(file, "settings", H5P_DEFAULT) <= 0)
        return status_set(st, STATUS_DATA, "%s: the 'settings' group is missing", mf->path);
    hid_t g = H5Gopen2(file, "settings", H5P_DEFAULT);
    if (g < 0 || H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, NULL, settings_visit, &l) < 0)
        l.bad = 1;
    if (g >= 0)
        H5Gclose(g);
    mf->n_settings = l.n;
    mf->set_names = l.names;
    mf->set_values = l.values;
    if (l.bad)
        return status_set(st, STATUS_DATA, "%s: the 'settings' group is damaged", mf->path);
    return parse_spec(mf, st);
}

static int read_data_attrs(hid_t file, ModelFile *mf, Status *st)
{
    static const char *const names[] = {"n_train", "n_valid", "n_users", "n_items", "fingerprint"};
    uint64_t *out[] = {&mf->data.n_train, &mf->data.n_valid, &mf->data.n_users, &mf->data.n_items,
                       &mf->data.fingerprint};
    hid_t g = H5Lexists(file, "data", H5P_DEFAULT) > 0 ? H5Gopen2(file, "data", H5P_DEFAULT) : -1;
    int bad = g < 0;
    for (int i = 0; i < 5 && !bad; i++)
        bad = h5_attr_read_num(g, names[i], H5T_NATIVE_UINT64, H5T_INTEGER, out[i]) != 0;
    if (g >= 0)
        H5Gclose(g);
    if (bad || mf->data.n_users < 1 || mf->data.n_items < 1)
        return status_set(st, STATUS_DATA, "%s: the 'data' group is missing or damaged", mf->path);
    return STATUS_OK;
}

/* Every model table of the spec: type, shape and a checksum attribute. */
static int check_tables(hid_t file, ModelFile *mf, Status *st)
{
    ModelSpec *s = &mf->spec;
    NNLayout L = {0};
    model_nn_sizes(s, mf->data.n_users, mf->data.n_items);
    if (s->kind == MODEL_NN)
        nn_layout(&L, s->k_user + s->k, s->layers, s->n_layers, s->use_bn);
    const uint64_t rows[MF_TABLES] = {mf->data.n_users, mf->data.n_users, mf->data.n_items,
                                      mf->data.n_items, L.n_params,       L.n_stats};
    const int nn = s->kind == MODEL_NN;
    for (int t = 0; t < MF_TABLES && !st->code; t++) {
        const int factors = t == MF_USER_F || t == MF_ITEM_F;
        const int used = factors || (t <= MF_ITEM_B ? s->kind == MODEL_DOTBIAS : rows[t] > 0);
        if (!used)
            continue;
        hsize_t dims[2] = {rows[t], t == MF_USER_F && nn ? s->k_user : s->k};
        if (!h5_check_dataset(file, TABLE_NAMES[t], H5T_FLOAT, 4, factors ? 2 : 1, dims, mf->path,
                              st))
            h5_read_checksum(file, TABLE_NAMES[t], H5T_NATIVE_UINT64, &mf->sums[t], mf->path, st);
    }
    return st->code;
}

/* Reads a fixed-length string dataset of n entries into a fresh array ("" -> NULL when
 * empty_null). */
static int read_strings(hid_t file, const char *name, size_t n, int empty_null, char ***out,
                        const char *path, Status *st)
{
    hsize_t dims = n;
    if (h5_check_dataset(file, name, H5T_STRING, 0, 1, &dims, path, st))
        return st->code;
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT), t = H5Dget_type(ds);
    size_t width = H5Tis_variable_str(t) > 0 ? 0 : H5Tget_size(t);
    char *buf = width ? xcalloc(n ? n : 1, width) : NULL;
    if (!width || H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        status_set(st, STATUS_DATA, "%s: dataset '%s' cannot be read as fixed-length strings", path,
                   name);
    H5Tclose(t);
    H5Dclose(ds);
    char **s = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; !st->code && i < n; i++) {
        char *e = buf + i * width;
        size_t len = strnlen(e, width);
        if (len == 0 && empty_null)
            continue;
        s[i] = xmalloc(len + 1);
        memcpy(s[i], e, len);
        s[i][len] = '\0';
    }
    free(buf);
    *out = s;
    /* Files written before the strings had checksums have none: accepted. */
    uint64_t sum = 0;
    ds = st->code ? -1 : H5Dopen2(file, name, H5P_DEFAULT);
    if (ds >= 0 && !h5_attr_read_num(ds, "checksum", H5T_NATIVE_UINT64, H5T_INTEGER, &sum) &&
        sum != h5_strings_checksum(s, n))
        status_set(st, STATUS_DATA,
                   "%s: dataset '%s' does not match its checksum (the file "
                   "is corrupted)",
                   path, name);
    if (ds >= 0)
        H5Dclose(ds);
    return st->code;
}

static void free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

/* Rank 0: the whole validation and the metadata, on a serial open of the file. */
static int validate(ModelFile *mf, char ***unames, char ***inames, Status *st)
{
    if (access(mf->path, R_OK) != 0)
        return status_set(st, STATUS_DATA,
                          "cannot open model file '%s': %s (give a file "
                          "written by train --output or --checkpoint-dir)",
                          mf->path, strerror(errno));
    hid_t file = H5Fopen(mf->path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return status_set(st, STATUS_DATA,
                          "%s: not an HDF5 file (truncated, corrupted or not "
                          "a model?)",
                          mf->path);
    if (!check_root(file, mf, st) && !read_settings(file, mf, st) &&
        !read_data_attrs(file, mf, st) && !check_tables(file, mf, st) &&
        !read_strings(file, "vocab/users", mf->data.n_users, 0, unames, mf->path, st) &&
        !read_strings(file, "vocab/items", mf->data.n_items, 0, inames, mf->path, st))
        read_strings(file, "vocab/titles", mf->data.n_items, 1, &mf->titles, mf->path, st);
    H5Fclose(file);
    return st->code;
}

/* ------------------------------------------------------------------ broadcast */

/* Packs n strings (NULL allowed) into a growing byte buffer: flag, text, NUL. */
static void pack_strings(char **buf, size_t *len, size_t *cap, char *const *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t l = s[i] ? strlen(s[i]) : 0;
        if (*len + l + 2 > *cap) {
            *cap = 2 * (*len + l + 2);
            *buf = xrealloc(*buf, *cap);
        }
        (*buf)[(*len)++] = s[i] ? 1 : 0;
        memcpy(*buf + *len, s[i] ? s[i] : "", l + 1);
        *len += l + 1;
    }
}

static char **unpack_strings(const char **at, size_t n)
{
    char **s = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        int present = *(*at)++;
        s[i] = present ? xstrdup(*at) : NULL;
        *at += strlen(*at) + 1;
    }
    return s;
}

/* Rank 0's metadata and strings to every rank. */
static void bcast_meta(ModelFile *mf, char ***unames, char ***inames, const Ctx *ctx)
{
    uint64_t n_settings = mf->n_settings;
    CHECK_MPI(MPI_Bcast(mf->kind, sizeof mf->kind, MPI_CHAR, 0, ctx->comm));
    CHECK_MPI(MPI_Bcast(&mf->spec, sizeof mf->spec, MPI_BYTE, 0, ctx->comm));
    CHECK_MPI(MPI_Bcast(&mf->data, sizeof mf->data, MPI_BYTE, 0, ctx->comm));
    CHECK_MPI(MPI_Bcast(mf->sums, MF_TABLES, MPI_UINT64_T, 0, ctx->comm));
    CHECK_MPI(MPI_Bcast(&n_settings, 1, MPI_UINT64_T, 0, ctx->comm));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (ctx->rank == 0) {
        pack_strings(&buf, &len, &cap, *unames, mf->data.n_users);
        pack_strings(&buf, &len, &cap, *inames, mf->data.n_items);
        pack_strings(&buf, &len, &cap, mf->titles, mf->data.n_items);
        pack_strings(&buf, &len, &cap, mf->set_names, n_settings);
        pack_strings(&buf, &len, &cap, mf->set_values, n_settings);
    }
    uint64_t n = len;
    CHECK_MPI(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, ctx->comm));
    if (ctx->rank != 0)
        buf = xmalloc(n ? n : 1);
    for (uint64_t off = 0; off < n; off += 1u << 30) { /* int counts: 1 GiB pieces */
        uint64_t piece = n - off < (1u << 30) ? n - off : (1u << 30);
        CHECK_MPI(MPI_Bcast(buf + off, (int)piece, MPI_CHAR, 0, ctx->comm));
    }
    if (ctx->rank != 0) {
        const char *at = buf;
        *unames = unpack_strings(&at, mf->data.n_users);
        *inames = unpack_strings(&at, mf->data.n_items);
        mf->titles = unpack_strings(&at, mf->data.n_items);
        mf->n_settings = n_settings;
        mf->set_names = unpack_strings(&at, n_settings);
        mf->set_values = unpack_strings(&at, n_settings);
    }
    free(buf);
}

/* Builds v from names as stored and checks that collab-mpi's order gives them back
 * index for index (names[0] is #na#, the rest sorted and distinct). */
static int vocab_from_names(Vocab *v, char **names, size_t n, const char *what, const char *path,
                            Status *st)
{
    int32_t *idx = xmalloc((n ? n : 1) * sizeof(int32_t));
    for (size_t i = 0; i + 1 < n; i++)
        idx[i] = (int32_t)i;
    vocab_build(v, names + 1, idx, n ? n - 1 : 0);
    free(idx);
    int same = v->n == n && n > 0 && names[0] && !strcmp(names[0], "#na#");
    for (size_t i = 1; same && i < n; i++)
        same = names[i] && !strcmp(v->names[i], names[i]);
    if (!same)
        return status_set(st, STATUS_DATA,
                          "%s: the vocabulary 'vocab/%s' is not a collab-mpi "
                          "vocabulary (#na# first, then sorted distinct values)",
                          path, what);
    return STATUS_OK;
}

int modelfile_open(ModelFile *mf, const char *path, const Ctx *ctx, Status *st)
{
    char **unames = NULL, **inames = NULL;
    memset(mf, 0, sizeof *mf);
    snprintf(mf->path, sizeof mf->path, "%s", path);
    if (ctx->rank == 0)
        validate(mf, &unames, &inames, st);
    if (status_agree(st, ctx->comm) == STATUS_OK) {
        bcast_meta(mf, &unames, &inames, ctx);
        /* Deterministic from the broadcast names: every rank reaches the same verdict. */
        if (!vocab_from_names(&mf->users, unames, mf->data.n_users, "users", path, st))
            vocab_from_names(&mf->items, inames, mf->data.n_items, "items", path, st);
    }
    free_strings(unames, mf->data.n_users);
    free_strings(inames, mf->data.n_items);
    return st->code;
}

/* ------------------------------------------------------------------ table rows */

/* The first non-finite value of table t's local rows: its global row, or -1. */
int modelfile_read_settings(ModelFile *mf, const char *path, const Ctx *ctx, Status *st)
{
    char **unames = NULL, **inames = NULL; /* none: mf->data stays zero */
    memset(mf, 0, sizeof *mf);
    snprintf(mf->path, sizeof mf->path, "%s", path);
    if (ctx->rank == 0) {
        hid_t file = access(path, R_OK) == 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
        if (file < 0)
            status_set(st, STATUS_DATA, "%s: cannot be opened as an HDF5 file", path);
        else if (!check_root(file, mf, st))
            read_settings(file, mf, st);
        if (file >= 0)
            H5Fclose(file);
    }
    if (status_agree(st, ctx->comm) == STATUS_OK)
        bcast_meta(mf, &unames, &inames, ctx);
    free_strings(unames, 0);
    free_strings(inames, 0);
    return st->code;
}

static int64_t first_non_finite(const CkptTable *t)
{
    for (size_t e = 0; e < t->rows * t->width; e++)
        if (!isfinite(t->data[e]))
            return (int64_t)(t->row0 + e / t->width);
    return -1;
}

/* MODEL_NN: rank 0's dense head and statistics to every rank. */
static void share_nn(Model *m, const Ctx *ctx)
{
    if (!m->dense)
        return;
    CHECK_MPI(MPI_Bcast(m->dense, (int)m->nn.n_params, MPI_FLOAT, 0, ctx->comm));
    if (m->nn.n_stats)
        CHECK_MPI(MPI_Bcast(m->stats, (int)m->nn.n_stats, MPI_FLOAT, 0, ctx->comm));
}

int modelfile_read_rows(const ModelFile *mf, Model *m, size_t user_lo, size_t item_lo,
                        const Ctx *ctx, Status *st)
{
    const size_t k = mf->spec.k, ku = m->ku;
    const size_t nu = mf->data.n_users, ni = mf->data.n_items;
    /* the replicated nn tables: rank 0 reads them whole, then shares them */
    const size_t np = m->nn.n_params, ns = m->nn.n_stats, r0 = ctx->rank == 0;
    CkptTable t[MF_TABLES] = {
        {TABLE_NAMES[MF_USER_F], m->user_f, m->n_users, user_lo, nu, ku, NULL, CKPT_F32},
        {TABLE_NAMES[MF_USER_B], m->user_b, m->n_users, user_lo, nu, 1, NULL, CKPT_F32},
        {TABLE_NAMES[MF_ITEM_F], m->item_f, m->n_items, item_lo, ni, k, NULL, CKPT_F32},
        {TABLE_NAMES[MF_ITEM_B], m->item_b, m->n_items, item_lo, ni, 1, NULL, CKPT_F32},
        {TABLE_NAMES[MF_NN_PARAMS], m->dense, r0 ? np : 0, 0, np, 1, NULL, CKPT_F32},
        {TABLE_NAMES[MF_NN_STATS], ns ? m->stats : NULL, r0 ? ns : 0, 0, ns, 1, NULL, CKPT_F32}};
    CkptTable use[MF_TABLES];
    uint64_t sums[MF_TABLES];
    size_t n = 0;
    for (int i = 0; i < MF_TABLES; i++)
        if (t[i].data) {
            sums[n] = mf->sums[i];
            use[n++] = t[i];
        }
    if (ckpt_read_rows(mf->path, ctx, use, n, sums, st))
        return st->code;
    for (size_t i = 0; i < n && !st->code; i++) {
        int64_t row = first_non_finite(&use[i]);
        if (row >= 0)
            status_set(st, STATUS_DATA,
                       "%s: dataset '%s' holds a non-finite value in row %lld "
                       "(did training diverge? try a lower --lr)",
                       mf->path, use[i].name, (long long)row);
    }
    if (status_agree(st, ctx->comm))
        return st->code;
    share_nn(m, ctx);
    return STATUS_OK;
}

/* ------------------------------------------------------------------ the rest */

const char *modelfile_item_label(const ModelFile *mf, size_t i)
{
    return mf->titles && mf->titles[i] ? mf->titles[i] : mf->items.names[i];
}

void modelfile_free(ModelFile *mf)
{
    vocab_free(&mf->users);
    vocab_free(&mf->items);
    free_strings(mf->titles, mf->data.n_items);
    free_strings(mf->set_names, mf->n_settings);
    free_strings(mf->set_values, mf->n_settings);
    memset(mf, 0, sizeof *mf);
}
