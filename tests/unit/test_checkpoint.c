/* test_checkpoint.c - checkpoint files: a written file reads back exactly, and every kind
 * of damage (truncated, corrupted, wrong version, missing or extra dataset, wrong shape
 * or type, other settings or data) is refused with a message naming the file and the
 * problem. Runs at one rank (MPI singleton). */
#include "config.h"

#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collab/store/checkpoint.h"
#include "../test.h"

enum { NU = 5, NI = 7, K = 3 };

static float uf[NU * K], ub[NU], itf[NI * K], ib[NI];
static char *users[NU] = {"#na#", "1", "2", "3", "4"};
static char *items[NI] = {"#na#", "10", "11", "12", "13", "14", "15"};
static CkptSetting settings[] = {{"model", "dotbias"}, {"n-factors", "3"}, {"epochs", "5"}};

static void content(CkptContent *c, CkptTable *t)
{
    t[0] = (CkptTable){"model/user_factors", uf, NU, 0, NU, K, NULL, CKPT_F32};
    t[1] = (CkptTable){"model/user_bias", ub, NU, 0, NU, 1, NULL, CKPT_F32};
    t[2] = (CkptTable){"model/item_factors", itf, NI, 0, NI, K, NULL, CKPT_F32};
    t[3] = (CkptTable){"model/item_bias", ib, NI, 0, NI, 1, NULL, CKPT_F32};
    *c = (CkptContent){.with_optimizer = 1,
                       .tables = t,
                       .n_tables = 4,
                       .progress = {2, 7, 107, 107, 0.5, 107, 5},
                       .data = {80, 20, NU, NI, 0x1234},
                       .user_names = users,
                       .item_names = items,
                       .item_titles = NULL,
                       .settings = settings,
                       .n_settings = 3};
}

/* Reads path expecting failure with a message containing want (and the path). */
static void expect_bad(const Ctx *ctx, const char *path, const char *want)
{
    CkptTable t[4];
    CkptContent c;
    Status st;
    status_clear(&st);
    content(&c, t);
    TEST_CHECK(ckpt_read(path, ctx, &c, &st) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, path);
    TEST_STR_CONTAINS(st.msg, want);
}

/* Copies src to dst, optionally truncated to len bytes (0: whole). */
static void copy_file(const char *src, const char *dst, long len)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[4096];
    size_t n;
    long done = 0;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (len && done + (long)n > len)
            n = (size_t)(len - done);
        fwrite(buf, 1, n, out);
        done += (long)n;
        if (len && done >= len)
            break;
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/* Opens a copy of the good file for editing with the HDF5 API. */
static hid_t edit_copy(const char *good, const char *path)
{
    copy_file(good, path, 0);
    return H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
}

static void set_version(const char *good, const char *path, int64_t v)
{
    hid_t f = edit_copy(good, path);
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
    H5Fclose(f);
}

/* Replaces dataset name by one of the given type and dims. */
static void replace_dataset(const char *good, const char *path, const char *name, hid_t type,
                            int rank, hsize_t d0, hsize_t d1)
{
    hid_t f = edit_copy(good, path);
    if (name)
        H5Ldelete(f, name, H5P_DEFAULT);
    if (type >= 0) {
        hsize_t dims[2] = {d0, d1};
        hid_t s = H5Screate_simple(rank, dims, NULL);
        hid_t d = H5Dcreate2(f, name ? name : "model/extra", type, s, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT);
        H5Dclose(d);
        H5Sclose(s);
    }
    H5Fclose(f);
}

