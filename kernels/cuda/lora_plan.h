#ifndef PEERGRAPH_LORA_PLAN_H
#define PEERGRAPH_LORA_PLAN_H
/* How one step's LoRA work is launched on the GPU (kernels/cuda/engine.cu),
 * computed on the host. Plain C, compiled in every build, so that the plan is
 * unit-tested on machines without a GPU (tests/unit/test_lora_plan.c).
 *
 * Tokens whose adapter is a LoRA are grouped by adapter slot. A group of at
 * least min_seg tokens (a prefill chunk) becomes an SGMV segment: one shrink
 * and one expand read the adapter once for all its tokens. Smaller groups
 * (the decode tokens of all-token requests: one token per adapter per step)
 * go to BGMV, one block per token gathering its own adapter, so that a step
 * mixing prefill chunks and decode tokens launches both kernels, each on the
 * tokens it suits, instead of SGMV with hundreds of one-token segments. */
#include <stddef.h>
#include <stdint.h>

typedef struct pgr_lora_plan {
    int n_seg;     /* SGMV segments */
    int n_seg_tok; /* tokens in them */
    int n_bgmv;    /* tokens left to BGMV */
} pgr_lora_plan;

/* slot (n): the token's adapter slot, or -1 (no LoRA at its position).
 * min_seg >= 1 (1: everything in segments, as SGMV alone would).
 * Outputs (caller-allocated): seg_start (n + 1), seg_tok (n), seg_slot (n),
 * bgmv_slot (n: the slot for BGMV tokens, -1 for the others); scratch (n).
 * Segments come by ascending slot, their tokens in batch order; seg_start
 * has n_seg + 1 entries (the last is n_seg_tok). Returns 0, or -1 when n < 0
 * or min_seg < 1. */
int pgr_lora_plan_make(int n, const int32_t *slot, int min_seg, int32_t *seg_start,
                       int32_t *seg_tok, int32_t *seg_slot, int32_t *bgmv_slot,
                       int64_t *scratch, pgr_lora_plan *out);

#endif
