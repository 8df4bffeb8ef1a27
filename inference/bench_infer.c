/* peergraph bench infer: C1, C2, C5 against llama.cpp.
 *
 * The peer is llama.cpp through llama-cpp-python (--python, default
 * $PEERGRAPH_REF_PYTHON or /work/refenv/bin/python): a small script, run as a
 * fresh process per repetition, times the same token ids on the same GGUF
 * with the same thread count (llm.eval of the 512-token prompt; then a
 * 32-token prompt and 128 greedy one-token evals). Ours runs in this process;
 * our peak RSS is measured in a child process (this binary re-executed with
 * --child) doing the same work. Repetitions alternate ours / peer; each
 * figure is the median. One JSON line per figure, then a table. */
#include "inference/bench_infer.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "inference/model.h"
#include "inference/tokenizer.h"

#define MAX_REPS 15

static const char *PEER_PY =
    "import json, resource, sys, time\n"
    "import numpy as np\n"
    "from llama_cpp import Llama\n"
    "model, threads, ids_path, n_prompt, n_decode = sys.argv[1], int(sys.argv[2]), sys.argv[3], "
    "int(sys.argv[4]), int(sys.argv[5])\n"
    "ids = [int(x) for x in open(ids_path).read().split()]\n"
    "llm = Llama(model_path=model, n_ctx=1024, n_batch=512, n_threads=threads, "
    "n_threads_batch=threads, logits_all=False, flash_attn=False, verbose=False)\n"
    "nv = llm.n_vocab()\n"
    "def last():\n"
    "    return np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(nv,))\n"
    "llm.reset(); t0 = time.perf_counter(); llm.eval(ids); t1 = time.perf_counter()\n"
    "prefill = len(ids) / (t1 - t0)\n"
    "llm.reset(); llm.eval(ids[:n_prompt]); tok = int(np.argmax(last())); gen = [tok]\n"
    "t0 = time.perf_counter()\n"
    "for _ in range(n_decode):\n"
    "    llm.eval([tok]); tok = int(np.argmax(last())); gen.append(tok)\n"
    "t1 = time.perf_counter()\n"
    "print(json.dumps({'prefill_tps': prefill, 'decode_tps': n_decode / (t1 - t0), "
    "'maxrss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'gen': gen[:16]}))\n";

static double now_s(void) { return (double)pgr_now_us() / 1e6; }

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

struct run_result {
    double prefill_tps, decode_tps;
    long maxrss_kb;
    int32_t gen[16];
};

/* Our engine: prefill of ids (n), then decode n_decode tokens after n_prompt. */
static int run_ours(const pgr_model *m, const char *device, int threads, const int32_t *ids,
                    int n, int n_prompt, int n_decode, struct run_result *r, pgr_err *err)
{
    int rc = -1;
    pgr_engine *e = NULL;
    pgr_kv *kv = NULL;
    const int V = pgr_model_config(m)->vocab, bs = 16;
    float *lg = malloc(sizeof(float) * (size_t)V);
    int32_t *seq = malloc(sizeof(int32_t) * (size_t)n), *pos = malloc(sizeof(int32_t) * (size_t)n);
    int need = n > n_prompt + n_decode ? n : n_prompt + n_decode;
    if (!lg || !seq || !pos) {
        pgr_errf(err, PGR_ENOMEM, "bench: out of memory");
        goto cleanup;
    }
    if (pgr_engine_new_on(m, device, threads, &e, err) ||
        pgr_kv_new(m, (need + bs) / bs, bs, 1, &kv, err))
        goto cleanup;
    int s = pgr_kv_seq_open(kv, err);
    for (int i = 0; i < n; i++)
        seq[i] = s, pos[i] = i;
    pgr_batch b = {n, ids, seq, pos, NULL};
    double t0 = now_s();
    if (pgr_forward(e, kv, &b, lg, err))
        goto cleanup;
    r->prefill_tps = n / (now_s() - t0);
    pgr_kv_seq_close(kv, s);
    s = pgr_kv_seq_open(kv, err);
    pgr_batch bp = {n_prompt, ids, seq, pos, NULL};
    if (pgr_forward(e, kv, &bp, lg, err))
        goto cleanup;
    int32_t tok = argmax(lg, V);
    r->gen[0] = tok;
    t0 = now_s();
    for (int i = 0; i < n_decode; i++) {
        int32_t sq = s, ps = n_prompt + i;
        pgr_batch b1 = {1, &tok, &sq, &ps, NULL};
        if (pgr_forward(e, kv, &b1, lg, err))
            goto cleanup;
        tok = argmax(lg, V);
        if (i + 1 < 16)
            r->gen[i + 1] = tok;
    }
    r->decode_tps = n_decode / (now_s() - t0);
    rc = 0;
cleanup:
    pgr_kv_free(kv);
    pgr_engine_free(e);
    free(lg), free(seq), free(pos);
    return rc;
}

