/* memory.h - the memory estimate made before training allocates its tables.
 *
 * A job whose tables do not fit should stop at once with a message naming the numbers,
 * not get killed by the kernel (or abort in xmalloc) an hour into loading. The trainer
 * computes what each rank will allocate (memory_need_train); memory_check compares it,
 * collectively, with what the machine offers: --max-memory per rank when given, else the
 * memory the kernel reports available on each node (MemAvailable, capped by a cgroup
 * limit), shared by the ranks of that node. */
#ifndef COLLAB_MEMORY_H
#define COLLAB_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "collab/base/ctx.h"
#include "collab/base/status.h"

/* What one rank will allocate for training, in bytes, by purpose. */
typedef struct MemNeed {
    uint64_t tables;    /* model parameters and their gradients */
    uint64_t optimizer; /* moments, accumulators, per-row decay state */
    uint64_t buffers;   /* batch order, workspace, exchange indices, lr-find copies */
} MemNeed;

/* Bytes this node can still give (MemAvailable from /proc/meminfo, capped by the cgroup
 * v2 or v1 limit minus usage), or 0 when unknown. Local. */
uint64_t memory_available(void);

/* Collective: checks need against max_per_rank (0: use memory_available() per node,
 * shared by the node's ranks). Returns STATUS_OK, or STATUS_DATA on every rank with st
 * saying how much is needed, how much there is, and what to do. */
int memory_check(const MemNeed *need, uint64_t max_per_rank, const Ctx *ctx, Status *st);

#endif
