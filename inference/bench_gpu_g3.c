/* `peergraph bench gpu` G3: serving many adapters at once through the
 * scheduler on the CUDA engine, PreFT against all-token (docs/benchmarks.md).
 *
 * One scheduler (device "cuda", --g3-concurrency sequences, a token budget
 * of --g3-step-tokens per step) with an adapter set serves every mode in
 * turn, so the engine, its CUDA graphs and its device adapter pool are
 * shared: a warm-up first sends one short request per adapter (LoRA and
 * LoReFT), and each timed run with adapters is preceded by one more short
 * request per adapter of that run, so that uploads are not timed when the
 * pool holds one set (the plan says whether it does; uploads during timed
 * runs are reported).
 * Each timed run submits --g3-adapters requests at once, request i with
 * adapter i, a --g3-prompt-token prompt of random ids and --g3-gen new
 * tokens (greedy; the random model has no tokenizer, so no request ends
 * early: every request generates exactly gen tokens). Figure: generated
 * tokens / wall time from the first submit to the last completion.
 *
 *   preft-lora / preft-reft  the adapter acts on the prompt only: decode
 *                            steps have no adapter work and replay CUDA graphs
 *   all-lora                 every token: prefill chunks as SGMV segments,
 *                            decode tokens per token (BGMV), both in one step
 *                            when it mixes them (kernels/cuda/lora_plan.h)
 *   all-reft                 every token at the chosen layers
 * Targets: preft-lora / all-lora and preft-reft / all-reft >= 1.9x. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inference/adapter.h"
#include "inference/bench_gpu.h"
#include "inference/sched.h"
#include "kernels/cuda/cuda_backend.h"

#define MAX_G3_REPS 9

/* ---- the memory plan (no GPU needed) --------------------------------------- */

/* engine.cu's pieces: 256-byte aligned; per adapter a table of
 * (n_layer, PGR_SITE_COUNT) LoRA descriptors and n_layer ReFT descriptors
 * (pgr_cu_lora, pgr_cu_reft: two and three pointers plus two ints). */
static size_t al(size_t n) { return (n + 255) & ~(size_t)255; }
#define CU_LORA_DESC 24
#define CU_REFT_DESC 32

static void site_io(const pgr_model_cfg *c, int site, size_t *in, size_t *out)
{
    const size_t qd = (size_t)c->n_head * c->head_dim, kvd = (size_t)c->n_kv_head * c->head_dim;
    switch (site) {
    case PGR_SITE_Q: *in = c->dim, *out = qd; break;
    case PGR_SITE_K:
    case PGR_SITE_V: *in = c->dim, *out = kvd; break;
    case PGR_SITE_O: *in = qd, *out = c->dim; break;
    case PGR_SITE_GATE:
    case PGR_SITE_UP: *in = c->dim, *out = c->ffn_dim; break;
    default: *in = c->ffn_dim, *out = c->dim; break; /* down */
    }
}

static double gib(size_t b) { return (double)b / (1024.0 * 1024.0 * 1024.0); }

