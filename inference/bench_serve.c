/* peergraph bench serve: C3-C5 of docs/benchmarks.md (serving with
 * per-request adapters through the scheduler).
 *
 * Each run starts a fresh scheduler (continuous batching, --concurrency
 * sequences at once) with an adapter set and a cold adapter registry (memory
 * budget --budget), then submits --requests requests at once, as the HTTP
 * handlers would: request i gets adapter (i * stride) mod n of n random
 * adapters (files written once into --dir, loaded through the registry on
 * the submitting thread), a prompt of mixed length around --prompt (random
 * token ids) and exactly --gen new tokens (greedy, end-of-generation tokens
 * ignored, so every mode does the same work; a request that ends short is
 * counted and reported).
 * Generated tokens / wall time is the figure; the ratios are the targets'.
 *
 * Modes: base (no adapter), preft-lora, all-lora, preft-reft, all-reft.
 * C3: every mode at 64 adapters; C4: the preft modes at 1, 8, 64, 512
 * adapters; C5: peak RSS against model file + KV cache + the adapters held
 * + 64 MiB. --quick: a CI-size run (few short requests). */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "inference/adapter.h"
#include "inference/bench_serve.h"
#include "inference/model.h"
#include "inference/sched.h"
#include "inference/tokenizer.h"

enum { M_BASE, M_PREFT_LORA, M_ALL_LORA, M_PREFT_REFT, M_ALL_REFT, M_COUNT };
static const char *mode_names[M_COUNT] = {"base", "preft-lora", "all-lora", "preft-reft",
                                          "all-reft"};

typedef struct opts {
    const char *model, *dir;
    int threads, requests, concurrency, prompt, gen;
    int lora_rank, reft_rank;
    const char *lora_targets, *reft_layers, *reft_positions;
    int adapters[16], n_adapters; /* C4 counts */
    int c3_adapters;
    size_t budget; /* bytes; 0 = 80 adapters' worth */
    int modes;     /* bit per mode */
    int c4_only;   /* skip C3 (a C4 run split off into another process) */
} opts;

typedef struct run_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int left;
    long gen_tokens;
    int want_gen, short_reqs; /* --gen; requests that generated fewer */
    pgr_adapter_reg *reg;
    const pgr_adapter **held; /* (requests) released in on_done */
} run_state;

typedef struct req_cb {
    run_state *rs;
    int i;
} req_cb;

static void on_done(void *cb, const pgr_sched_result *r)
{
    req_cb *c = cb;
    run_state *rs = c->rs;
    if (rs->held[c->i]) /* the engine is done with it */
        pgr_adapter_reg_release(rs->reg, rs->held[c->i]);
    pthread_mutex_lock(&rs->mu);
    rs->gen_tokens += r->n_gen;
    rs->short_reqs += r->n_gen != rs->want_gen;
    if (r->status != PGR_SCHED_DONE)
        fprintf(stderr, "bench serve: request %d ended %s %s\n", c->i,
                pgr_sched_status_name(r->status), r->message);
    rs->left--;
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
}

static int is_lora(int mode) { return mode == M_PREFT_LORA || mode == M_ALL_LORA; }

/* The file of adapter k of a method, written on first use. */
static int adapter_path(const opts *o, const pgr_model *m, const char *sha, int lora, int k,
                        char *path, size_t cap, size_t *bytes, pgr_err *err)
{
    snprintf(path, cap, "%s/%s-r%d-%d.pgad", o->dir, lora ? "lora" : "reft",
             lora ? o->lora_rank : o->reft_rank, k);
    struct stat sb;
    if (stat(path, &sb) == 0 && !bytes)
        return 0;
    pgr_adapter_spec s;
    pgr_adapter_spec_default(&s, m);
    s.method = lora ? PGR_AD_LORA : PGR_AD_LOREFT;
    s.rank = lora ? o->lora_rank : o->reft_rank;
    s.alpha = 2.0f * (float)s.rank;
    pgr_adapter *a = NULL;
    int rc = -1;
    if (pgr_adapter_parse_targets(lora ? o->lora_targets : "resid", &s.targets, err) != 0 ||
        pgr_adapter_parse_layers(lora ? "all" : o->reft_layers, pgr_model_config(m)->n_layer, &s,
                                 err) != 0 ||
        pgr_adapter_parse_positions(o->reft_positions, &s.pos_first, &s.pos_last, err) != 0 ||
        pgr_adapter_new_random(&s, m, 1000u + (uint64_t)k, &a, err) != 0)
        goto done;
    memcpy(a->base_sha256, sha, 65);
    if (bytes)
        *bytes = a->bytes;
    if (stat(path, &sb) != 0 && pgr_adapter_save(a, path, err) != 0)
        goto done;
    rc = 0;
done:
    pgr_adapter_free(a);
    return rc;
}

