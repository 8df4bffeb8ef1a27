/* The CUDA engine end to end on the real model (SmolLM2-135M Q4_1), against
 * the CPU engine (the oracle):
 *   - greedy tokens equal the CPU's for several prompts, with our fp32
 *     quantised kernels everywhere (PEERGRAPH_CUDA_GEMM=quant);
 *   - with cuBLAS bf16 prefill (the default), teacher-forced: at every step
 *     where the CPU's top two logits are not nearly tied, the argmax agrees;
 *   - LoRA, LoReFT and DiReFT adapters in prefill and all modes: greedy
 *     tokens equal the CPU engine's with the same adapter set;
 *   - a batch of sequences with different adapters and modes gives each the
 *     tokens (and, to 1e-4, the logits) it gets alone; PreFT decode steps
 *     run from CUDA graphs and give the same results; a step mixing an
 *     all-token decode token (BGMV) with another adapter's prompt (SGMV)
 *     gives each its solo logits; greedy ids taken on the device
 *     (pgr_forward_greedy) are the host's argmax of the logits;
 *   - refusals: hooks other than an adapter set's, a sequence continued from
 *     another KV cache, an unknown device.
 * Without a CUDA device every GPU test reports "skipped: no CUDA device";
 * PEERGRAPH_REQUIRE_CUDA=1 (make test-cuda) makes that a failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "cuda_test.h"
#include "inference/adapter.h"
#include "inference/model.h"

/* PEERGRAPH_TEST_MODEL names another file: the GPU machine gets a shorter
 * copy (tests/gpu_model.py), since the device tool cannot carry 98 MB. */
#define MODEL (getenv("PEERGRAPH_TEST_MODEL") ? getenv("PEERGRAPH_TEST_MODEL") \
                                              : "models/smollm2-135m-instruct-q4_1.gguf")

static pgr_model *model;
static int V;

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

/* top-1 minus top-2 */
static float margin(const float *x, int n)
{
    int b = argmax(x, n);
    float s = -INFINITY;
    for (int i = 0; i < n; i++)
        if (i != b && x[i] > s)
            s = x[i];
    return x[b] - s;
}

static void make_prompt(int32_t *ids, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        ids[i] = 200 + (int32_t)((seed >> 8) % 20000u);
    }
}

/* A layer list written for SmolLM2's 30 blocks, scaled to the loaded model's
 * depth: "%a-%b" / "%a,%b" with a, b as thirtieths of n_layer (a shorter model
 * from tests/gpu_model.py keeps the same shape of spec). */
static const char *layers_of(char *buf, size_t n, int a, int b, char sep)
{
    int L = pgr_model_config(model)->n_layer;
    int la = a * L / 30, lb = b * L / 30;
    if (lb <= la)
        lb = la + 1 < L ? la + 1 : la;
    snprintf(buf, n, "%d%c%d", la, sep, lb);
    return buf;
}

static pgr_adapter *random_adapter(int method, const char *targets, const char *layers,
                                   const char *positions, int rank, uint64_t seed)
{
    pgr_adapter_spec s;
    pgr_err err = {0};
    pgr_adapter *a = NULL;
    pgr_adapter_spec_default(&s, model);
    s.method = method;
    s.rank = rank;
    s.alpha = 2.0f * rank;
    if (pgr_adapter_parse_targets(targets, &s.targets, &err) != 0 ||
        pgr_adapter_parse_layers(layers, pgr_model_config(model)->n_layer, &s, &err) != 0 ||
        pgr_adapter_parse_positions(positions, &s.pos_first, &s.pos_last, &err) != 0 ||
        pgr_adapter_new_random(&s, model, seed, &a, &err) != 0)
        fprintf(stderr, "    random_adapter: %s\n", err.msg);
    return a;
}

static pgr_engine *cuda_engine(const char *gemm, pgr_err *err)
{
    pgr_engine *e = NULL;
    if (gemm)
        setenv("PEERGRAPH_CUDA_GEMM", gemm, 1);
    else
        unsetenv("PEERGRAPH_CUDA_GEMM");
    if (pgr_engine_new_on(model, "cuda", 1, &e, err) != 0)
        return NULL;
    return e;
}

/* One sequence alone: prompt ids (n) then n_gen greedy tokens into gen;
 * when forced, gen[] is fed instead of the argmax (teacher forcing). lg gets
 * (1 + n_gen, V) logits when not NULL. Adapter ad (NULL = none) in mode. */