/* Flips bytes in the middle of the file's last table (raw data, not metadata). */
static void corrupt(const char *good, const char *path)
{
    copy_file(good, path, 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "model/item_factors", H5P_DEFAULT);
    haddr_t at = H5Dget_offset(d);
    H5Dclose(d);
    H5Fclose(f);
    FILE *fp = fopen(path, "r+b");
    fseek(fp, (long)at + 8, SEEK_SET);
    fputc(0x7f, fp);
    fputc(0x3a, fp);
    fclose(fp);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    Ctx ctx;
    ctx_init(&ctx);
    char dir[] = "/tmp/collab-ckpt-XXXXXX", good[256], bad[256];
    TEST_CHECK(mkdtemp(dir) != NULL);
    snprintf(good, sizeof good, "%s/good.h5", dir);
    snprintf(bad, sizeof bad, "%s/bad.h5", dir);
    for (int i = 0; i < NU * K; i++)
        uf[i] = (float)i * 0.25f;
    for (int i = 0; i < NI * K; i++)
        itf[i] = -(float)i;
    for (int i = 0; i < NU; i++)
        ub[i] = 0.5f + (float)i;
    for (int i = 0; i < NI; i++)
        ib[i] = 1.0f / (float)(i + 1);
    CkptTable t[4];
    CkptContent c;
    Status st;
    status_clear(&st);
    content(&c, t);
    TEST_CHECK(ckpt_write(good, &ctx, &c, &st) == STATUS_OK);
    TEST_CHECK(access(good, R_OK) == 0);
    /* Reads back exactly. */
    float saved[NI * K];
    memcpy(saved, itf, sizeof saved);
    memset(itf, 0, sizeof itf);
    content(&c, t);
    c.progress = (CkptProgress){0};
    TEST_CHECK(ckpt_read(good, &ctx, &c, &st) == STATUS_OK);
    TEST_CHECK(memcmp(saved, itf, sizeof saved) == 0);
    TEST_CHECK(c.progress.iter == 107 && c.progress.batch == 7 && c.progress.smooth_val == 0.5);
    /* Damaged files. */
    expect_bad(&ctx, "/nonexistent/x.h5", "No such file");
    copy_file(good, bad, 1500);
    expect_bad(&ctx, bad, "not a readable HDF5 file (truncated or corrupted?)");
    corrupt(good, bad);
    expect_bad(&ctx, bad, "dataset 'model/item_factors' does not match its checksum");
    set_version(good, bad, 99);
    expect_bad(&ctx, bad, "format version 99, but this program reads version 1");
    replace_dataset(good, bad, "model/user_bias", -1, 1, 0, 0);
    expect_bad(&ctx, bad, "dataset 'model/user_bias' is missing");
    replace_dataset(good, bad, "model/item_factors", H5T_IEEE_F32LE, 2, NI, K + 1);
    expect_bad(&ctx, bad, "dataset 'model/item_factors' has shape (7, 4), expected (7, 3)");
    replace_dataset(good, bad, "model/user_bias", H5T_IEEE_F32LE, 1, NU + 1, 0);
    expect_bad(&ctx, bad, "dataset 'model/user_bias' has shape (6), expected (5)");
    replace_dataset(good, bad, "model/item_bias", H5T_STD_I32LE, 1, NI, 0);
    expect_bad(&ctx, bad, "dataset 'model/item_bias' has the wrong type (expected 32-bit float)");
    replace_dataset(good, bad, NULL, H5T_IEEE_F32LE, 1, 3, 0);
    expect_bad(&ctx, bad, "unexpected dataset 'model/extra'");
    /* Another run's settings or data. */
    content(&c, t);
    CkptSetting other[] = {{"model", "dot"}, {"n-factors", "3"}, {"epochs", "9"}};
    c.settings = other;
    status_clear(&st);
    TEST_CHECK(ckpt_read(good, &ctx, &c, &st) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, "was written with --model dotbias, this run has --model dot");
    content(&c, t);
    c.data.fingerprint = 99;
    status_clear(&st);
    TEST_CHECK(ckpt_read(good, &ctx, &c, &st) == STATUS_DATA);
    TEST_STR_CONTAINS(st.msg, "fingerprint mismatch");
    content(&c, t);
    c.settings = (CkptSetting[]){{"model", "dotbias"}, {"n-factors", "3"}, {"epochs", "9"}};
    status_clear(&st);
    TEST_CHECK(ckpt_read(good, &ctx, &c, &st) == STATUS_OK); /* epochs may change */
    unlink(good);
    unlink(bad);
    rmdir(dir);
    ctx_free(&ctx);
    MPI_Finalize();
    return test_done("test_checkpoint");
}