int gpu_g3_plan_make(const pgr_model_cfg *mc, size_t weight_bytes, const gpu_bench_args *a,
                     size_t dev_free, size_t host_avail, gpu_g3_plan *p, pgr_err *err)
{
    const size_t L = (size_t)mc->n_layer, r = (size_t)a->rank;
    const size_t qd = (size_t)mc->n_head * mc->head_dim, kvd = (size_t)mc->n_kv_head * mc->head_dim;
    const size_t wide = qd > (size_t)mc->dim ? qd : (size_t)mc->dim;
    const size_t widest = wide > (size_t)mc->ffn_dim ? wide : (size_t)mc->ffn_dim;
    memset(p, 0, sizeof *p);
    if (a->reft_layers > mc->n_layer)
        return pgr_errf(err, PGR_EINVAL, "bench gpu: --g3-reft-layers %d > the model's %d layers",
                        a->reft_layers, mc->n_layer);
    const size_t tables = al(L * PGR_SITE_COUNT * CU_LORA_DESC) + al(L * CU_REFT_DESC);
    p->lora_dev = p->reft_dev = tables;
    for (int s = 0; s < PGR_SITE_RESID; s++) {
        if (!(a->targets & (1u << s)))
            continue;
        size_t in, out;
        site_io(mc, s, &in, &out);
        p->lora_dev += L * al(r * (in + out) * sizeof(float));
        p->lora_host += L * r * (in + out) * sizeof(float);
    }
    p->reft_dev += (size_t)a->reft_layers * al(r * (2 * (size_t)mc->dim + 1) * sizeof(float));
    p->reft_host = (size_t)a->reft_layers * r * (2 * (size_t)mc->dim + 1) * sizeof(float);
    /* the scheduler admits a request when its whole prompt + gen fits */
    const size_t per_seq = ((size_t)a->prompt + (size_t)a->gen + 15) / 16;
    p->kv_blocks = (int)(per_seq * (size_t)a->concurrency + (size_t)a->concurrency);
    p->kv_bytes = 2 * L * (size_t)p->kv_blocks * 16 * kvd * 2;
    /* engine.cu reserve(): activations and logits rows for a whole step */
    const size_t cap = a->step_tokens > 256 ? (size_t)a->step_tokens : 256;
    const size_t per_tok = (size_t)mc->dim + wide + 2 * qd + 2 * kvd + 2 * (size_t)mc->ffn_dim;
    p->act_bytes = cap * per_tok * 4 + cap * widest * 2 + cap * (size_t)mc->vocab * 4 +
                   cap * r * 4 + ((size_t)512 << 20); /* cuBLAS, step metadata, graphs */
    const size_t one = p->lora_dev > p->reft_dev ? p->lora_dev : p->reft_dev;
    p->pool_min = (size_t)a->concurrency * one;
    const size_t all = (size_t)a->adapters * (p->lora_dev + p->reft_dev);
    const size_t fixed = weight_bytes + p->kv_bytes + p->act_bytes + ((size_t)1 << 30);
    p->host_need = (size_t)a->adapters * (p->lora_host + p->reft_host) + weight_bytes;
    if (host_avail && p->host_need > host_avail / 10 * 9)
        return pgr_errf(err, PGR_EINVAL,
                        "bench gpu G3: %d adapters (%.1f GiB) and the model (%.1f GiB) need %.1f "
                        "GiB of host memory, %.1f GiB is available: fewer --g3-targets or "
                        "--g3-adapters",
                        a->adapters, gib(p->host_need - weight_bytes), gib(weight_bytes),
                        gib(p->host_need), gib(host_avail));
    if (dev_free < fixed + p->pool_min)
        return pgr_errf(err, PGR_EINVAL,
                        "bench gpu G3: does not fit in %.1f GiB of device memory: weights %.1f + "
                        "KV %.1f (%d blocks) + activations %.1f + 1 GiB margin + the adapters of "
                        "%d running requests (%.1f MiB each) %.1f GiB: fewer --g3-targets (q,v), "
                        "a lower --g3-concurrency or --g3-step-tokens",
                        gib(dev_free), gib(weight_bytes), gib(p->kv_bytes), p->kv_blocks,
                        gib(p->act_bytes), a->concurrency, (double)one / 1048576.0,
                        gib(p->pool_min));
    p->pool = dev_free - fixed < all ? dev_free - fixed : all;
    p->pool_holds_all = p->pool >= all;
    return 0;
}

/* ---- the run (needs the CUDA engine) ------------------------------------------ */

typedef struct run_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int left;
    long gen_tokens;
    int failed;
} run_state;