static int run_one(pgr_engine *e, const pgr_adapter *ad, int mode, const int32_t *ids, int n,
                   int n_gen, int32_t *gen, int forced, float *lg, pgr_err *err)
{
    int rc = -1;
    pgr_kv *kv = NULL;
    pgr_adapter_set *set = NULL;
    pgr_hooks hooks;
    float *l = malloc((size_t)V * sizeof(float));
    int32_t *seqv = malloc((size_t)n * sizeof(int32_t)), *posv = malloc((size_t)n * sizeof(int32_t));
    if (!l || !seqv || !posv || pgr_kv_new(model, (n + n_gen) / 16 + 2, 16, 1, &kv, err) ||
        pgr_adapter_set_new(model, 1, &set, err))
        goto cleanup;
    int s = pgr_kv_seq_open(kv, err);
    if (s < 0 || pgr_adapter_set_bind(set, s, ad, mode, n, err))
        goto cleanup;
    pgr_adapter_set_hooks(set, &hooks);
    pgr_engine_set_hooks(e, ad ? &hooks : NULL);
    for (int i = 0; i < n; i++)
        seqv[i] = s, posv[i] = i;
    pgr_batch b = {n, ids, seqv, posv, NULL};
    if (pgr_forward(e, kv, &b, l, err))
        goto cleanup;
    for (int i = 0; i < n_gen; i++) {
        if (lg)
            memcpy(lg + (size_t)i * V, l, (size_t)V * sizeof(float));
        int32_t tok = forced ? gen[i] : argmax(l, V), p = n + i;
        if (!forced)
            gen[i] = tok;
        pgr_batch b1 = {1, &tok, &s, &p, NULL};
        if (pgr_forward(e, kv, &b1, l, err))
            goto cleanup;
    }
    if (lg)
        memcpy(lg + (size_t)n_gen * V, l, (size_t)V * sizeof(float));
    rc = 0;
cleanup:
    pgr_engine_set_hooks(e, NULL);
    pgr_adapter_set_free(set);
    pgr_kv_free(kv);
    free(l), free(seqv), free(posv);
    return rc;
}

#define LOAD_MODEL()                                                                       \
    do {                                                                                   \
        if (!model)                                                                        \
            SKIP("no model at %s (make model)", MODEL);                                    \
    } while (0)

static void test_device_names(void)
{
    LOAD_MODEL();
    pgr_err err = {0};
    pgr_engine *e = NULL;
    char why[1024];
    CHECK(pgr_engine_new_on(model, "tpu", 1, &e, &err) == -1);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK(e == NULL);
    CHECK(pgr_engine_new_on(model, "cpu", 1, &e, &err) == 0);
    CHECK_STR(pgr_engine_device(e), "cpu");
    CHECK(pgr_engine_cuda(e) == NULL);
    pgr_engine_free(e);
    e = NULL;
    if (!cuda_ready(why, sizeof why)) { /* no GPU: a clean refusal, never a crash */
        CHECK(pgr_engine_new_on(model, "cuda", 1, &e, &err) == -1);
        CHECK_INT(err.code, PGR_EUNSUPPORTED);
        CHECK(e == NULL);
        CHECK(pgr_device_usable("cuda", NULL, 0, &err) == -1);
    } else {
        CHECK(pgr_device_usable("cuda", why, sizeof why, &err) == 0);
        fprintf(stderr, "    device: %s\n", why);
    }
}

/* fp32 kernels everywhere: the same greedy tokens as the CPU (up to a near
 * tie). */
