/* peergraph's model quantiser against llama.cpp's (tests/data/golden/quantize.json,
 * written by tests/golden/make_quantize_golden.py):
 *
 * - the default model rewritten as Q4_K_M, Q6_K and Q8_0 has, byte for
 *   byte, the sha256 of llama.cpp's llama_model_quantize output;
 * - the engine on that Q4_K_M file (Q4_K, Q6_K, Q5_0, Q8_0 weights) gives
 *   llama.cpp's greedy continuations and prompt logits
 *   (tests/data/golden/generate_q4_k_m.json) — the end-to-end check of the
 *   k-quant kernels;
 * - files the quantiser must refuse leave nothing behind. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "../support/golden_gen.h"
#include "../support/gguf_build.h"
#include "inference/quantize.h"

#define MODEL "models/smollm2-135m-instruct-q4_1.gguf"
#define GOLDEN "tests/data/golden/quantize.json"
#define GOLDEN_GEN "tests/data/golden/generate_q4_k_m.json"
/* The golden run has llama.cpp's weight repacking off and feeds prompts one
 * token at a time (see tests/golden/make_generate_golden.py), so every
 * product is ggml's one-row vec_dot, which ours equal bit for bit
 * (test_kquant); we feed the prompts the same way and the logits are bitwise
 * equal. The tolerance only covers the golden file's 5 decimals. With
 * repacking on, or batched prompts (Q6_K, 8+ rows), llama.cpp's own logits
 * move by up to about 1 on this model (docs/inference.md). */
#define LOGIT_TOL 1e-4


static json_t *golden;
static char q4km_path[512]; /* our Q4_K_M file once it matched llama.cpp's */

static const char *tmpdir(void)
{
    const char *t = getenv("PEERGRAPH_TEST_TMP");
    return t && *t ? t : "/tmp";
}

static int file_sha256(const char *path, char hex[65])
{
    char *data;
    size_t len;
    pgr_err err = {0};
    if (pgr_read_file(path, &data, &len, &err) != 0) {
        fprintf(stderr, "    %s\n", err.msg);
        return -1;
    }
    pgr_sha256_hex(data, len, hex);
    free(data);
    return 0;
}

static void check_mixture(const char *name)
{
    json_t *mj = json_object_get(json_object_get(golden, "mixtures"), name);
    const char *want = json_string_value(json_object_get(mj, "sha256"));
    CHECK_MSG(want, "%s has no sha256 for %s", GOLDEN, name);
    char path[512], hex[65];
    snprintf(path, sizeof path, "%s/quantk-%d-%s.gguf", tmpdir(), (int)getpid(), name);
    pgr_err err = {0};
    CHECK_MSG(pgr_gguf_quantize(MODEL, path, (pgr_mix)pgr_mix_parse(name), 2, &err) == 0, "%s: %s",
              name, err.msg);
    int ok = file_sha256(path, hex) == 0 && strcmp(hex, want) == 0;
    if (ok && !strcmp(name, "Q4_K_M"))
        snprintf(q4km_path, sizeof q4km_path, "%s", path);
    else
        unlink(path);
    CHECK_MSG(ok, "%s: our file's sha256 %s, llama.cpp's %s", name, hex, want);
}

static int have_inputs(void)
{
    if (access(MODEL, R_OK) != 0)
        return 0;
    char hex[65];
    const char *src = json_string_value(json_object_get(golden, "source_sha256"));
    return src && file_sha256(MODEL, hex) == 0 && !strcmp(hex, src);
}

static void test_q4_k_m_identical(void)
{
    if (!golden || !have_inputs())
        SKIP("no %s with the golden's sha256 (make model)", MODEL);
    check_mixture("Q4_K_M");
}

static void test_q6_k_and_q8_0_identical(void)
{
    if (!golden || !have_inputs())
        SKIP("no %s with the golden's sha256 (make model)", MODEL);
    if (SANITIZED)
        SKIP("the release build checks these; Q4_K_M covers the code paths here");
    check_mixture("Q6_K");
    check_mixture("Q8_0");
}

