/* The CUDA engine's LoRA launch plan (kernels/cuda/lora_plan.h), host code
 * that runs in every build: which tokens go to SGMV segments and which to
 * BGMV. Checked on a hand-made step and against an independent count on
 * random steps (every LoRA token exactly once, segments by ascending slot
 * with their tokens in batch order, groups below min_seg per token). */
#include <stdint.h>
#include <stdlib.h>

#include "../check.h"
#include "kernels/cuda/lora_plan.h"

#define NMAX 600

static int32_t seg_start[NMAX + 1], seg_tok[NMAX], seg_slot[NMAX], bslot[NMAX];
static int64_t scratch[NMAX];

static void test_hand_made(void)
{
    /* a prefill chunk of slot 3 (tokens 1, 2, 4), two tokens of slot 5, and
     * decode tokens of slots 7 and 9; tokens 0 and 6 have no LoRA */
    const int32_t slot[9] = {-1, 3, 3, 5, 3, 7, -1, 5, 9};
    pgr_lora_plan p;
    CHECK_INT(pgr_lora_plan_make(9, slot, 2, seg_start, seg_tok, seg_slot, bslot, scratch, &p), 0);
    CHECK_INT(p.n_seg, 2);
    CHECK_INT(p.n_seg_tok, 5);
    CHECK_INT(p.n_bgmv, 2);
    const int32_t want_start[3] = {0, 3, 5}, want_tok[5] = {1, 2, 4, 3, 7}, want_slot[2] = {3, 5};
    const int32_t want_b[9] = {-1, -1, -1, -1, -1, 7, -1, -1, 9};
    for (int i = 0; i < 3; i++)
        CHECK_INT(seg_start[i], want_start[i]);
    for (int i = 0; i < 5; i++)
        CHECK_INT(seg_tok[i], want_tok[i]);
    for (int i = 0; i < 2; i++)
        CHECK_INT(seg_slot[i], want_slot[i]);
    for (int i = 0; i < 9; i++)
        CHECK_INT(bslot[i], want_b[i]);
    /* min_seg 1: SGMV alone (the engine's PEERGRAPH_CUDA_SGMV_MIN=1) */
    CHECK_INT(pgr_lora_plan_make(9, slot, 1, seg_start, seg_tok, seg_slot, bslot, scratch, &p), 0);
    CHECK(p.n_seg == 4 && p.n_seg_tok == 7 && p.n_bgmv == 0 && seg_start[4] == 7);
    /* a pure all-token decode step: every token its own adapter -> BGMV only */
    const int32_t dec[4] = {12, 0, 7, 1023};
    CHECK_INT(pgr_lora_plan_make(4, dec, 2, seg_start, seg_tok, seg_slot, bslot, scratch, &p), 0);
    CHECK(p.n_seg == 0 && p.n_seg_tok == 0 && p.n_bgmv == 4 && seg_start[0] == 0);
    for (int i = 0; i < 4; i++)
        CHECK_INT(bslot[i], dec[i]);
    /* nothing adapted, empty batch, bad arguments */
    const int32_t none[2] = {-1, -1};
    CHECK_INT(pgr_lora_plan_make(2, none, 2, seg_start, seg_tok, seg_slot, bslot, scratch, &p), 0);
    CHECK(p.n_seg == 0 && p.n_bgmv == 0 && bslot[0] == -1 && bslot[1] == -1);
    CHECK_INT(pgr_lora_plan_make(0, none, 2, seg_start, seg_tok, seg_slot, bslot, scratch, &p), 0);
    CHECK_INT(pgr_lora_plan_make(2, none, 0, seg_start, seg_tok, seg_slot, bslot, scratch, &p), -1);
    CHECK_INT(pgr_lora_plan_make(-1, none, 2, seg_start, seg_tok, seg_slot, bslot, scratch, &p), -1);
}

static void test_random_steps(void)
{
    static int32_t slot[NMAX];
    static int count[1024], seen[NMAX];
    unsigned x = 12345;
    for (int rep = 0; rep < 200; rep++) {
        x = x * 1103515245u + 12345u;
        const int n = 1 + (int)((x >> 8) % NMAX), n_slots = 1 + (int)((x >> 4) % 300);
        const int min_seg = 1 + rep % 5;
        for (int i = 0; i < 1024; i++)
            count[i] = 0;
        for (int t = 0; t < n; t++) {
            x = x * 1103515245u + 12345u;
            slot[t] = (x >> 9) % 4 == 0 ? -1 : (int32_t)((x >> 12) % (unsigned)n_slots);
            if (slot[t] >= 0)
                count[slot[t]]++;
            seen[t] = 0;
        }
        pgr_lora_plan p;
        CHECK_INT(pgr_lora_plan_make(n, slot, min_seg, seg_start, seg_tok, seg_slot, bslot,
                                     scratch, &p), 0);
        int want_seg = 0, want_seg_tok = 0, want_b = 0;
        for (int s = 0; s < n_slots; s++)
            if (count[s] >= min_seg)
                want_seg++, want_seg_tok += count[s];
            else
                want_b += count[s];
        CHECK_INT(p.n_seg, want_seg);
        CHECK_INT(p.n_seg_tok, want_seg_tok);
        CHECK_INT(p.n_bgmv, want_b);
        CHECK_INT(seg_start[0], 0);
        CHECK_INT(seg_start[p.n_seg], p.n_seg_tok);
        for (int g = 0; g < p.n_seg; g++) {
            CHECK(g == 0 || seg_slot[g] > seg_slot[g - 1]);
            CHECK_INT(seg_start[g + 1] - seg_start[g], count[seg_slot[g]]);
            for (int j = seg_start[g]; j < seg_start[g + 1]; j++) {
                const int t = seg_tok[j];
                CHECK(t >= 0 && t < n && slot[t] == seg_slot[g]);
                CHECK(j == seg_start[g] || t > seg_tok[j - 1]);
                seen[t]++;
            }
        }
        for (int t = 0; t < n; t++) {
            if (bslot[t] >= 0) {
                CHECK_INT(bslot[t], slot[t]);
                CHECK(count[slot[t]] < min_seg);
                seen[t]++;
            }
            CHECK_INT(seen[t], slot[t] >= 0 ? 1 : 0);
        }
    }
}

int main(void)
{
    RUN(test_hand_made);
    RUN(test_random_steps);
    return check_summary("test_lora_plan");
}