static void test_greedy_quant(void)
{
    NEED_CUDA();
    LOAD_MODEL();
    pgr_err err = {0};
    pgr_engine *cpu = NULL, *gpu = cuda_engine("quant", &err);
    const int lens[3] = {5, 40, 100}, n_gen = 24;
    CHECK_MSG(gpu != NULL, "cuda engine: %s", err.msg);
    CHECK(pgr_engine_new(model, NULL, 2, &cpu, &err) == 0);
    for (int p = 0; p < 3; p++) {
        int32_t ids[100], g_cpu[24], g_gpu[24];
        float *lc = malloc((size_t)(n_gen + 1) * V * 4), *lgp = malloc((size_t)(n_gen + 1) * V * 4);
        make_prompt(ids, lens[p], 17u + (unsigned)p);
        CHECK(run_one(cpu, NULL, 0, ids, lens[p], n_gen, g_cpu, 0, lc, &err) == 0);
        CHECK_MSG(run_one(gpu, NULL, 0, ids, lens[p], n_gen, g_gpu, 0, lgp, &err) == 0, "%s",
                  err.msg);
        /* The CPU rounds activations to Q8 for its quantised dot products,
         * qmatvec keeps them fp32: on the H100 (SmolLM2, 8 blocks) the
         * prompt's logits differed by 0.7-0.8% RMS, at most 1.1% of the
         * largest logit. A wrong kernel or a stale weight gives tens of
         * percent (seen: 20-60 on logits of 50 before weights_upload
         * ordered its copies on the engine's stream). */
        double worst = 0, big = 0, d2 = 0, a2 = 0;
        for (size_t i = 0; i < (size_t)V; i++) {
            const double d = (double)lc[i] - lgp[i];
            worst = fmax(worst, fabs(d));
            big = fmax(big, fabs((double)lc[i]));
            d2 += d * d, a2 += (double)lc[i] * lc[i];
        }
        fprintf(stderr,
                "    prompt %d (%d tokens): max |logit diff| at the prompt %.4f (largest logit "
                "%.1f), relative RMS %.4f\n",
                p, lens[p], worst, big, sqrt(d2 / a2));
        CHECK_MSG(worst < 0.03 * big && d2 < 0.02 * 0.02 * a2,
                  "prefill logits differ by %g (largest %g), relative RMS %g", worst, big,
                  sqrt(d2 / a2));
        /* Greedy ids equal up to the first near tie of the CPU's logits
         * (top two closer than the 3% bound above): there the two numerics
         * may pick differently and the sequences part legitimately. */
        int same = 0;
        for (int i = 0; i < n_gen; i++) {
            const float m = margin(lc + (size_t)i * V, V);
            if (g_cpu[i] != g_gpu[i] && m < 0.03 * big) {
                fprintf(stderr, "    prompt %d: near tie at token %d (margin %.3f): stop\n", p, i,
                        (double)m);
                break;
            }
            CHECK_MSG(g_cpu[i] == g_gpu[i], "prompt %d token %d: cpu %d, cuda %d (margin %.3f)", p,
                      i, g_cpu[i], g_gpu[i], (double)m);
            same++;
        }
        CHECK_MSG(same >= 3, "prompt %d: only %d tokens before a near tie", p, same);
        free(lc), free(lgp);
    }
    pgr_engine_free(cpu);
    pgr_engine_free(gpu);
}

/* cuBLAS bf16 prefill (auto): teacher-forced argmax agreement wherever the
 * CPU's decision is not a near tie; decode steps run from graphs. gemv:
 * PEERGRAPH_CUDA_GEMV for the engine (NULL = auto: whichever timed faster;
 * "on": the decode projections through gemv_bf16; "off": cuBLAS only). */
static void greedy_cublas_forced(const char *gemv)
{
    NEED_CUDA();
    LOAD_MODEL();
    pgr_err err = {0};
    pgr_engine *cpu = NULL, *gpu;
    if (gemv)
        setenv("PEERGRAPH_CUDA_GEMV", gemv, 1);
    gpu = cuda_engine(NULL, &err);
    unsetenv("PEERGRAPH_CUDA_GEMV");
    const int n = 64, n_gen = 32;
    int32_t ids[64], gen[32];
    float *lc = malloc((size_t)(n_gen + 1) * V * 4), *lgp = malloc((size_t)(n_gen + 1) * V * 4);
    CHECK_MSG(gpu != NULL, "cuda engine: %s", err.msg);
    CHECK(pgr_engine_new(model, NULL, 2, &cpu, &err) == 0);
    make_prompt(ids, n, 99u);
    CHECK(run_one(cpu, NULL, 0, ids, n, n_gen, gen, 0, lc, &err) == 0);
    CHECK_MSG(run_one(gpu, NULL, 0, ids, n, n_gen, gen, 1, lgp, &err) == 0, "%s", err.msg);
    int compared = 0;
    for (int i = 0; i <= n_gen; i++) {
        const float *a = lc + (size_t)i * V, *b = lgp + (size_t)i * V;
        if (margin(a, V) < 0.25f)
            continue; /* bf16 rounding may flip a near tie */
        compared++;
        CHECK_MSG(argmax(a, V) == argmax(b, V), "step %d: cpu %d (margin %.3f), cuda %d", i,
                  argmax(a, V), (double)margin(a, V), argmax(b, V));
    }
    CHECK_MSG(compared > n_gen / 2, "only %d of %d steps were clear decisions", compared, n_gen + 1);
    pgr_cuda_stats st;
    pgr_cuda_stats_get(pgr_engine_cuda(gpu), &st);
    fprintf(stderr,
            "    gemv %s: steps %llu, graph steps %llu, captures %llu, cublas %llu, quant %llu, "
            "gemv %llu (chosen: mask 0x%05x)\n",
            gemv ? gemv : "auto", (unsigned long long)st.steps,
            (unsigned long long)st.graph_steps, (unsigned long long)st.graph_captures,
            (unsigned long long)st.gemm_cublas, (unsigned long long)st.gemm_quant,
            (unsigned long long)st.gemm_gemv, (unsigned)st.gemv_mask);
    CHECK(st.graph_steps >= (uint64_t)n_gen); /* decode without adapters: graphs */
    CHECK(st.gemm_cublas > 0);                /* the 64-token prefill */
    if (gemv && !strcmp(gemv, "on")) {
        /* a decode step's 7 matrices of each layer and the head, counted
         * when the step's graph is captured (replays run no host code) */
        const uint64_t per_step = (uint64_t)pgr_model_config(model)->n_layer * 7 + 1;
        CHECK_MSG(st.gemm_gemv >= per_step, "gemv products %llu",
                  (unsigned long long)st.gemm_gemv);
        CHECK(st.gemv_mask == 0xfffffu);
    }
    if (gemv && !strcmp(gemv, "off"))
        CHECK(st.gemm_gemv == 0 && st.gemv_mask == 0);
    free(lc), free(lgp);
    pgr_engine_free(cpu);
    pgr_engine_free(gpu);
}
static void test_greedy_cublas_forced(void) { greedy_cublas_forced(NULL); }
static void test_greedy_gemv_forced(void) { greedy_cublas_forced("on"); }
static void test_greedy_gemv_off(void) { greedy_cublas_forced("off"); }

