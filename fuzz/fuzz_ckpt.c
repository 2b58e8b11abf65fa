/* fuzz_ckpt.c - the readers of collab-mpi's HDF5 files on arbitrary files at one rank:
 * checkpoint validation and reading (ckpt_read, as train --resume does), the model-file
 * reader (modelfile_open and modelfile_read_rows, as every command that uses a model
 * does), and the prepared-file loader (prep_load, as train --data FILE.h5 does). Byte 0
 * picks which (modulo 3); the rest is the file. Every outcome must be a clean Status
 * naming the file, never a crash, a hang, a leak or undefined behaviour.
 *
 * Seeds: with COLLAB_FUZZ_SEEDS=DIR, LLVMFuzzerInitialize writes a good checkpoint, a
 * good model file of the small model below and a small prepared file into DIR (make
 * fuzz does). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/store/checkpoint.h"
#include "collab/store/modelfile.h"
#include "collab/data/prepared.h"
#include "fuzz.h"

enum { NU = 5, NI = 7, K = 3 };

static float uf[NU * K], ub[NU], itf[NI * K], ib[NI];
static float m_uf[NU * K], m_ub[NU], m_itf[NI * K], m_ib[NI];
static char *users[NU] = {"#na#", "1", "2", "3", "4"};
static char *items[NI] = {"#na#", "10", "11", "12", "13", "14", "15"};
static char *titles[NI] = {NULL, "Ten", "Eleven", NULL, "Thirteen", "Fourteen", "Fifteen"};
static CkptSetting settings[] = {
    {"model", "dotbias"}, {"n-factors", "3"}, {"y-range", "0,5.5"}, {"epochs", "5"}};
static Ctx ctx;

/* The small model: tables t (8 entries: model, then the first moment), optimizer or not. */
static void content(CkptContent *c, CkptTable *t, int with_optimizer)
{
    t[0] = (CkptTable){"model/user_factors", uf, NU, 0, NU, K, NULL, CKPT_F32};
    t[1] = (CkptTable){"model/user_bias", ub, NU, 0, NU, 1, NULL, CKPT_F32};
    t[2] = (CkptTable){"model/item_factors", itf, NI, 0, NI, K, NULL, CKPT_F32};
    t[3] = (CkptTable){"model/item_bias", ib, NI, 0, NI, 1, NULL, CKPT_F32};
    t[4] = (CkptTable){"optimizer/m/user_factors", m_uf, NU, 0, NU, K, NULL, CKPT_F32};
    t[5] = (CkptTable){"optimizer/m/user_bias", m_ub, NU, 0, NU, 1, NULL, CKPT_F32};
    t[6] = (CkptTable){"optimizer/m/item_factors", m_itf, NI, 0, NI, K, NULL, CKPT_F32};
    t[7] = (CkptTable){"optimizer/m/item_bias", m_ib, NI, 0, NI, 1, NULL, CKPT_F32};
    *c = (CkptContent){.with_optimizer = with_optimizer,
                       .tables = t,
                       .n_tables = with_optimizer ? 8 : 4,
                       .progress = {2, 7, 107, 107, 0.5, 107, 5, 1.0},
                       .data = {80, 20, NU, NI, 0x1234},
                       .user_names = users,
                       .item_names = items,
                       .item_titles = titles,
                       .settings = settings,
                       .n_settings = 4};
}

