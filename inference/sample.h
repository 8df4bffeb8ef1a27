#ifndef PEERGRAPH_SAMPLE_H
#define PEERGRAPH_SAMPLE_H
/* Choosing the next token from logits, and recognising where generation stops.
 *
 * The sampler applies, in llama.cpp's default order: repetition penalty over
 * the last repeat_last_n tokens, top-k, top-p, min-p, temperature, then draws
 * from the distribution with its own deterministic RNG (same seed, same
 * logits -> same tokens). temperature <= 0 is greedy (argmax after the
 * penalty; ties go to the lowest id, as llama.cpp's greedy sampler). */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"

typedef struct pgr_sample_cfg {
    float temperature;    /* <= 0: greedy */
    int top_k;            /* <= 0: off */
    float top_p;          /* >= 1: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1: off */
    int repeat_last_n;    /* tokens of history the penalty looks at */
    uint64_t seed;
} pgr_sample_cfg;

/* Defaults: greedy, top_k 40, top_p 0.95, min_p 0.05, no penalty, window 64, seed 0
 * (the filters matter only once temperature > 0). */
void pgr_sample_defaults(pgr_sample_cfg *cfg);

typedef struct pgr_sampler pgr_sampler;
/* New sampler for a vocabulary of n_vocab; NULL on allocation failure. */
pgr_sampler *pgr_sampler_new(const pgr_sample_cfg *cfg, int n_vocab);
void pgr_sampler_free(pgr_sampler *s);
/* Picks a token from logits (n_vocab; modified in place by the penalty) given
 * the tokens so far (prompt and generated, oldest first). */
int32_t pgr_sample(pgr_sampler *s, float *logits, const int32_t *history, size_t n_history);
/* 1 if pgr_sample is the plain argmax of the logits (first index on ties):
 * temperature <= 0 and no repetition penalty. The scheduler then lets a
 * GPU engine take the argmax on the device (pgr_forward_greedy). */
int pgr_sampler_is_greedy(const pgr_sampler *s);

/* ---- stop strings ------------------------------------------------------------
 * Text arrives in pieces; pgr_stop_feed appends a piece and returns how many
 * bytes of the text so far are safe to show: text that could still become a
 * stop string is held back. *stopped is set once a stop string appears; the
 * safe length then ends before it (the stop string is not shown). */
typedef struct pgr_stopper {
    const char *const *stops; /* borrowed, n_stops strings */
    size_t n_stops;
    pgr_sb text;  /* everything fed so far */
    size_t shown; /* bytes already released */
    int stopped;
} pgr_stopper;
void pgr_stop_init(pgr_stopper *st, const char *const *stops, size_t n_stops);
/* Appends piece; returns the newly releasable bytes in out and out_len (a view
 * into st->text, valid until the next feed). */
void pgr_stop_feed(pgr_stopper *st, const char *piece, size_t len, const char **out,
                   size_t *out_len);
/* End of generation: releases whatever was held back (unless stopped). */
void pgr_stop_finish(pgr_stopper *st, const char **out, size_t *out_len);
void pgr_stop_free(pgr_stopper *st);

#endif