static void test_adapters_both_modes(void)
{
    NEED_CUDA();
    LOAD_MODEL();
    pgr_err err = {0};
    pgr_engine *cpu = NULL, *gpu = cuda_engine("quant", &err);
    char spec_[32];
    pgr_adapter *ads[3] = {
        random_adapter(PGR_AD_LORA, "q,k,v,o,gate,up,down", "all", "f7+l7", 16, 11),
        random_adapter(PGR_AD_LOREFT, "resid", "0-3", "f7+l7", 8, 12),
        random_adapter(PGR_AD_DIREFT, "resid", layers_of(spec_, sizeof spec_, 5, 10, ','), "all", 4,
                       13)};
    const int n = 30, n_gen = 12;
    int32_t ids[30], base[12];
    CHECK_MSG(gpu != NULL, "cuda engine: %s", err.msg);
    CHECK(ads[0] && ads[1] && ads[2]);
    CHECK(pgr_engine_new(model, NULL, 2, &cpu, &err) == 0);
    make_prompt(ids, n, 5u);
    CHECK(run_one(gpu, NULL, 0, ids, n, n_gen, base, 0, NULL, &err) == 0);
    for (int a = 0; a < 3; a++)
        for (int mode = PGR_AD_PREFILL; mode <= PGR_AD_ALL; mode++) {
            int32_t gc[12], gg[12];
            CHECK(run_one(cpu, ads[a], mode, ids, n, n_gen, gc, 0, NULL, &err) == 0);
            CHECK_MSG(run_one(gpu, ads[a], mode, ids, n, n_gen, gg, 0, NULL, &err) == 0, "%s",
                      err.msg);
            for (int i = 0; i < n_gen; i++)
                CHECK_MSG(gc[i] == gg[i], "%s %s token %d: cpu %d, cuda %d",
                          pgr_adapter_method_name(ads[a]->spec.method),
                          pgr_adapter_mode_name(mode), i, gc[i], gg[i]);
            if (memcmp(gg, base, sizeof gg) == 0)
                fprintf(stderr, "    note: %s %s gives the base model's tokens\n",
                        pgr_adapter_method_name(ads[a]->spec.method), pgr_adapter_mode_name(mode));
        }
    pgr_cuda_stats st;
    pgr_cuda_stats_get(pgr_engine_cuda(gpu), &st);
    CHECK(st.adapter_uploads == 3); /* each uploaded once, then cached */
    for (int a = 0; a < 3; a++)
        pgr_adapter_free(ads[a]);
    pgr_engine_free(cpu);
    pgr_engine_free(gpu);
}

/* Five sequences with different adapters and modes in one batch (prefill
 * together, then one decode token each per step) against each alone. */