static int run_peer(const char *python, const char *script, const char *model, int threads,
                    const char *ids_path, int n_prompt, int n_decode, struct run_result *r)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' %d '%s' %d %d", python, script, model, threads,
             ids_path, n_prompt, n_decode);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[8192] = "";
    int got = 0;
    while (fgets(line, sizeof line, p))
        if (strstr(line, "decode_tps")) {
            got = 1;
            break;
        }
    if (pclose(p) != 0 || !got)
        return -1;
    const char *g;
    if (!(g = strstr(line, "\"prefill_tps\": ")) || sscanf(g + 15, "%lf", &r->prefill_tps) != 1 ||
        !(g = strstr(line, "\"decode_tps\": ")) || sscanf(g + 14, "%lf", &r->decode_tps) != 1 ||
        !(g = strstr(line, "\"maxrss_kb\": ")) || sscanf(g + 13, "%ld", &r->maxrss_kb) != 1)
        return -1;
    if ((g = strstr(line, "\"gen\": [")))
        for (int i = 0; i < 16 && g; i++) {
            g += strcspn(g, "0123456789");
            r->gen[i] = (int32_t)strtol(g, (char **)&g, 10);
        }
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Token ids for the benchmark: a fixed English text, repeated to n tokens. */
static int bench_ids(const pgr_model *m, int n, int32_t **out, pgr_err *err)
{
    static const char *text =
        "Graph neural networks learn node representations by passing messages along edges. "
        "Each layer aggregates the features of a node's neighbours and combines them with its "
        "own. Citation graphs link papers to the papers they cite; co-authorship graphs link "
        "researchers who wrote together. Recommending papers to a researcher can use both. ";
    pgr_tokenizer *tok = NULL;
    pgr_tokvec tv = {0};
    int rc = -1;
    if (pgr_tok_load(pgr_model_gguf(m), &tok, err) ||
        pgr_tok_encode(tok, text, strlen(text), 0, &tv, err))
        goto cleanup;
    if (tv.n == 0 || !(*out = malloc(sizeof(int32_t) * (size_t)n))) {
        pgr_errf(err, PGR_ENOMEM, "bench: no tokens");
        goto cleanup;
    }
    for (int i = 0; i < n; i++)
        (*out)[i] = tv.v[(size_t)i % tv.n];
    rc = 0;
cleanup:
    pgr_tokvec_free(&tv);
    pgr_tok_free(tok);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: peergraph bench infer [--model PATH] [--threads N] [--reps N] [--python PATH] [--no-peer]\n"
               "                             [--device cpu|cuda]   (cuda: ours on the GPU, no peer)\n"
               "  C1: decode tok/s (%s after a 32-token prompt), C2: prefill tok/s (512-token prompt),\n"
               "  C5: peak RSS; against llama.cpp (llama-cpp-python run by --python, default\n"
               "  $PEERGRAPH_REF_PYTHON or /work/refenv/bin/python), alternating, median of --reps (5)\n",
            "128 tokens");
}