static void on_done(void *cb, const pgr_sched_result *r)
{
    run_state *rs = cb;
    pthread_mutex_lock(&rs->mu);
    rs->gen_tokens += r->n_gen;
    if (r->status != PGR_SCHED_DONE && !rs->failed) {
        fprintf(stderr, "bench gpu G3: a request ended %s %s\n", pgr_sched_status_name(r->status),
                r->message);
        rs->failed = 1;
    }
    rs->left--;
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
}

typedef struct g3_result {
    double tps, wall_s;
    long gen;
    pgr_sched_stats st;
    pgr_cuda_stats cs;
} g3_result;

/* n requests, request i with ads[i] (NULL: base) in mode; prompt/gen tokens. */
static int g3_submit_all(pgr_sched *s, const pgr_model *m, pgr_adapter *const *ads, int n,
                         int mode, int prompt, int gen, g3_result *res, pgr_err *err)
{
    const int V = pgr_model_config(m)->vocab;
    run_state rs = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)prompt);
    int submitted = 0, rc = -1;
    pgr_sched_stats st0;
    pgr_cuda_stats cs0, cs1;
    if (!ids)
        return pgr_errf(err, PGR_ENOMEM, "bench gpu G3: out of memory");
    pgr_sched_stats_get(s, &st0);
    pgr_cuda_stats_get(pgr_engine_cuda(pgr_sched_engine(s)), &cs0);
    rs.left = n;
    const uint64_t t0 = pgr_now_us();
    for (int i = 0; i < n; i++) {
        unsigned seed = 17u + 7919u * (unsigned)i;
        for (int t = 0; t < prompt; t++) {
            seed = seed * 1103515245u + 12345u;
            ids[t] = (int32_t)((seed >> 7) % (unsigned)V);
        }
        pgr_sched_req q = {0};
        q.user = "g3";
        q.prompt = ids;
        q.n_prompt = (size_t)prompt;
        q.max_tokens = gen;
        pgr_sample_defaults(&q.sample);
        q.sample.temperature = 0; /* greedy */
        q.adapter = ads ? ads[i] : NULL;
        q.mode = mode;
        q.on_done = on_done;
        q.cb = &rs;
        if (pgr_sched_submit(s, &q, NULL, err) != 0)
            break;
        submitted++;
    }
    pthread_mutex_lock(&rs.mu);
    rs.left -= n - submitted;
    while (rs.left > 0)
        pthread_cond_wait(&rs.cv, &rs.mu);
    pthread_mutex_unlock(&rs.mu);
    res->wall_s = (double)(pgr_now_us() - t0) / 1e6;
    res->gen = rs.gen_tokens;
    res->tps = (double)rs.gen_tokens / res->wall_s;
    pgr_sched_stats_get(s, &res->st);
    res->st.steps -= st0.steps;
    res->st.base_only_steps -= st0.base_only_steps;
    pgr_cuda_stats_get(pgr_engine_cuda(pgr_sched_engine(s)), &cs1);
    res->cs = cs1;
    res->cs.adapter_uploads -= cs0.adapter_uploads;
    res->cs.adapter_evictions -= cs0.adapter_evictions;
    res->cs.graph_steps -= cs0.graph_steps;
    res->cs.lora_sgmv_tokens -= cs0.lora_sgmv_tokens;
    res->cs.lora_bgmv_tokens -= cs0.lora_bgmv_tokens;
    if (submitted == n && !rs.failed)
        rc = 0;
    else if (submitted == n) /* (a failed submit has set err itself) */
        pgr_errf(err, PGR_EINTERNAL, "bench gpu G3: requests failed (see above)");
    free(ids);
    return rc;
}

typedef struct make_job {
    const pgr_model *m;
    const gpu_bench_args *a;
    pgr_adapter **lora, **reft;
    int from, to;
    pgr_err err;
    int rc;
} make_job;