static void batched_vs_single(int all_prefill_mode)
{
    pgr_err err = {0};
    pgr_engine *gpu = cuda_engine("quant", &err);
    enum { NS = 5, NG = 10 };
    pgr_adapter *la = random_adapter(PGR_AD_LORA, "q,v,o,down", "all", "f7+l7", 16, 21);
    char spec_[32];
    pgr_adapter *lb =
        random_adapter(PGR_AD_LORA, "k,gate,up", layers_of(spec_, sizeof spec_, 0, 15, '-'), "f7+l7", 8, 22);
    pgr_adapter *rf = random_adapter(PGR_AD_LOREFT, "resid", "2,4,6", "f3+l3", 8, 23);
    const pgr_adapter *ad[NS] = {la, lb, rf, NULL, la};
    int mode[NS] = {PGR_AD_PREFILL, PGR_AD_ALL, PGR_AD_ALL, PGR_AD_ALL, PGR_AD_ALL};
    const int len[NS] = {9, 37, 20, 14, 25};
    int32_t ids[NS][37], single[NS][NG], batched[NS][NG];
    float *lsingle = malloc((size_t)NS * (NG + 1) * V * 4), *lb_ = malloc((size_t)NS * V * 4);
    pgr_kv *kv = NULL;
    pgr_adapter_set *set = NULL;
    pgr_hooks hooks;
    int total = 0, seqs[NS];
    int32_t tok[128], sq[128], ps[128];
    uint8_t want[128];
    CHECK_MSG(gpu != NULL, "cuda engine: %s", err.msg);
    CHECK(la && lb && rf);
    if (all_prefill_mode)
        for (int s = 0; s < NS; s++)
            mode[s] = PGR_AD_PREFILL;
    for (int s = 0; s < NS; s++) {
        make_prompt(ids[s], len[s], 300u + (unsigned)s);
        CHECK_MSG(run_one(gpu, ad[s], mode[s], ids[s], len[s], NG, single[s], 0,
                          lsingle + (size_t)s * (NG + 1) * V, &err) == 0,
                  "%s", err.msg);
    }
    pgr_cuda_stats st0, st1;
    pgr_cuda_stats_get(pgr_engine_cuda(gpu), &st0);
    CHECK(pgr_kv_new(model, 64, 16, NS, &kv, &err) == 0);
    CHECK(pgr_adapter_set_new(model, NS, &set, &err) == 0);
    for (int s = 0; s < NS; s++) {
        seqs[s] = pgr_kv_seq_open(kv, &err);
        CHECK(seqs[s] >= 0);
        CHECK(pgr_adapter_set_bind(set, seqs[s], ad[s], mode[s], len[s], &err) == 0);
        for (int i = 0; i < len[s]; i++, total++) {
            tok[total] = ids[s][i], sq[total] = seqs[s], ps[total] = i;
            want[total] = i == len[s] - 1;
        }
    }
    pgr_adapter_set_hooks(set, &hooks);
    pgr_engine_set_hooks(gpu, &hooks);
    pgr_batch b = {total, tok, sq, ps, want};
    CHECK_MSG(pgr_forward(gpu, kv, &b, lb_, &err) == 0, "%s", err.msg);
    for (int step = 0; step <= NG; step++) {
        for (int s = 0; s < NS; s++) {
            const float *ref = lsingle + ((size_t)s * (NG + 1) + step) * V, *got = lb_ + (size_t)s * V;
            double worst = 0;
            for (int i = 0; i < V; i++)
                worst = fmax(worst, fabs((double)ref[i] - got[i]));
            CHECK_MSG(worst <= 1e-4, "seq %d step %d: logits differ by %g", s, step, worst);
            if (step < NG)
                batched[s][step] = argmax(got, V);
        }
        if (step == NG)
            break;
        for (int s = 0; s < NS; s++)
            tok[s] = batched[s][step], sq[s] = seqs[s], ps[s] = len[s] + step, want[s] = 1;
        pgr_batch b1 = {NS, tok, sq, ps, want};
        CHECK_MSG(pgr_forward(gpu, kv, &b1, lb_, &err) == 0, "%s", err.msg);
    }
    for (int s = 0; s < NS; s++)
        CHECK_MSG(memcmp(single[s], batched[s], sizeof single[s]) == 0, "seq %d tokens differ", s);
    pgr_cuda_stats_get(pgr_engine_cuda(gpu), &st1);
    if (all_prefill_mode) /* PreFT decode: no adapter work, every decode step from a graph */
        CHECK_MSG(st1.graph_steps - st0.graph_steps == NG, "graph steps %llu",
                  (unsigned long long)(st1.graph_steps - st0.graph_steps));
    else
        CHECK(st1.graph_steps == st0.graph_steps);
    pgr_engine_set_hooks(gpu, NULL);
    pgr_adapter_set_free(set);
    pgr_kv_free(kv);
    pgr_adapter_free(la), pgr_adapter_free(lb), pgr_adapter_free(rf);
    pgr_engine_free(gpu);
    free(lsingle), free(lb_);
}

