#ifndef PEERGRAPH_QUANTIZE_H
#define PEERGRAPH_QUANTIZE_H
/* Model-file quantisation: rewrites a llama-family GGUF with its weight
 * matrices in another type mixture, the way llama.cpp's llama-quantize does
 * without an importance matrix: the same per-tensor type choices, the same
 * reference quantisers (kernels.h pgr_quant_row_ggml), the same metadata and
 * tensor order, so the output file is byte-identical to llama.cpp's for the
 * same input (tests/unit/test_quantize.c checks the sha256 against
 * llama.cpp's file; tests/golden/make_kquant_model_golden.py). */
#include "graph/util.h"

/* Mixtures (llama.cpp's ftype names and numbers). */
typedef enum {
    PGR_MIX_Q8_0 = 7,
    PGR_MIX_Q4_K_M = 15,
    PGR_MIX_Q6_K = 18,
} pgr_mix;

/* "Q4_K_M", "Q6_K", "Q8_0" (case-insensitive) -> mixture; -1 if unknown. */
int pgr_mix_parse(const char *name);

/* Reads the GGUF at in, writes the quantised model to out (replaced if it
 * exists; on failure no file is left at out). n_threads >= 1 share the
 * quantisation of each tensor. Refuses what llama.cpp's rules for these
 * mixtures would need types we lack for (mixture-of-experts, 70B layouts,
 * general.alignment other than 32). Returns 0, or -1 with err naming the
 * file and the tensor. */
int pgr_gguf_quantize(const char *in, const char *out, pgr_mix mix, int n_threads, pgr_err *err);

#endif