/* Writes the good checkpoint and model into dir (seeds: byte 0 says which reader). */
static void write_seeds(const char *dir)
{
    for (int kind = 0; kind < 2; kind++) {
        char path[512], seed[512];
        CkptTable t[8];
        CkptContent c;
        Status st;
        status_clear(&st);
        for (size_t i = 0; i < NU * K; i++)
            uf[i] = 0.25f * (float)i, m_uf[i] = 0.01f;
        content(&c, t, kind == 0);
        snprintf(path, sizeof path, "%s/seed.h5", fuzz_setup());
        if (ckpt_write(path, &ctx, &c, &st))
            fprintf(stderr, "fuzz_ckpt: cannot write a seed: %s\n", st.msg);
        FILE *in = fopen(path, "rb");
        snprintf(seed, sizeof seed, "%s/%s.h5", dir, kind == 0 ? "checkpoint" : "model");
        FILE *out = fopen(seed, "wb");
        int ch;
        if (out)
            fputc(kind, out);
        while (in && out && (ch = fgetc(in)) != EOF)
            fputc(ch, out);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        unlink(path);
    }
}

/* Copies path into dir/name with the mode byte kind first. */
static void put_seed(const char *dir, const char *name, int kind, const char *path)
{
    char seed[512];
    snprintf(seed, sizeof seed, "%s/%s", dir, name);
    FILE *in = fopen(path, "rb"), *out = fopen(seed, "wb");
    int ch;
    if (out)
        fputc(kind, out);
    while (in && out && (ch = fgetc(in)) != EOF)
        fputc(ch, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/* A prepared file of a few ratings (mode 2). */
static void write_prepared_seed(const char *dir)
{
    static const char csv[] = "userId,movieId,rating,timestamp\n1,10,4.0,1\n1,11,3.5,2\n"
                              "2,10,5.0,3\n3,12,1.0,4\n";
    char out[512];
    const char *text = fuzz_write(fuzz_setup(), "seed.csv", (const uint8_t *)csv, sizeof csv - 1);
    char cwd[512];
    DataOptions o;
    data_options_default(&o);
    o.path = "seed.csv"; /* relative: the seed then holds no path of this machine */
    if (!getcwd(cwd, sizeof cwd) || chdir(fuzz_setup()) != 0)
        o.path = text;
    PrepSummary sum;
    Status st;
    status_clear(&st);
    snprintf(out, sizeof out, "%s/seed-prep.h5", fuzz_setup());
    if (prep_write(&sum, out, &o, MPI_COMM_WORLD, &st))
        fprintf(stderr, "fuzz_ckpt: cannot write the prepared seed: %s\n", st.msg);
    if (o.path != text && chdir(cwd) != 0)
        perror(cwd);
    put_seed(dir, "prepared.h5", 2, out);
    unlink(out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    ctx_init(&ctx);
    const char *seeds = getenv("COLLAB_FUZZ_SEEDS");
    if (seeds) {
        write_seeds(seeds);
        write_prepared_seed(seeds);
    }
    return 0;
}

static void read_checkpoint(const char *path)
{
    CkptTable t[8];
    CkptContent c;
    Status st;
    status_clear(&st);
    content(&c, t, 1);
    (void)ckpt_read(path, &ctx, &c, &st);
    fuzz_report(&st);
}

static void read_model(const char *path)
{
    ModelFile mf;
    Status st;
    status_clear(&st);
    if (!modelfile_open(&mf, path, &ctx, &st)) {
        Model m;
        model_init(&m, &mf.spec, mf.users.n, mf.items.n);
        (void)modelfile_read_rows(&mf, &m, 0, 0, &ctx, &st);
        model_free(&m);
    }
    fuzz_report(&st);
    modelfile_free(&mf);
}

static void read_prepared(const char *path)
{
    DataOptions o;
    data_options_default(&o);
    o.path = path;
    const SplitSpec sp = {NULL, 0.2, 42, 0, 0};
    Dataset ds;
    Status st;
    status_clear(&st);
    if (!prep_load(&ds, &o, &sp, MPI_COMM_WORLD, &st))
        dataset_free(&ds);
    fuzz_report(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path = fuzz_write(fuzz_setup(), "input.h5", data + 1, size - 1);
    if (data[0] % 3 == 0)
        read_checkpoint(path);
    else if (data[0] % 3 == 1)
        read_model(path);
    else
        read_prepared(path);
    return 0;
}