static void test_batched_multi_adapter(void)
{
    NEED_CUDA();
    LOAD_MODEL();
    batched_vs_single(0);
}

static void test_batched_preft_graphs(void)
{
    NEED_CUDA();
    LOAD_MODEL();
    batched_vs_single(1);
}

/* All-token LoRA in a step that mixes a decode token (its adapter has one
 * token in the step: BGMV) with another adapter's prompt (20 tokens: an SGMV
 * segment), kernels/cuda/lora_plan.h: each gets the logits it gets alone. */
static void test_mixed_step_sgmv_bgmv(void)
{
    NEED_CUDA();
    LOAD_MODEL();
    pgr_err err = {0};
    pgr_engine *gpu = cuda_engine("quant", &err);
    pgr_adapter *la = random_adapter(PGR_AD_LORA, "q,v,o,down", "all", "f7+l7", 16, 31);
    pgr_adapter *lb = random_adapter(PGR_AD_LORA, "k,gate,up", "all", "f7+l7", 8, 32);
    int32_t ids0[9], ids1[20], g0[1], tok[21], sq[21], ps[21];
    uint8_t want[21];
    float *l0 = malloc((size_t)2 * V * 4), *l1 = malloc((size_t)V * 4),
          *lg = malloc((size_t)2 * V * 4);
    pgr_kv *kv = NULL;
    pgr_adapter_set *set = NULL;
    pgr_hooks hooks;
    pgr_cuda_stats st0, st1;
    CHECK_MSG(gpu != NULL, "cuda engine: %s", err.msg);
    CHECK(la && lb && l0 && l1 && lg);
    make_prompt(ids0, 9, 71u);
    make_prompt(ids1, 20, 72u);
    CHECK_MSG(run_one(gpu, la, PGR_AD_ALL, ids0, 9, 1, g0, 0, l0, &err) == 0, "%s", err.msg);
    CHECK_MSG(run_one(gpu, lb, PGR_AD_ALL, ids1, 20, 0, NULL, 0, l1, &err) == 0, "%s", err.msg);
    CHECK(pgr_kv_new(model, 16, 16, 2, &kv, &err) == 0);
    CHECK(pgr_adapter_set_new(model, 2, &set, &err) == 0);
    int s0 = pgr_kv_seq_open(kv, &err), s1 = pgr_kv_seq_open(kv, &err);
    CHECK(s0 >= 0 && s1 >= 0);
    CHECK(pgr_adapter_set_bind(set, s0, la, PGR_AD_ALL, 9, &err) == 0);
    CHECK(pgr_adapter_set_bind(set, s1, lb, PGR_AD_ALL, 20, &err) == 0);
    pgr_adapter_set_hooks(set, &hooks);
    pgr_engine_set_hooks(gpu, &hooks);
    for (int i = 0; i < 9; i++)
        tok[i] = ids0[i], sq[i] = s0, ps[i] = i;
    pgr_batch b = {9, tok, sq, ps, NULL};
    CHECK_MSG(pgr_forward(gpu, kv, &b, lg, &err) == 0, "%s", err.msg);
    tok[0] = g0[0], sq[0] = s0, ps[0] = 9, want[0] = 1;
    for (int i = 0; i < 20; i++)
        tok[1 + i] = ids1[i], sq[1 + i] = s1, ps[1 + i] = i, want[1 + i] = i == 19;
    pgr_cuda_stats_get(pgr_engine_cuda(gpu), &st0);
    pgr_batch b2 = {21, tok, sq, ps, want};
    CHECK_MSG(pgr_forward(gpu, kv, &b2, lg, &err) == 0, "%s", err.msg);
    pgr_cuda_stats_get(pgr_engine_cuda(gpu), &st1);
    CHECK_INT(st1.lora_bgmv_tokens - st0.lora_bgmv_tokens, 1);
    CHECK_INT(st1.lora_sgmv_tokens - st0.lora_sgmv_tokens, 20);
    double w0 = 0, w1 = 0;
    for (int i = 0; i < V; i++) {
        w0 = fmax(w0, fabs((double)l0[(size_t)V + i] - lg[i]));
        w1 = fmax(w1, fabs((double)l1[i] - lg[(size_t)V + i]));
    }
    CHECK_MSG(w0 <= 1e-4 && w1 <= 1e-4, "mixed step: decode logits differ by %g, prompt by %g",
              w0, w1);
    pgr_engine_set_hooks(gpu, NULL);
    pgr_adapter_set_free(set);
    pgr_kv_free(kv);
    pgr_adapter_free(la), pgr_adapter_free(lb);
    pgr_engine_free(gpu);
    free(l0), free(l1), free(lg);
}

