/* `peergraph bench NAME ...`: the benchmarks of docs/benchmarks.md, one table
 * entry per benchmark; each module adds its own line. `bench all` runs every
 * entry marked for it with its defaults. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "indexer/ingest.h"
#include "inference/adapt_train.h"
#include "inference/bench_gpu.h"
#include "inference/bench_infer.h"
#include "inference/bench_serve.h"
#include "server/api_gen.h"
#include "server/api_recs.h"

struct bench {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] = name */
    int in_all;                        /* part of `bench all` */
    const char *summary;
};

static const struct bench benches[] = {
    {"ingest", ix_bench_ingest_main, 1, "I1-I3: arXiv snapshot lines into SQLite / PostgreSQL, re-ingest"},
    {"infer", infer_bench_main, 1, "C1, C2, C5: CPU decode, prefill and memory against llama.cpp"},
    {"adapt", adapt_bench_main, 1, "adapter training: seconds per step, tokens/s (CPU)"},
    {"serve", serve_bench_main, 1, "C3-C5: serving with per-request LoRA/ReFT adapters, PreFT vs all-token"},
    {"gpu", gpu_bench_main, 0, "G1, G2: CUDA decode vs copy bandwidth, batch 1..256 (needs a GPU)"},
    {"gen", api_gen_main, 0, "write the synthetic graph of the HTTP benchmarks into --db"},
    {"http", api_bench_http_main, 0, "H1, H2: JSON API vs nginx, and search, under wrk"},
    {"recommend", bench_recommend_main, 0, "recall@10 of recommendations vs a TF-IDF baseline"},
};
#define N_BENCHES (sizeof benches / sizeof benches[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: peergraph bench NAME [OPTIONS]   (peergraph bench NAME --help)\n\n");
    for (size_t i = 0; i < N_BENCHES; i++)
        fprintf(out, "  %-8s %s\n", benches[i].name, benches[i].summary);
    fprintf(out, "  %-8s every benchmark marked for it, with its defaults\n", "all");
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "all")) {
        int worst = 0;
        for (size_t i = 0; i < N_BENCHES; i++) {
            if (!benches[i].in_all)
                continue;
            char *args[] = {(char *)benches[i].name, NULL};
            int rc = benches[i].run(1, args);
            worst = rc > worst ? rc : worst;
        }
        return worst;
    }
    for (size_t i = 0; i < N_BENCHES; i++)
        if (!strcmp(argv[1], benches[i].name))
            return benches[i].run(argc - 1, argv + 1);
    fprintf(stderr, "peergraph bench: unknown benchmark '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