static void *make_adapters(void *arg)
{
    make_job *j = arg;
    const pgr_model_cfg *mc = pgr_model_config(j->m);
    for (int i = j->from; i < j->to && j->rc == 0; i++) {
        pgr_adapter_spec s;
        pgr_adapter_spec_default(&s, j->m);
        s.method = PGR_AD_LORA;
        s.rank = j->a->rank;
        s.alpha = 2.0f * (float)s.rank;
        s.targets = j->a->targets;
        j->rc = pgr_adapter_new_random(&s, j->m, 1000u + (uint64_t)i, &j->lora[i], &j->err);
        if (j->rc)
            break;
        pgr_adapter_spec_default(&s, j->m);
        s.method = PGR_AD_LOREFT;
        s.rank = j->a->rank;
        s.targets = 1u << PGR_SITE_RESID;
        s.n_layers = j->a->reft_layers;
        for (int k = 0; k < s.n_layers; k++) /* spread: 0, L/n, 2L/n, ... */
            s.layers[k] = k * mc->n_layer / s.n_layers;
        s.pos_first = s.pos_last = 7;
        j->rc = pgr_adapter_spec_check(&s, j->m, &j->err) ||
                pgr_adapter_new_random(&s, j->m, 5000u + (uint64_t)i, &j->reft[i], &j->err);
    }
    return NULL;
}

static int cmp_res(const void *x, const void *y)
{
    const double a = ((const g3_result *)x)->tps, b = ((const g3_result *)y)->tps;
    return a < b ? -1 : a > b;
}