/* pgr_forward_greedy: the device's argmax gives the ids the host takes from
 * pgr_forward's logits, for a prompt (several wanted rows, eager path), and
 * then decode steps (one token: the graph path), with and without an
 * all-token adapter. */
static void test_forward_greedy_ids(void)
{
    NEED_CUDA();
    LOAD_MODEL();
    pgr_err err = {0};
    pgr_engine *gpu = cuda_engine("quant", &err);
    pgr_adapter *la = random_adapter(PGR_AD_LORA, "q,v,o,down", "all", "f7+l7", 16, 41);
    enum { N = 24, NG = 8 };
    int32_t ids[N], want_gen[NG], got[NG], seqv[N], posv[N], out[N];
    uint8_t want[N];
    float *lg = malloc((size_t)N * V * 4);
    CHECK_MSG(gpu != NULL, "cuda engine: %s", err.msg);
    CHECK(la && lg);
    make_prompt(ids, N, 91u);
    for (int with_ad = 0; with_ad < 2; with_ad++) {
        const pgr_adapter *ad = with_ad ? la : NULL;
        /* the prompt with every third row wanted: logits vs ids */
        for (int k = 0; k < 2; k++) {
            pgr_kv *kv = NULL;
            pgr_adapter_set *set = NULL;
            pgr_hooks hooks;
            CHECK(pgr_kv_new(model, 8, 16, 1, &kv, &err) == 0);
            CHECK(pgr_adapter_set_new(model, 1, &set, &err) == 0);
            int sq = pgr_kv_seq_open(kv, &err), nw = 0;
            CHECK(pgr_adapter_set_bind(set, sq, ad, PGR_AD_ALL, N, &err) == 0);
            pgr_adapter_set_hooks(set, &hooks);
            pgr_engine_set_hooks(gpu, ad ? &hooks : NULL);
            for (int i = 0; i < N; i++)
                seqv[i] = sq, posv[i] = i, want[i] = i % 3 == 2, nw += want[i];
            pgr_batch b = {N, ids, seqv, posv, want};
            if (k == 0) {
                CHECK_MSG(pgr_forward(gpu, kv, &b, lg, &err) == 0, "%s", err.msg);
                for (int i = 0; i < nw; i++)
                    out[i] = argmax(lg + (size_t)i * V, V);
            } else {
                int32_t g[N];
                CHECK_MSG(pgr_forward_greedy(gpu, kv, &b, g, &err) == 0, "%s", err.msg);
                for (int i = 0; i < nw; i++)
                    CHECK_MSG(g[i] == out[i], "adapter %d, wanted row %d: device %d, host %d",
                              with_ad, i, g[i], out[i]);
            }
            pgr_engine_set_hooks(gpu, NULL);
            pgr_adapter_set_free(set);
            pgr_kv_free(kv);
        }
        /* greedy decode: run_one takes the argmax on the host */
        CHECK(run_one(gpu, ad, PGR_AD_ALL, ids, N, NG, want_gen, 0, NULL, &err) == 0);
        {
            pgr_kv *kv = NULL;
            pgr_adapter_set *set = NULL;
            pgr_hooks hooks;
            CHECK(pgr_kv_new(model, 8, 16, 1, &kv, &err) == 0);
            CHECK(pgr_adapter_set_new(model, 1, &set, &err) == 0);
            int sq = pgr_kv_seq_open(kv, &err);
            CHECK(pgr_adapter_set_bind(set, sq, ad, PGR_AD_ALL, N, &err) == 0);
            pgr_adapter_set_hooks(set, &hooks);
            pgr_engine_set_hooks(gpu, ad ? &hooks : NULL);
            for (int i = 0; i < N; i++)
                seqv[i] = sq, posv[i] = i;
            pgr_batch b = {N, ids, seqv, posv, NULL};
            int32_t tok;
            CHECK_MSG(pgr_forward_greedy(gpu, kv, &b, &tok, &err) == 0, "%s", err.msg);
            for (int i = 0; i < NG; i++) {
                got[i] = tok;
                int32_t p = N + i;
                pgr_batch b1 = {1, &got[i], &sq, &p, NULL};
                CHECK_MSG(pgr_forward_greedy(gpu, kv, &b1, &tok, &err) == 0, "%s", err.msg);
            }
            pgr_engine_set_hooks(gpu, NULL);
            pgr_adapter_set_free(set);
            pgr_kv_free(kv);
        }
        CHECK_MSG(memcmp(got, want_gen, sizeof got) == 0, "adapter %d: greedy ids differ",
                  with_ad);
    }
    pgr_adapter_free(la);
    pgr_engine_free(gpu);
    free(lg);
}