int infer_bench_main(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"threads", required_argument, 0, 't'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"python", required_argument, 0, 'p'},
                                         {"no-peer", no_argument, 0, 'n'},
                                         {"child", no_argument, 0, 'c'},
                                         {"device", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model_path = PGR_DEFAULT_MODEL, *python = getenv("PEERGRAPH_REF_PYTHON");
    const char *device = "cpu";
    int threads = 2, reps = 5, peer = 1, child = 0, c;
    const int n_prefill = 512, n_prompt = 32, n_decode = 128;
    if (!python)
        python = "/work/refenv/bin/python";
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 'p': python = optarg; break;
        case 'n': peer = 0; break;
        case 'c': child = 1; break;
        case 'd':
            if (pgr_device_check("peergraph bench infer", optarg))
                return 2;
            device = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (threads < 1 || threads > 256 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "peergraph bench infer: --threads in [1, 256], --reps in [1, %d]\n", MAX_REPS);
        return 2;
    }
    /* the peer runs on the CPU: comparing it with a GPU run says nothing */
    if (strcmp(device, "cpu") != 0)
        peer = 0;
    int rc = 1;
    pgr_err err = {0};
    pgr_model *m = NULL;
    int32_t *ids = NULL;
    char dir[] = "/tmp/peergraph-bench.XXXXXX", ids_path[64], script[64];
    int have_dir = 0;
    if (pgr_model_load(model_path, &m, &err) || bench_ids(m, n_prefill, &ids, &err))
        goto cleanup;
    if (child) { /* one run, for the parent's peak-RSS measurement */
        struct run_result r;
        rc = run_ours(m, device, threads, ids, n_prefill, n_prompt, n_decode, &r, &err) ? 1 : 0;
        goto cleanup;
    }
    if (peer) {
        if (!mkdtemp(dir)) {
            pgr_errf(&err, PGR_EIO, "bench: mkdtemp: %s", strerror(errno));
            goto cleanup;
        }
        have_dir = 1;
        snprintf(ids_path, sizeof ids_path, "%s/ids.txt", dir);
        snprintf(script, sizeof script, "%s/peer.py", dir);
        FILE *f = fopen(ids_path, "w"), *g = fopen(script, "w");
        if (f)
            for (int i = 0; i < n_prefill; i++)
                fprintf(f, "%d ", ids[i]);
        if (g)
            fputs(PEER_PY, g);
        if (!f || !g || fclose(f) || fclose(g)) {
            pgr_errf(&err, PGR_EIO, "bench: cannot write %s", dir);
            goto cleanup;
        }
    }
    double op[MAX_REPS], od[MAX_REPS], pp[MAX_REPS], pd[MAX_REPS];
    long peer_rss = 0;
    struct run_result warm, r;
    int same_tokens = -1;
    /* warm-up: page the model in for both (not counted) */
    if (run_ours(m, device, threads, ids, n_prefill, n_prompt, n_decode, &warm, &err))
        goto cleanup;
    if (peer && run_peer(python, script, model_path, threads, ids_path, n_prompt, n_decode, &r)) {
        fprintf(stderr, "peergraph bench infer: the peer (%s with llama_cpp) did not run; use --python or --no-peer\n",
                python);
        goto cleanup;
    }
    if (peer)
        same_tokens = memcmp(warm.gen, r.gen, sizeof warm.gen) == 0;
    for (int i = 0; i < reps; i++) {
        if (run_ours(m, device, threads, ids, n_prefill, n_prompt, n_decode, &r, &err))
            goto cleanup;
        op[i] = r.prefill_tps, od[i] = r.decode_tps;
        if (peer) {
            if (run_peer(python, script, model_path, threads, ids_path, n_prompt, n_decode, &r)) {
                pgr_errf(&err, PGR_EINTERNAL, "bench: peer run %d failed", i + 1);
                goto cleanup;
            }
            pp[i] = r.prefill_tps, pd[i] = r.decode_tps;
            if (r.maxrss_kb > peer_rss)
                peer_rss = r.maxrss_kb;
        }
    }
    /* our peak RSS: the same work in a fresh child process */
    long our_rss = 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char th[16];
        snprintf(th, sizeof th, "%d", threads);
        execl("/proc/self/exe", "peergraph", "bench", "infer", "--child", "--model", model_path,
              "--threads", th, "--device", device, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) {
        int st;
        struct rusage ru;
        if (wait4(pid, &st, 0, &ru) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            our_rss = ru.ru_maxrss;
    }
    struct stat sb;
    double model_mib = stat(model_path, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0;
    /* KV cache for the 512-token run: 30 layers x 2 x 192 x 2 bytes per position */
    const pgr_model_cfg *cfg = pgr_model_config(m);
    double kv_mib = (double)(n_prefill + 16) * cfg->n_layer * 2.0 * cfg->n_kv_head * cfg->head_dim * 2 / 1048576.0;
    double c2o = median(op, reps), c1o = median(od, reps);
    double c2p = peer ? median(pp, reps) : 0, c1p = peer ? median(pd, reps) : 0;
    printf("{\"bench\":\"C1\",\"device\":\"%s\",\"what\":\"decode tok/s, %d after %d-token prompt\",\"threads\":%d,\"reps\":%d,"
           "\"ours\":%.2f,\"llama_cpp\":%.2f,\"ratio\":%.3f}\n",
           device, n_decode, n_prompt, threads, reps, c1o, c1p, peer ? c1o / c1p : 0);
    printf("{\"bench\":\"C2\",\"device\":\"%s\",\"what\":\"prefill tok/s, %d-token prompt\",\"threads\":%d,\"reps\":%d,"
           "\"ours\":%.2f,\"llama_cpp\":%.2f,\"ratio\":%.3f}\n",
           device, n_prefill, threads, reps, c2o, c2p, peer ? c2o / c2p : 0);
    printf("{\"bench\":\"C5\",\"what\":\"peak RSS MiB (decode+prefill run)\",\"ours\":%.1f,\"llama_cpp_python\":%.1f,"
           "\"model_file_mib\":%.1f,\"kv_mib\":%.1f,\"budget_mib\":%.1f}\n",
           our_rss / 1024.0, peer_rss / 1024.0, model_mib, kv_mib, model_mib + kv_mib + 64);
    printf("\n%-4s %-40s %12s %12s %8s\n", "id", "what", "peergraph", "llama.cpp", "ratio");
    printf("%-4s %-40s %12.1f %12.1f %8.3f\n", "C1", "decode tok/s (128 after 32)", c1o, c1p, peer ? c1o / c1p : 0);
    printf("%-4s %-40s %12.1f %12.1f %8.3f\n", "C2", "prefill tok/s (512)", c2o, c2p, peer ? c2o / c2p : 0);
    printf("%-4s %-40s %12.1f %12.1f %8s\n", "C5", "peak RSS MiB", our_rss / 1024.0, peer_rss / 1024.0, "");
    printf("device %s, threads %d, median of %d alternating runs; C5 budget (model + KV + 64 MiB) %.1f MiB",
           device, threads, reps, model_mib + kv_mib + 64);
    if (same_tokens >= 0)
        printf("; first 16 greedy tokens %s", same_tokens ? "identical to llama.cpp" : "DIFFER from llama.cpp");
    printf("\n");
    rc = 0;
cleanup:
    if (rc && err.msg[0])
        fprintf(stderr, "peergraph bench infer: %s\n", err.msg);
    if (have_dir) {
        unlink(ids_path);
        unlink(script);
        rmdir(dir);
    }
    free(ids);
    pgr_model_free(m);
    return rc;
}