int gpu_bench_g3(const pgr_model *m, const gpu_bench_args *a, const char *dev, pgr_err *err)
{
    const pgr_model_cfg *mc = pgr_model_config(m);
    int rc = -1, nth = 0;
    pgr_sched *s = NULL;
    pgr_adapter_set *set = NULL;
    pgr_adapter **lora = calloc((size_t)a->adapters, sizeof *lora);
    pgr_adapter **reft = calloc((size_t)a->adapters, sizeof *reft);
    pthread_t th[16];
    make_job jobs[16];
    gpu_g3_plan p;
    size_t dev_free = 0, dev_total = 0, host_avail = 0;
    static g3_result res[G3_MODES][MAX_G3_REPS];
    double med[G3_MODES] = {0};
    char mib[32];
    if (!lora || !reft) {
        pgr_errf(err, PGR_ENOMEM, "bench gpu G3: out of memory");
        goto cleanup;
    }
    {
        long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        host_avail = pages > 0 && psz > 0 ? (size_t)pages * (size_t)psz : 0;
    }
    if (pgr_cuda_mem_info(&dev_free, &dev_total, err) ||
        gpu_g3_plan_make(mc, pgr_model_weight_bytes(m), a, dev_free, host_avail, &p, err))
        goto cleanup;
    printf("G3 plan: %d adapters, LoRA rank %d on %s (%.1f MiB on the device each), LoReFT rank "
           "%d at %d layers f7+l7 (%.2f MiB); KV %d blocks %.1f GiB; activations %.1f GiB; "
           "adapter pool %.1f GiB (%s); device free %.1f of %.1f GiB; host %.1f GiB needed\n",
           a->adapters, a->rank, a->targets_str, (double)p.lora_dev / 1048576.0, a->rank,
           a->reft_layers, (double)p.reft_dev / 1048576.0, p.kv_blocks, gib(p.kv_bytes),
           gib(p.act_bytes), gib(p.pool), p.pool_holds_all ? "holds them all" : "evicts",
           gib(dev_free), gib(dev_total), gib(p.host_need));
    fflush(stdout);
    /* the adapters, made in parallel (random fp32 tensors: tens of GB) */
    fprintf(stderr, "bench gpu G3: making %d LoRA and %d LoReFT adapters...\n", a->adapters,
            a->adapters);
    nth = 16;
    for (int t = 0; t < nth; t++) {
        jobs[t] = (make_job){m, a, lora, reft, a->adapters * t / nth, a->adapters * (t + 1) / nth,
                             {0}, 0};
        if (pthread_create(&th[t], NULL, make_adapters, &jobs[t]) != 0) {
            nth = t;
            pgr_errf(err, PGR_EINTERNAL, "bench gpu G3: pthread_create failed");
            break;
        }
    }
    for (int t = 0; t < nth; t++)
        pthread_join(th[t], NULL);
    if (err->code)
        goto cleanup;
    for (int t = 0; t < nth; t++)
        if (jobs[t].rc) {
            *err = jobs[t].err;
            goto cleanup;
        }
    /* the engine reads its pool budget when the scheduler makes it */
    snprintf(mib, sizeof mib, "%zu", p.pool >> 20);
    setenv("PEERGRAPH_CUDA_ADAPTER_MIB", mib, 1);
    pgr_sched_cfg cfg;
    pgr_sched_cfg_defaults(&cfg);
    cfg.device = "cuda";
    cfg.max_active = a->concurrency;
    cfg.max_queue = a->adapters > a->concurrency ? a->adapters : a->concurrency;
    cfg.step_tokens = a->step_tokens;
    cfg.prefill_chunk = a->prefill_chunk;
    cfg.block_size = 16;
    cfg.kv_blocks = p.kv_blocks;
    if (pgr_adapter_set_new(m, cfg.max_active, &set, err) != 0)
        goto cleanup;
    pgr_adapter_set_sched(set, &cfg.adapt);
    if (pgr_sched_new(m, NULL, &cfg, &s, err) != 0)
        goto cleanup;
    /* warm-up: every adapter once (uploads), graphs, cuBLAS heuristics */
    {
        g3_result w;
        fprintf(stderr, "bench gpu G3: warm-up (every adapter once, 16-token prompts)...\n");
        if (g3_submit_all(s, m, lora, a->adapters, PGR_SCHED_MODE_ALL, 16, 2, &w, err) ||
            g3_submit_all(s, m, reft, a->adapters, PGR_SCHED_MODE_ALL, 16, 2, &w, err) ||
            g3_submit_all(s, m, NULL, a->concurrency, PGR_SCHED_MODE_PREFILL, 16, 4, &w, err))
            goto cleanup;
    }
    printf("\n%-4s %-11s %8s %6s %10s %8s %9s %7s %7s %7s %8s %8s %9s %9s\n", "id", "mode",
           "adapters", "rep", "tok/s", "wall s", "generated", "steps", "base", "graph", "uploads",
           "evicted", "sgmv tok", "bgmv tok");
    for (int rep = 0; rep < a->g3_reps; rep++)
        for (int k = 0; k < G3_MODES; k++) {
            if (!(a->g3_modes & (1 << k)))
                continue;
            const int is_all = k == G3_ALL_LORA || k == G3_ALL_REFT;
            pgr_adapter **ads = k == G3_BASE                              ? NULL
                                : k == G3_PREFT_LORA || k == G3_ALL_LORA ? lora
                                                                         : reft;
            g3_result *r = &res[k][rep], w;
            /* this mode's adapters once more, untimed: the pool may not hold
             * LoRA and LoReFT sets together (on an H100 the LoReFT warm-up
             * evicted 136 LoRA adapters, re-uploaded inside preft-lora's
             * timed run: 0.945 against all-lora, which then found them all) */
            if (ads && g3_submit_all(s, m, ads, a->adapters,
                                     is_all ? PGR_SCHED_MODE_ALL : PGR_SCHED_MODE_PREFILL, 16, 2,
                                     &w, err))
                goto cleanup;
            if (g3_submit_all(s, m, ads, a->adapters,
                              is_all ? PGR_SCHED_MODE_ALL : PGR_SCHED_MODE_PREFILL, a->prompt,
                              a->gen, r, err))
                goto cleanup;
            printf("%-4s %-11s %8d %6d %10.1f %8.2f %9ld %7llu %7llu %7llu %8llu %8llu %9llu "
                   "%9llu\n",
                   "G3", gpu_g3_mode_names[k], k == G3_BASE ? 0 : a->adapters, rep + 1, r->tps,
                   r->wall_s, r->gen, (unsigned long long)r->st.steps,
                   (unsigned long long)r->st.base_only_steps,
                   (unsigned long long)r->cs.graph_steps,
                   (unsigned long long)r->cs.adapter_uploads,
                   (unsigned long long)r->cs.adapter_evictions,
                   (unsigned long long)r->cs.lora_sgmv_tokens,
                   (unsigned long long)r->cs.lora_bgmv_tokens);
            printf("{\"bench\":\"G3\",\"device\":\"%s\",\"mode\":\"%s\",\"adapters\":%d,"
                   "\"concurrency\":%d,\"prompt\":%d,\"gen\":%d,\"rank\":%d,\"targets\":\"%s\","
                   "\"layers\":%d,\"rep\":%d,\"tok_s\":%.2f,\"wall_s\":%.3f,\"generated\":%ld,"
                   "\"steps\":%llu,\"base_only_steps\":%llu,\"graph_steps\":%llu,"
                   "\"adapter_uploads\":%llu,\"adapter_evictions\":%llu,"
                   "\"lora_sgmv_tokens\":%llu,\"lora_bgmv_tokens\":%llu}\n",
                   dev, gpu_g3_mode_names[k], k == G3_BASE ? 0 : a->adapters, a->concurrency,
                   a->prompt, a->gen, a->rank, a->targets_str, mc->n_layer, rep + 1, r->tps,
                   r->wall_s, r->gen, (unsigned long long)r->st.steps,
                   (unsigned long long)r->st.base_only_steps,
                   (unsigned long long)r->cs.graph_steps,
                   (unsigned long long)r->cs.adapter_uploads,
                   (unsigned long long)r->cs.adapter_evictions,
                   (unsigned long long)r->cs.lora_sgmv_tokens,
                   (unsigned long long)r->cs.lora_bgmv_tokens);
            fflush(stdout);
        }
    for (int k = 0; k < G3_MODES; k++)
        if (a->g3_modes & (1 << k)) {
            qsort(res[k], (size_t)a->g3_reps, sizeof res[k][0], cmp_res);
            med[k] = res[k][a->g3_reps / 2].tps;
        }
    printf("\nG3 medians of %d run%s (targets: preft / all-token >= 1.9x, aim 2.5x)\n", a->g3_reps,
           a->g3_reps == 1 ? "" : "s");
    for (int k = 0; k < G3_MODES; k++)
        if (med[k] > 0)
            printf("  %-11s %10.1f tok/s\n", gpu_g3_mode_names[k], med[k]);
    if (med[G3_PREFT_LORA] > 0 && med[G3_ALL_LORA] > 0)
        printf("  preft-lora / all-lora = %.3f\n", med[G3_PREFT_LORA] / med[G3_ALL_LORA]);
    if (med[G3_PREFT_REFT] > 0 && med[G3_ALL_REFT] > 0)
        printf("  preft-reft / all-reft = %.3f\n", med[G3_PREFT_REFT] / med[G3_ALL_REFT]);
    printf("{\"bench\":\"G3-ratio\",\"device\":\"%s\",\"preft_lora_over_all_lora\":%.4f,"
           "\"preft_reft_over_all_reft\":%.4f}\n",
           dev, med[G3_ALL_LORA] > 0 ? med[G3_PREFT_LORA] / med[G3_ALL_LORA] : 0.0,
           med[G3_ALL_REFT] > 0 ? med[G3_PREFT_REFT] / med[G3_ALL_REFT] : 0.0);
    rc = 0;
cleanup:
    pgr_sched_free(s);
    pgr_adapter_set_free(set);
    for (int i = 0; lora && i < a->adapters; i++)
        pgr_adapter_free(lora[i]);
    for (int i = 0; reft && i < a->adapters; i++)
        pgr_adapter_free(reft[i]);
    free(lora);
    free(reft);
    return rc;
}