/* Where the memory is (C5's accounting): the kernel's view from
 * /proc/self/status (resident anonymous and file-backed pages, the peak) and
 * malloc's (bytes in use, free but kept in the heap, in mmap'd chunks). */
typedef struct mem_snap {
    double rss, anon, file, hwm;           /* MiB */
    double heap_used, heap_free, heap_map; /* MiB */
} mem_snap;

static void mem_snap_take(mem_snap *m)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            m->rss = kb / 1024.0;
        else if (sscanf(line, "RssAnon: %ld", &kb) == 1)
            m->anon = kb / 1024.0;
        else if (sscanf(line, "RssFile: %ld", &kb) == 1)
            m->file = kb / 1024.0;
        else if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            m->hwm = kb / 1024.0;
    }
    if (f)
        fclose(f);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2(); /* all arenas */
    m->heap_used = (double)(mi.uordblks + mi.hblkhd) / 1048576.0;
    m->heap_free = (double)mi.fordblks / 1048576.0;
    m->heap_map = (double)mi.hblkhd / 1048576.0;
#endif
}

static void mem_snap_print(const char *when, const char *mode, const mem_snap *m)
{
    printf("{\"bench\":\"C5-detail\",\"mode\":\"%s\",\"when\":\"%s\",\"rss_mib\":%.1f,"
           "\"anon_mib\":%.1f,\"file_mib\":%.1f,\"peak_mib\":%.1f,\"malloc_used_mib\":%.1f,"
           "\"malloc_free_mib\":%.1f,\"malloc_mmap_mib\":%.1f}\n",
           mode, when, m->rss, m->anon, m->file, m->hwm, m->heap_used, m->heap_free, m->heap_map);
}

typedef struct run_result {
    double tps, wall_s;
    double cpu_s, tpc; /* process CPU seconds (all threads), generated tokens per CPU second */
    long gen_tokens;
    int short_reqs; /* requests that generated fewer than --gen tokens */
    uint64_t steps, base_only_steps;
    pgr_adapter_reg_stats reg;
    long maxrss_kb;
    mem_snap loaded, end; /* after every request is submitted (adapters held); at the end */
} run_result;

