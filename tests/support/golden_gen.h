#ifndef PEERGRAPH_TESTS_GOLDEN_GEN_H
#define PEERGRAPH_TESTS_GOLDEN_GEN_H
/* llama.cpp's greedy continuations and prompt logits for a model
 * (tests/data/golden/generate*.json, written by
 * tests/golden/make_generate_golden.py) and the engine run they are compared
 * with. Shared by test_model (the default Q4_1 model) and test_quantize (the
 * Q4_K_M file our quantiser rewrites it into). */
#include <jansson.h>
#include <stdint.h>

#include "inference/model.h"

typedef struct golden_prompt {
    const char *name;
    int32_t *ids; /* prompt token ids */
    int n_ids;
    int32_t *gen; /* llama.cpp's greedy continuation */
    int n_gen;
    json_t *j;    /* the prompt's object: top_ids, top_logits, logits_mean/std */
} golden_prompt;

typedef struct golden_set {
    json_t *root;
    golden_prompt p[32];
    int n;
} golden_set;

/* 0, or -1 with the reason on stderr. golden_free releases what it loaded. */
int golden_load(const char *path, golden_set *g);
void golden_free(golden_set *g);

int golden_argmax(const float *x, int n);

/* Prefill + greedy decode of one prompt alone in a fresh sequence (closed
 * again before returning); one_by_one: the prompt goes in one token per
 * forward pass (as llama.cpp with n_batch 1), else in one batch. out gets up to max_gen tokens (stopping after
 * token 0 or 2, the model's end tokens); prompt_logits (vocab) if non-NULL
 * gets the prompt's last-position logits. Returns the count, -1 on error. */
int golden_run_alone(pgr_engine *e, pgr_kv *kv, const pgr_model *m, const golden_prompt *p,
                     int one_by_one, int max_gen, int32_t *out, float *prompt_logits, pgr_err *err);

/* For the first n prompts of g: greedy tokens identical (only the first
 * max_gen when max_gen > 0) and the top-50 logits, mean and std within tol.
 * Prints one line per prompt. Returns how many prompts fail, -1 on an engine
 * error; *worst gets the largest top-50 difference. */
int golden_check(pgr_engine *e, pgr_kv *kv, const pgr_model *m, const golden_set *g, int n,
                 int one_by_one, int max_gen, double tol, double *worst, pgr_err *err);
#endif