/* No GPU needed: the CPU engine's logits are on the host already, so it
 * refuses pgr_forward_greedy (the scheduler only asks a CUDA engine), and
 * takes no KV blocks doing so. */
static void test_forward_greedy_cpu_refuses(void)
{
    LOAD_MODEL();
    pgr_err err = {0};
    pgr_engine *cpu = NULL;
    pgr_kv *kv = NULL;
    CHECK(pgr_engine_new(model, NULL, 1, &cpu, &err) == 0);
    CHECK(pgr_kv_new(model, 8, 16, 1, &kv, &err) == 0);
    int sq = pgr_kv_seq_open(kv, &err), p0 = 0;
    int32_t tok = 300, g = -1;
    pgr_batch b0 = {1, &tok, &sq, &p0, NULL};
    CHECK_INT(pgr_forward_greedy(cpu, kv, &b0, &g, &err), -1);
    CHECK_INT(err.code, PGR_EUNSUPPORTED);
    CHECK_INT(pgr_kv_seq_len(kv, sq), 0);
    pgr_kv_free(kv);
    pgr_engine_free(cpu);
}

static int bad_hook(void *user, const pgr_hook_args *a, pgr_err *err)
{
    (void)user, (void)a, (void)err;
    return 0;
}

static void test_refusals(void)
{
    NEED_CUDA();
    LOAD_MODEL();
    pgr_err err = {0};
    pgr_engine *gpu = cuda_engine("quant", &err);
    pgr_kv *kv1 = NULL, *kv2 = NULL;
    int32_t ids[8], seqv[8], posv[8];
    float *l = malloc((size_t)V * 4);
    CHECK_MSG(gpu != NULL, "cuda engine: %s", err.msg);
    make_prompt(ids, 8, 1u);
    CHECK(pgr_kv_new(model, 8, 16, 1, &kv1, &err) == 0);
    CHECK(pgr_kv_new(model, 8, 16, 1, &kv2, &err) == 0);
    int s1 = pgr_kv_seq_open(kv1, &err), s2 = pgr_kv_seq_open(kv2, &err);
    for (int i = 0; i < 8; i++)
        seqv[i] = s1, posv[i] = i;
    pgr_batch b = {5, ids, seqv, posv, NULL};
    /* custom hooks cannot run on the device */
    pgr_hooks h;
    memset(&h, 0, sizeof h);
    h.fn[PGR_SITE_V] = bad_hook;
    pgr_engine_set_hooks(gpu, &h);
    CHECK(pgr_forward(gpu, kv1, &b, l, &err) == -1);
    CHECK_INT(err.code, PGR_EUNSUPPORTED);
    CHECK_INT(pgr_kv_seq_len(kv1, s1), 0); /* nothing kept */
    pgr_engine_set_hooks(gpu, NULL);
    CHECK(pgr_forward(gpu, kv1, &b, l, &err) == 0);
    /* another cache: a fresh sequence is fine, continuing the first is not */
    seqv[0] = s2;
    pgr_batch b2 = {3, ids, seqv, posv, NULL};
    for (int i = 0; i < 3; i++)
        seqv[i] = s2;
    CHECK(pgr_forward(gpu, kv2, &b2, l, &err) == 0);
    int32_t p5 = 5;
    pgr_batch b3 = {1, ids, &s1, &p5, NULL};
    CHECK(pgr_forward(gpu, kv1, &b3, l, &err) == -1);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK_INT(pgr_kv_seq_len(kv1, s1), 5);
    pgr_kv_free(kv1), pgr_kv_free(kv2);
    pgr_engine_free(gpu);
    free(l);
}

int main(void)
{
    pgr_err err = {0};
    if (pgr_model_load(MODEL, &model, &err) != 0)
        model = NULL;
    else
        V = pgr_model_config(model)->vocab;
    RUN(test_device_names);
    RUN(test_greedy_quant);
    RUN(test_greedy_cublas_forced);
    RUN(test_greedy_gemv_forced);
    RUN(test_greedy_gemv_off);
    RUN(test_adapters_both_modes);
    RUN(test_batched_multi_adapter);
    RUN(test_batched_preft_graphs);
    RUN(test_mixed_step_sgmv_bgmv);
    RUN(test_forward_greedy_ids);
    RUN(test_forward_greedy_cpu_refuses);
    RUN(test_refusals);
    pgr_model_free(model);
    return check_summary("test_cuda_engine");
}