static int run_one(const opts *o, const pgr_model *m, const pgr_tokenizer *tok, const char *sha,
                   int mode, int n_adapters, size_t budget, run_result *res, pgr_err *err)
{
    int rc = -1, submitted = 0;
    pgr_sched *s = NULL;
    pgr_adapter_set *set = NULL;
    run_state rs = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    int32_t *ids = NULL;
    req_cb *cbs = calloc((size_t)o->requests, sizeof *cbs);
    rs.held = calloc((size_t)o->requests, sizeof *rs.held);
    int max_len = o->prompt + o->prompt / 2 + 1;
    ids = malloc(sizeof(int32_t) * (size_t)max_len);
    if (!cbs || !rs.held || !ids) {
        pgr_errf(err, PGR_ENOMEM, "bench serve: out of memory");
        goto done;
    }
    pgr_sched_cfg cfg;
    pgr_sched_cfg_defaults(&cfg);
    cfg.n_threads = o->threads;
    cfg.max_active = o->concurrency;
    cfg.max_queue = o->requests;
    cfg.block_size = 16;
    /* room for every running sequence's longest prompt + generation */
    cfg.kv_blocks = o->concurrency * ((max_len + o->gen + 15) / 16 + 1);
    if (mode != M_BASE) {
        if (pgr_adapter_set_new(m, cfg.max_active, &set, err) != 0 ||
            pgr_adapter_reg_new(m, sha, budget, &rs.reg, err) != 0)
            goto done;
        pgr_adapter_set_sched(set, &cfg.adapt);
    }
    if (pgr_sched_new(m, tok, &cfg, &s, err) != 0)
        goto done;
    /* stride: consecutive requests use far-apart adapters, so with many
     * adapters every request up to n brings a new one */
    int stride = n_adapters > o->requests ? n_adapters / o->requests : 1;
    /* adapter files exist before the clock starts (writing them is not serving) */
    for (int i = 0; mode != M_BASE && i < o->requests; i++) {
        char path[4096];
        if (adapter_path(o, m, sha, is_lora(mode), (i * stride) % n_adapters, path, sizeof path,
                         NULL, err) != 0)
            goto done;
    }
    rs.left = o->requests;
    rs.want_gen = o->gen;
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = pgr_now_us();
    for (int i = 0; i < o->requests; i++) {
        int len = o->prompt / 2 + (int)(((unsigned)i * 2654435761u) % (unsigned)(o->prompt + 1));
        unsigned seed = 7u + (unsigned)i;
        for (int t = 0; t < len; t++) {
            seed = seed * 1103515245u + 12345u;
            ids[t] = 200 + (int32_t)((seed >> 8) % 20000u);
        }
        const pgr_adapter *ad = NULL;
        if (mode != M_BASE) {
            char path[4096];
            int k = (i * stride) % n_adapters;
            if (adapter_path(o, m, sha, is_lora(mode), k, path, sizeof path, NULL, err) != 0 ||
                pgr_adapter_reg_acquire(rs.reg, path, &ad, err) != 0)
                goto drain;
        }
        rs.held[i] = ad;
        cbs[i] = (req_cb){&rs, i};
        pgr_sched_req q = {0};
        q.user = "bench";
        q.prompt = ids;
        q.n_prompt = (size_t)len;
        q.max_tokens = o->gen;
        q.ignore_eos = 1; /* every request does the same work in every mode */
        pgr_sample_defaults(&q.sample);
        q.adapter = ad;
        q.mode = mode == M_ALL_LORA || mode == M_ALL_REFT ? PGR_SCHED_MODE_ALL
                                                          : PGR_SCHED_MODE_PREFILL;
        q.on_done = on_done;
        q.cb = &cbs[i];
        if (pgr_sched_submit(s, &q, NULL, err) != 0) {
            if (ad)
                pgr_adapter_reg_release(rs.reg, ad);
            goto drain;
        }
        submitted++;
    }
    rc = 0;
drain:
    mem_snap_take(&res->loaded);
    pthread_mutex_lock(&rs.mu);
    rs.left -= o->requests - submitted; /* never submitted: nothing to wait for */
    while (rs.left > 0)
        pthread_cond_wait(&rs.cv, &rs.mu);
    pthread_mutex_unlock(&rs.mu);
    res->wall_s = (double)(pgr_now_us() - t0) / 1e6;
    res->gen_tokens = rs.gen_tokens;
    res->short_reqs = rs.short_reqs;
    res->tps = (double)rs.gen_tokens / res->wall_s;
    pgr_sched_stats st;
    pgr_sched_stats_get(s, &st);
    res->steps = st.steps, res->base_only_steps = st.base_only_steps;
    memset(&res->reg, 0, sizeof res->reg);
    if (rs.reg)
        pgr_adapter_reg_stats_get(rs.reg, &res->reg);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    res->maxrss_kb = ru.ru_maxrss;
    mem_snap_take(&res->end);
    /* On a shared, oversubscribed machine wall time measures the other
     * tenants; CPU time measures our work. */
    res->cpu_s = (double)(ru.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (double)(ru.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    res->tpc = res->cpu_s > 0 ? (double)rs.gen_tokens / res->cpu_s : 0;
done:
    pgr_sched_free(s);
    pgr_adapter_set_free(set);
    pgr_adapter_reg_free(rs.reg);
    free(cbs), free(rs.held), free(ids);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: peergraph bench serve [options]\n"
            "  C3: generated tok/s at 64 adapters for modes base, preft-lora, all-lora,\n"
            "      preft-reft, all-reft; C4: the preft modes at 1, 8, 64, 512 adapters;\n"
            "  C5: peak RSS vs model + KV cache + adapters + 64 MiB.\n"
            "  --model PATH        (default %s)\n"
            "  --threads N         engine threads (default 2)\n"
            "  --requests N        requests per run, submitted at once (default 128)\n"
            "  --concurrency N     sequences batched at once (default 64)\n"
            "  --prompt N          mean prompt length; lengths spread over N/2..3N/2 (default 256)\n"
            "  --gen N             new tokens per request (default 64)\n"
            "  --adapters LIST     C4 adapter counts (default 1,8,64,512); the count equal to\n"
            "                      --c3-adapters reuses that mode's C3 run (c3_run in the JSON)\n"
            "  --c3-adapters N     adapters in C3 (default 64)\n"
            "  --modes LIST        (default all five)\n"
            "  --lora-rank R       (default 16)  --lora-targets T (default q,k,v,o,gate,up,down)\n"
            "  --reft-rank R       (default 8)   --reft-layers L (default 0,8,16,24)\n"
            "  --budget MB         adapter registry budget (default: 80 LoRA adapters' bytes)\n"
            "  --dir DIR           where adapter files go (default /tmp/peergraph-bench-serve)\n"
            "  --c4-only           run only C4 (e.g. some counts in another process)\n"
            "  --quick             CI size: 8 requests, concurrency 8, prompt 24, gen 6,\n"
            "                      adapters 1,8, LoRA rank 4\n",
            PGR_DEFAULT_MODEL);
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 100000)
            return -1;
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

int serve_bench_main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"model", required_argument, 0, 'm'},     {"threads", required_argument, 0, 't'},
        {"requests", required_argument, 0, 'r'},  {"concurrency", required_argument, 0, 'c'},
        {"prompt", required_argument, 0, 'p'},    {"gen", required_argument, 0, 'g'},
        {"adapters", required_argument, 0, 'a'},  {"c3-adapters", required_argument, 0, 'A'},
        {"modes", required_argument, 0, 'M'},     {"lora-rank", required_argument, 0, 'L'},
        {"lora-targets", required_argument, 0, 'T'}, {"reft-rank", required_argument, 0, 'R'},
        {"reft-layers", required_argument, 0, 'Y'}, {"budget", required_argument, 0, 'b'},
        {"dir", required_argument, 0, 'd'},       {"quick", no_argument, 0, 'q'},
        {"c4-only", no_argument, 0, 'O'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    opts o = {PGR_DEFAULT_MODEL, "/tmp/peergraph-bench-serve", 2, 128, 64, 256, 64, 16, 8,
              "q,k,v,o,gate,up,down", "0,8,16,24", "f7+l7", {1, 8, 64, 512}, 4, 64, 0,
              (1 << M_COUNT) - 1, 0};
    int c;
    long budget_mb = 0;
    /* --quick sets the defaults; options given with it still win */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--quick")) {
            o.requests = 8, o.concurrency = 8, o.prompt = 24, o.gen = 6, o.lora_rank = 4;
            o.adapters[0] = 1, o.adapters[1] = 8, o.n_adapters = 2, o.c3_adapters = 8;
        }
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 't': o.threads = atoi(optarg); break;
        case 'r': o.requests = atoi(optarg); break;
        case 'c': o.concurrency = atoi(optarg); break;
        case 'p': o.prompt = atoi(optarg); break;
        case 'g': o.gen = atoi(optarg); break;
        case 'a':
            if ((o.n_adapters = parse_list(optarg, o.adapters, 16)) < 1) {
                fprintf(stderr, "bench serve: --adapters: expected a list like 1,8,64\n");
                return 2;
            }
            break;
        case 'A': o.c3_adapters = atoi(optarg); break;
        case 'M': {
            o.modes = 0;
            for (const char *p = optarg; *p;) {
                size_t n = strcspn(p, ",");
                int k = 0;
                while (k < M_COUNT && !(strlen(mode_names[k]) == n && !strncmp(p, mode_names[k], n)))
                    k++;
                if (k == M_COUNT) {
                    fprintf(stderr, "bench serve: --modes: unknown mode '%.*s'\n", (int)n, p);
                    return 2;
                }
                o.modes |= 1 << k;
                p += n + (p[n] == ',');
            }
            break;
        }
        case 'L': o.lora_rank = atoi(optarg); break;
        case 'T': o.lora_targets = optarg; break;
        case 'R': o.reft_rank = atoi(optarg); break;
        case 'Y': o.reft_layers = optarg; break;
        case 'b': budget_mb = atol(optarg); break;
        case 'd': o.dir = optarg; break;
        case 'q': break; /* applied above */
        case 'O': o.c4_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.threads < 1 || o.threads > 256 || o.requests < 1 || o.requests > 100000 ||
        o.concurrency < 1 || o.concurrency > 4096 || o.prompt < 2 || o.prompt > 4096 ||
        o.gen < 1 || o.gen > 4096 || o.c3_adapters < 1 || o.lora_rank < 1 ||
        o.lora_rank > PGR_AD_MAX_RANK || o.reft_rank < 1 || o.reft_rank > PGR_AD_MAX_RANK ||
        budget_mb < 0) {
        fprintf(stderr, "bench serve: an option is out of range (see --help)\n");
        return 2;
    }
    if (mkdir(o.dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench serve: %s: %s\n", o.dir, strerror(errno));
        return 1;
    }
    int rc = 1;
    pgr_err err = {0};
    pgr_model *m = NULL;
    pgr_tokenizer *tok = NULL;
    char sha[65];
    size_t lora_bytes = 0, reft_bytes = 0;
    char path[4096];
    if (pgr_model_load(o.model, &m, &err) != 0 || pgr_model_sha256(m, sha, &err) != 0 ||
        pgr_tok_load(pgr_model_gguf(m), &tok, &err) != 0 ||
        adapter_path(&o, m, sha, 1, 0, path, sizeof path, &lora_bytes, &err) != 0 ||
        adapter_path(&o, m, sha, 0, 0, path, sizeof path, &reft_bytes, &err) != 0)
        goto done;
    size_t budget = budget_mb ? (size_t)budget_mb << 20 : 80 * lora_bytes;
    const pgr_model_cfg *mc = pgr_model_config(m);
    struct stat sb;
    double model_mib = stat(o.model, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0;
    int max_len = o.prompt + o.prompt / 2 + 1;
    double kv_mib = (double)o.concurrency * ((max_len + o.gen + 15) / 16 + 1) * 16 * mc->n_layer *
                    2.0 * mc->n_kv_head * mc->head_dim * 2 / 1048576.0;
    printf("bench serve: %s, %d threads (%s kernels), %d requests at once, concurrency %d, prompt "
           "%d..%d, gen %d; LoRA rank %d on %s (%.1f MiB each), LoReFT rank %d on layers %s %s "
           "(%.2f MiB each); registry budget %.0f MiB\n",
           o.model, o.threads, pgr_kernels_cpu_isa(), o.requests, o.concurrency, o.prompt / 2,
           o.prompt / 2 + o.prompt, o.gen, o.lora_rank, o.lora_targets, lora_bytes / 1048576.0,
           o.reft_rank, o.reft_layers, o.reft_positions, reft_bytes / 1048576.0,
           budget / 1048576.0);
    /* warm-up: page the model in (not counted) */
    {
        opts w = o;
        w.requests = 2, w.gen = 2;
        run_result r;
        if (run_one(&w, m, tok, sha, M_BASE, 1, budget, &r, &err) != 0)
            goto done;
    }
    double c3[M_COUNT] = {0}, c3c[M_COUNT] = {0};
    run_result c3r[M_COUNT]; /* C4 at the C3 adapter count reuses these */
    {
        mem_snap idle;
        mem_snap_take(&idle);
        mem_snap_print("idle", "none", &idle);
    }
    long rss_c3 = 0;
    printf("\n%-4s %-11s %8s %9s %8s %10s %8s %10s %7s %7s %6s %6s %9s\n", "id", "mode",
           "adapters", "tok/s", "wall s", "tok/cpu-s", "cpu s", "generated", "steps", "base",
           "loads", "evict", "RSS MiB");
    for (int k = 0; k < M_COUNT; k++) {
        if (!(o.modes & (1 << k)) || o.c4_only)
            continue;
        run_result r;
        if (run_one(&o, m, tok, sha, k, o.c3_adapters, budget, &r, &err) != 0)
            goto done;
        c3[k] = r.tps, c3c[k] = r.tpc;
        rss_c3 = r.maxrss_kb;
        printf("%-4s %-11s %8d %9.1f %8.2f %10.1f %8.2f %10ld %7llu %7llu %6zu %6zu %9.1f\n", "C3",
               mode_names[k], k == M_BASE ? 0 : o.c3_adapters, r.tps, r.wall_s, r.tpc, r.cpu_s,
               r.gen_tokens,
               (unsigned long long)r.steps, (unsigned long long)r.base_only_steps, r.reg.loads,
               r.reg.evictions, r.maxrss_kb / 1024.0);
        printf("{\"bench\":\"C3\",\"mode\":\"%s\",\"adapters\":%d,\"tok_s\":%.2f,\"wall_s\":%.3f,"
               "\"tok_cpu_s\":%.2f,\"cpu_s\":%.3f,\"generated\":%ld,\"short\":%d,\"steps\":%llu,"
               "\"base_only_steps\":%llu}\n",
               mode_names[k], k == M_BASE ? 0 : o.c3_adapters, r.tps, r.wall_s, r.tpc, r.cpu_s,
               r.gen_tokens, r.short_reqs,
               (unsigned long long)r.steps, (unsigned long long)r.base_only_steps);
        mem_snap_print("loaded", mode_names[k], &r.loaded);
        mem_snap_print("end", mode_names[k], &r.end);
        c3r[k] = r;
        fflush(stdout);
    }
    double c4[2][16] = {{0}}, c4c[2][16] = {{0}};
    for (int pm = 0; pm < 2; pm++) {
        int k = pm ? M_PREFT_REFT : M_PREFT_LORA;
        if (!(o.modes & (1 << k)))
            continue;
        for (int a = 0; a < o.n_adapters; a++) {
            run_result r;
            int reused = o.adapters[a] == o.c3_adapters && c3[k] > 0; /* the same run as C3's */
            if (reused)
                r = c3r[k];
            else if (run_one(&o, m, tok, sha, k, o.adapters[a], budget, &r, &err) != 0)
                goto done;
            c4[pm][a] = r.tps, c4c[pm][a] = r.tpc;
            printf("%-4s %-11s %8d %9.1f %8.2f %10.1f %8.2f %10ld %7llu %7llu %6zu %6zu %9.1f\n",
                   "C4", mode_names[k], o.adapters[a], r.tps, r.wall_s, r.tpc, r.cpu_s,
                   r.gen_tokens,
                   (unsigned long long)r.steps, (unsigned long long)r.base_only_steps,
                   r.reg.loads, r.reg.evictions, r.maxrss_kb / 1024.0);
            printf("{\"bench\":\"C4\",\"mode\":\"%s\",\"adapters\":%d,\"tok_s\":%.2f,"
                   "\"tok_cpu_s\":%.2f,\"cpu_s\":%.3f,\"generated\":%ld,\"short\":%d,"
                   "\"loads\":%zu,\"evictions\":%zu,\"c3_run\":%s}\n",
                   mode_names[k], o.adapters[a], r.tps, r.tpc, r.cpu_s, r.gen_tokens, r.short_reqs,
                   r.reg.loads, r.reg.evictions, reused ? "true" : "false");
            fflush(stdout);
        }
    }
    printf("\nratios (targets: preft-lora/all-lora >= 1.5 at 64 adapters, preft/base >= 0.9, "
           "preft flat within 10%% over the adapter counts)\n");
    for (int basis = 0; basis < 2; basis++) {
        const double *v = basis ? c3c : c3;
        const char *what = basis ? "per CPU second" : "wall";
        if (v[M_ALL_LORA] > 0)
            printf("  C3 (%s) preft-lora / all-lora = %.3f\n", what, v[M_PREFT_LORA] / v[M_ALL_LORA]);
        if (v[M_ALL_REFT] > 0)
            printf("  C3 (%s) preft-reft / all-reft = %.3f\n", what, v[M_PREFT_REFT] / v[M_ALL_REFT]);
        if (v[M_BASE] > 0) {
            printf("  C3 (%s) preft-lora / base = %.3f\n", what, v[M_PREFT_LORA] / v[M_BASE]);
            printf("  C3 (%s) preft-reft / base = %.3f\n", what, v[M_PREFT_REFT] / v[M_BASE]);
        }
        for (int pm = 0; pm < 2; pm++) {
            double lo = 0, hi = 0;
            for (int a = 0; a < o.n_adapters; a++) {
                double x = basis ? c4c[pm][a] : c4[pm][a];
                if (x <= 0)
                    continue;
                lo = lo == 0 || x < lo ? x : lo;
                hi = x > hi ? x : hi;
            }
            if (hi > 0)
                printf("  C4 (%s) %s: slowest / fastest over the adapter counts = %.3f\n", what,
                       mode_names[pm ? M_PREFT_REFT : M_PREFT_LORA], lo / hi);
        }
    }
    double held_mib = (double)(o.c3_adapters < o.requests ? o.c3_adapters : o.requests) *
                      (double)lora_bytes / 1048576.0;
    if (!o.c4_only) /* C5 is measured over the C3 runs */
        printf("  C5 peak RSS after C3 %.1f MiB; budget: model %.1f + KV %.1f + adapters held %.1f "
               "+ 64 = %.1f MiB\n",
               rss_c3 / 1024.0, model_mib, kv_mib, held_mib, model_mib + kv_mib + held_mib + 64);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "peergraph bench serve: %s\n", err.msg);
    pgr_tok_free(tok);
    pgr_model_free(m);
    return rc;
}
