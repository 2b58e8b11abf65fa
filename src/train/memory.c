/* memory.c - the memory estimate made before training allocates its tables: sizes,
 * what the node has available, and the collective check with its message. */
#include "config.h"

#include "collab/train/memory.h"

#include <stdio.h>

#include "collab/base/check.h"
#include "collab/base/hooks.h"
#include "collab/base/size.h"

/* The first number in file path (a cgroup file), or 0 when absent or "max". */
static uint64_t read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (f && fscanf(f, "%llu", &v) != 1)
        v = 0;
    if (f)
        fclose(f);
    return (uint64_t)v;
}

/* MemAvailable from /proc/meminfo in bytes, or 0 when unknown. */
static uint64_t meminfo_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024;
}

/* What a cgroup limit leaves (limit - usage), or 0 when there is no limit. */
static uint64_t cgroup_left(const char *limit_path, const char *usage_path)
{
    uint64_t limit = read_number(limit_path), usage = read_number(usage_path);
    if (limit == 0 || limit >= (UINT64_C(1) << 60)) /* "max", or v1's "unlimited" */
        return 0;
    return limit > usage ? limit - usage : 1;
}

uint64_t memory_available(void)
{
    /* Test hook: COLLAB_TEST_MEMAVAILABLE=SIZE stands for what the kernel reports. */
    uint64_t avail = hooks_mem_available();
    if (avail)
        return avail;
    avail = meminfo_available();
    uint64_t cg[2] = {cgroup_left("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                      cgroup_left("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                  "/sys/fs/cgroup/memory/memory.usage_in_bytes")};
    for (int i = 0; i < 2; i++)
        if (cg[i] && (avail == 0 || cg[i] < avail))
            avail = cg[i];
    return avail;
}

/* The node's total need and availability: ranks sharing memory are summed. */
static void node_totals(uint64_t need, uint64_t *node_need, int *node_ranks, const Ctx *ctx)
{
    MPI_Comm node;
    CHECK_MPI(
        MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, ctx->rank, MPI_INFO_NULL, &node));
    CHECK_MPI(MPI_Allreduce(&need, node_need, 1, MPI_UINT64_T, MPI_SUM, node));
    CHECK_MPI(MPI_Comm_size(node, node_ranks));
    CHECK_MPI(MPI_Comm_free(&node));
}

int memory_check(const MemNeed *need, uint64_t max_per_rank, const Ctx *ctx, Status *st)
{
    const uint64_t mine = need->tables + need->optimizer + need->buffers;
    uint64_t have = max_per_rank, want = mine;
    int ranks = 1;
    if (!max_per_rank) {
        node_totals(mine, &want, &ranks, ctx);
        have = memory_available();
    }
    char node[96] = "";
    if (ranks > 1)
        snprintf(node, sizeof node, "; %s for the %d ranks of its node", size_text(want).s, ranks);
    /* Adagrad only helps where moments are a large part (Adam's, SGD's momentum). */
    const char *hint = need->optimizer > need->tables / 2
                           ? ", or --opt adagrad (one accumulator per row instead of two "
                             "moments per parameter)"
                           : "";
    if (have && want > have)
        status_set(st, STATUS_DATA,
                   "not enough memory for training: rank %d needs about %s (model tables and "
                   "gradients %s, optimizer state %s, buffers %s%s), but %s %s: use more "
                   "ranks (on more nodes), a smaller --n-factors%s",
                   ctx->rank, size_text(mine).s, size_text(need->tables).s,
                   size_text(need->optimizer).s, size_text(need->buffers).s, node,
                   max_per_rank ? "--max-memory allows" : "its node has available",
                   size_text(have).s, hint);
    return status_agree(st, ctx->comm);
}