static void test_engine_on_q4_k_m(void)
{
    if (!q4km_path[0])
        SKIP("no Q4_K_M file equal to llama.cpp's (see test_q4_k_m_identical)");
    if (strcmp(pgr_kernels_cpu_isa(), "avx2") != 0)
        SKIP("the golden outputs come from llama.cpp's AVX2 build; this CPU lacks AVX2/FMA/F16C");
    if (access(GOLDEN_GEN, R_OK) != 0)
        SKIP("no %s", GOLDEN_GEN);
    golden_set g;
    CHECK(golden_load(GOLDEN_GEN, &g) == 0);
    char hex[65];
    const char *want = json_string_value(json_object_get(g.root, "model_sha256"));
    const int same_file = want && file_sha256(q4km_path, hex) == 0 && !strcmp(hex, want);
    pgr_model *m = NULL;
    pgr_engine *e = NULL;
    pgr_kv *kv = NULL;
    pgr_err err = {0};
    int failed = -2;
    double worst = 0;
    if (same_file && pgr_model_load(q4km_path, &m, &err) == 0 &&
        pgr_engine_new(m, NULL, 2, &e, &err) == 0 && pgr_kv_new(m, 64, 16, 1, &kv, &err) == 0)
        failed = golden_check(e, kv, m, &g, SANITIZED ? 2 : g.n, 1, SANITIZED ? 6 : 0, LOGIT_TOL,
                              &worst, &err);
    fprintf(stderr, "    worst top-50 logit difference vs llama.cpp: %.5f (tolerance %g)\n", worst,
            LOGIT_TOL);
    pgr_kv_free(kv);
    pgr_engine_free(e);
    pgr_model_free(m);
    golden_free(&g);
    CHECK_MSG(same_file, "%s was made from another Q4_K_M file", GOLDEN_GEN);
    CHECK_MSG(failed >= 0, "engine: %s", err.msg);
    CHECK_MSG(failed == 0, "%d prompts differ from llama.cpp", failed);
}

/* a mixture-of-experts file and a missing input are refused, no output left */
static void test_refusals(void)
{
    pgr_sb b = {0};
    gb_header(&b, 3, 0, 3);
    gb_kv_str(&b, "general.architecture", "llama");
    gb_kv_u32(&b, "llama.block_count", 1);
    gb_kv_u32(&b, "llama.expert_count", 8);
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/quantk-%d-moe.gguf", tmpdir(), (int)getpid());
    snprintf(out, sizeof out, "%s/quantk-%d-moe-out.gguf", tmpdir(), (int)getpid());
    FILE *fp = fopen(in, "wb");
    CHECK(fp && fwrite(b.data, 1, b.len, fp) == b.len);
    fclose(fp);
    pgr_sb_free(&b);
    pgr_err err = {0};
    CHECK(pgr_gguf_quantize(in, out, PGR_MIX_Q4_K_M, 1, &err) == -1);
    CHECK_MSG(strstr(err.msg, "mixture-of-experts"), "message: %s", err.msg);
    CHECK(access(out, F_OK) != 0);
    unlink(in);
    CHECK(pgr_gguf_quantize("tests/data/no-such-model.gguf", out, PGR_MIX_Q6_K, 1, &err) == -1);
    CHECK(access(out, F_OK) != 0);
    CHECK_INT(pgr_mix_parse("q4_k_m"), PGR_MIX_Q4_K_M);
    CHECK_INT(pgr_mix_parse("Q5_K_M"), -1);
}

int main(void)
{
    json_error_t je;
    golden = json_load_file(GOLDEN, 0, &je);
    if (!golden)
        fprintf(stderr, "    %s:%d: %s\n", GOLDEN, je.line, je.text);
    RUN(test_refusals);
    RUN(test_q4_k_m_identical);
    RUN(test_q6_k_and_q8_0_identical);
    RUN(test_engine_on_q4_k_m);
    if (q4km_path[0])
        unlink(q4km_path);
    json_decref(golden);
    return check_summary("test_quantize");
}
