/* The host-side LoRA launch plan of a CUDA step: see lora_plan.h. */
#include "kernels/cuda/lora_plan.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int pgr_lora_plan_make(int n, const int32_t *slot, int min_seg, int32_t *seg_start,
                       int32_t *seg_tok, int32_t *seg_slot, int32_t *bgmv_slot,
                       int64_t *scratch, pgr_lora_plan *out)
{
    int n_act = 0;
    memset(out, 0, sizeof *out);
    if (n < 0 || min_seg < 1)
        return -1;
    for (int t = 0; t < n; t++) {
        bgmv_slot[t] = -1;
        if (slot[t] >= 0) /* slot in the high half: sorting groups by slot, then batch order */
            scratch[n_act++] = (int64_t)slot[t] << 32 | (int64_t)t;
    }
    qsort(scratch, (size_t)n_act, sizeof *scratch, cmp_i64);
    for (int i = 0; i < n_act;) {
        const int32_t s = (int32_t)(scratch[i] >> 32);
        int j = i;
        while (j < n_act && (int32_t)(scratch[j] >> 32) == s)
            j++;
        if (j - i >= min_seg) {
            seg_start[out->n_seg] = out->n_seg_tok;
            seg_slot[out->n_seg++] = s;
            for (int k = i; k < j; k++)
                seg_tok[out->n_seg_tok++] = (int32_t)(scratch[k] & 0xffffffff);
        } else {
            for (int k = i; k < j; k++)
                bgmv_slot[scratch[k] & 0xffffffff] = s;
            out->n_bgmv += j - i;
        }
        i = j;
    }
    seg_start[out->n_seg] = out->n_seg_tok;
    return 0;
}
