/* Synthetic graph generator (see api_gen.h). */
#include "server/api_gen.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t next_u64(uint64_t *st)
{
    uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *st) /* [0, 1) */
{
    return (double)(next_u64(st) >> 11) / 9007199254740992.0;
}

static long next_below(uint64_t *st, long n)
{
    return (long)(next_unit(st) * (double)n);
}

static const char *const vocab[] = {
    "graph",         "neural",       "network",       "language",
    "model",         "learning",     "transformer",   "attention",
    "adapter",       "retrieval",    "citation",      "scholarly",
    "embedding",     "inference",    "efficient",     "sparse",
    "dense",         "prefix",       "tuning",        "fine",
    "parameter",     "low",          "rank",          "representation",
    "intervention",  "benchmark",    "dataset",       "evaluation",
    "reasoning",     "generation",   "summary",       "recommendation",
    "author",        "paper",        "topic",         "clustering",
    "contrastive",   "diffusion",    "vision",        "speech",
    "robust",        "scalable",     "distributed",   "federated",
    "privacy",       "quantized",    "kernel",        "gpu",
    "cache",         "memory",       "latency",       "throughput",
    "batching",      "serving",      "decoding",      "sampling",
    "alignment",     "preference",   "reward",        "policy",
    "reinforcement", "agent",        "planning",      "search",
    "ranking",       "query",        "index",         "knowledge",
    "entity",        "relation",     "extraction",    "translation",
    "multilingual",  "corpus",       "token",         "tokenizer",
    "vocabulary",    "pretraining",  "scaling",       "law",
    "optimizer",     "gradient",     "descent",       "stochastic",
    "bayesian",      "causal",       "probabilistic", "variational",
    "autoencoder",   "generative",   "adversarial",   "molecular",
    "protein",       "physics",      "climate",       "medical",
    "clinical",      "legal",        "code",          "program",
    "synthesis",     "verification", "theorem",       "proof",
    "mathematical",  "symbolic",     "hybrid",        "survey",
};
#define N_VOCAB (sizeof vocab / sizeof vocab[0])

static const char *const first_names[] = {
    "Alice",   "Bruno",  "Chen",  "Dana",   "Emil",   "Fatima", "Gita",  "Hugo",  "Ines",
    "Jun",     "Karin",  "Lars",  "Maya",   "Nikhil", "Olga",   "Pedro", "Qing",  "Rosa",
    "Sven",    "Tariq",  "Uma",   "Viktor", "Wen",    "Xavier", "Yara",  "Zheng", "Amir",
    "Beatriz", "Carlos", "Daria", "Elif",   "Farid",  "Greta",  "Hana",  "Ivan",  "Julia",
};
static const char *const last_names[] = {
    "Smith", "Garcia",  "Wang",    "Muller", "Rossi",   "Kim",      "Nguyen", "Kowalski",
    "Silva", "Ivanova", "Tanaka",  "Okafor", "Haddad",  "Larsen",   "Novak",  "Dubois",
    "Costa", "Yilmaz",  "Sato",    "Chen",   "Patel",   "Singh",    "Moreau", "Fischer",
    "Lopez", "Berg",    "Horvath", "Mendes", "Popescu", "Andersen", "Zhou",   "Wu",
};
static const char *const topic_codes[][2] = {
    {"cs.CL", "Computation and Language"},
    {"cs.LG", "Machine Learning"},
    {"cs.AI", "Artificial Intelligence"},
    {"cs.CV", "Computer Vision"},
    {"cs.IR", "Information Retrieval"},
    {"cs.DC", "Distributed Computing"},
    {"cs.DL", "Digital Libraries"},
    {"cs.PL", "Programming Languages"},
    {"cs.LO", "Logic in Computer Science"},
    {"cs.CR", "Cryptography and Security"},
    {"stat.ML", "Machine Learning (Statistics)"},
    {"q-bio.BM", "Biomolecules"},
    {"physics.comp-ph", "Computational Physics"},
    {"math.OC", "Optimization and Control"},
    {"eess.AS", "Audio and Speech Processing"},
    {"cs.RO", "Robotics"},
};
#define N_TOPICS (sizeof topic_codes / sizeof topic_codes[0])
static const char *const venues[] = {
    "NeurIPS",
    "ICML",
    "ICLR",
    "ACL",
    "EMNLP",
    "NAACL",
    "CVPR",
    "SIGIR",
    "KDD",
    "AAAI",
    "JMLR",
    "TACL",
    "Nature Machine Intelligence",
    "arXiv",
};
#define N_VENUES (sizeof venues / sizeof venues[0])
static const char *const institutions[] = {
    "Stanford University",
    "ETH Zurich",
    "University of Tokyo",
    "MIT",
    "Tsinghua University",
    "University of Oxford",
    "Max Planck Institute for Informatics",
    "University of Toronto",
    "EPFL",
    "KAIST",
    "University of Cambridge",
    "Inria",
};
#define N_INST (sizeof institutions / sizeof institutions[0])
static const char *const types[] = {"article", "preprint", "proceedings-article"};

static void words(uint64_t *st, pgr_sb *sb, int n, int capitalise)
{
    for (int i = 0; i < n; i++) {
        const char *w = vocab[next_below(st, (long)N_VOCAB)];
        if (i)
            pgr_sb_putc(sb, ' ');
        if (capitalise && i == 0) {
            pgr_sb_putc(sb, (char)(w[0] - 'a' + 'A'));
            pgr_sb_puts(sb, w + 1);
        } else {
            pgr_sb_puts(sb, w);
        }
    }
}

static void lower_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

int api_gen_graph(pgr_store *s, const api_gen_opts *o, pgr_err *err)
{
    int rc = -1, in_tx = 0;
    uint64_t st = o->seed ? o->seed : 1, t_start = pgr_now_us();
    pgr_id topic_ids[N_TOPICS], inst_ids[N_INST];
    pgr_sb title = {0}, abstract = {0}, name = {0}, norm = {0};
    if (o->works <= 0 || o->authors <= 0 || o->works > 100000000 || o->authors > 100000000)
        return pgr_errf(err, PGR_EINVAL, "bench gen: --works and --authors must be 1..1e8");
    /* one transaction: the bulk rows, then the full text at commit */
    if (pgr_begin(s, err) < 0)
        goto cleanup;
    in_tx = 1;
    for (size_t i = 0; i < N_TOPICS; i++)
        if (pgr_topic_upsert(s, "arxiv", topic_codes[i][0], topic_codes[i][1], &topic_ids[i], err) <
            0)
            goto cleanup;
    for (size_t i = 0; i < N_INST; i++) {
        pgr_sb_reset(&norm);
        pgr_sb_puts(&norm, institutions[i]);
        if (!pgr_sb_ok(&norm))
            goto oom;
        lower_ascii(norm.data);
        if (pgr_institution_upsert(s, institutions[i], norm.data, NULL, NULL, &inst_ids[i], err) <
            0)
            goto cleanup;
    }
    /* authors are A1..An and works W1..Wn, in the order drawn */
    for (long i = 0; i < o->authors; i++) {
        pgr_sb_reset(&name);
        const char *fn =
            first_names[next_below(&st, (long)(sizeof first_names / sizeof first_names[0]))];
        const char *ln =
            last_names[next_below(&st, (long)(sizeof last_names / sizeof last_names[0]))];
        /* a middle initial keeps most names distinct without making them odd */
        pgr_sb_printf(&name, "%s %c. %s", fn, (char)('A' + next_below(&st, 26)), ln);
        pgr_sb_reset(&norm);
        pgr_sb_puts(&norm, name.data);
        if (!pgr_sb_ok(&name) || !pgr_sb_ok(&norm))
            goto oom;
        lower_ascii(norm.data);
        if (pgr_bulk_author(s, i + 1, name.data, norm.data, err) < 0)
            goto cleanup;
        if (next_below(&st, 3) > 0 &&
            pgr_bulk_author_institution(s, i + 1, inst_ids[next_below(&st, (long)N_INST)], err) <
                0)
            goto cleanup;
    }
    for (long i = 0; i < o->works; i++) {
        pgr_sb_reset(&title);
        pgr_sb_reset(&abstract);
        words(&st, &title, 4 + (int)next_below(&st, 7), 1);
        words(&st, &abstract, 30 + (int)next_below(&st, 31), 1);
        pgr_sb_putc(&abstract, '.');
        pgr_sb_reset(&norm);
        pgr_sb_puts(&norm, title.data);
        if (!pgr_sb_ok(&title) || !pgr_sb_ok(&abstract) || !pgr_sb_ok(&norm))
            goto oom;
        lower_ascii(norm.data);
        int year = 2015 + (int)next_below(&st, 11);
        int month = 1 + (int)next_below(&st, 12), day = 1 + (int)next_below(&st, 28);
        char date[48], arxiv[64], doi[48];
        snprintf(date, sizeof date, "%04d-%02d-%02d", year, month, day);
        /* unique per work: the sequence number in the month field's place */
        snprintf(arxiv, sizeof arxiv, "%02d%02d.%05ld", year % 100, month, i % 100000);
        if (i >= 100000) /* beyond 100k works per month-year, add a disambiguating digit */
            snprintf(arxiv, sizeof arxiv, "%02d%02d.%ld", year % 100, month, i);
        snprintf(doi, sizeof doi, "10.5555/pg.%ld", i + 1);
        /* heavy tail: most works a few citations, a few many */
        long cites = (long)floor(pow(next_unit(&st), 3.0) * 2000.0);
        pgr_work_rec w = {
            .arxiv_id = arxiv,
            .doi = i % 2 == 0 ? doi : NULL, /* W1, W3, ...: docs/api.md relies on it */
            .title = title.data,
            .norm_title = norm.data,
            .year = year,
            .date = date,
            .type = types[next_below(&st, 3)],
            .venue = venues[next_below(&st, (long)N_VENUES)],
            .abstract = abstract.data,
            .cited_by_count = cites,
            .has_code = next_below(&st, 3) == 0,
            .score = NAN,
        };
        pgr_id wid = i + 1;
        if (pgr_bulk_work(s, wid, &w, err) < 0)
            goto cleanup;
        int n_auth = 1 + (int)next_below(&st, 6);
        long used[6];
        int n_used = 0;
        for (int k = 0; k < n_auth; k++) {
            /* u^2 skews towards low indices: prolific authors exist */
            double u = next_unit(&st);
            long ai = (long)(u * u * (double)o->authors);
            int dup = 0;
            for (int m = 0; m < n_used; m++)
                dup |= used[m] == ai;
            if (dup)
                continue;
            used[n_used++] = ai;
            if (pgr_bulk_authorship(s, wid, ai + 1, n_used, err) < 0)
                goto cleanup;
        }
        int n_top = 1 + (int)next_below(&st, 3);
        size_t t0 = (size_t)next_below(&st, (long)N_TOPICS);
        for (int k = 0; k < n_top; k++)
            if (pgr_bulk_work_topic(s, wid, topic_ids[(t0 + (size_t)k * 5) % N_TOPICS],
                                    1.0 / (k + 1), err) < 0)
                goto cleanup;
        int n_refs = i ? (int)next_below(&st, 6) : 0;
        for (int k = 0; k < n_refs; k++) {
            long r = next_below(&st, i);
            char ref[48];
            snprintf(ref, sizeof ref, "doi:10.5555/pg.%ld", r + 1);
            if (pgr_bulk_citation(s, wid, ref, r + 1, err) < 0)
                goto cleanup;
        }
        if (o->progress && (i + 1) % 100000 == 0)
            fprintf(stderr, "bench gen: %ld/%ld works (%.1f s)\n", i + 1, o->works,
                    (double)(pgr_now_us() - t_start) / 1e6);
    }
    if (o->progress)
        fprintf(stderr, "bench gen: full text (%.1f s)\n",
                (double)(pgr_now_us() - t_start) / 1e6);
    if (pgr_bulk_finish(s, err) < 0 || pgr_commit(s, err) < 0)
        goto cleanup;
    in_tx = 0;
    if (o->progress)
        fprintf(stderr, "bench gen: recomputing metrics (%.1f s)\n",
                (double)(pgr_now_us() - t_start) / 1e6);
    if (pgr_metrics_recompute(s, NULL, 0, err) < 0)
        goto cleanup;
    if (o->progress)
        fprintf(stderr, "bench gen: search index (%.1f s)\n",
                (double)(pgr_now_us() - t_start) / 1e6);
    if (pgr_search_index_build(s, err) < 0)
        goto cleanup;
    rc = 0;
    goto cleanup;
oom:
    pgr_errf(err, PGR_ENOMEM, "bench gen: out of memory");
cleanup:
    if (in_tx)
        pgr_rollback(s, NULL);
    pgr_sb_free(&title);
    pgr_sb_free(&abstract);
    pgr_sb_free(&name);
    pgr_sb_free(&norm);
    return rc;
}

static long parse_count(const char *opt, const char *v, int *ok)
{
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x <= 0) {
        fprintf(stderr, "peergraph bench gen: %s: '%s' is not a positive number\n", opt, v);
        *ok = 0;
    }
    return x;
}

int api_gen_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"works", required_argument, NULL, 'w'},
        {"authors", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 's'},
        {"quiet", no_argument, NULL, 'q'},
        {"search-index", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = PGR_DEFAULT_DB;
    api_gen_opts o = {.works = 1000, .authors = 400, .seed = 1, .progress = 1};
    int ok = 1, c, index_only = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'w':
            o.works = parse_count("--works", optarg, &ok);
            break;
        case 'a':
            o.authors = parse_count("--authors", optarg, &ok);
            break;
        case 's':
            o.seed = (uint64_t)parse_count("--seed", optarg, &ok);
            break;
        case 'q':
            o.progress = 0;
            break;
        case 'i':
            index_only = 1;
            break;
        case 'h':
            printf("usage: peergraph bench gen [--db URL] [--works N] [--authors M] [--seed S] "
                   "[--quiet]\n"
                   "       peergraph bench gen [--db URL] --search-index\n"
                   "Writes a synthetic graph (deterministic for a seed) into the database:\n"
                   "the data of the HTTP benchmarks and of the API tests. Defaults: %s,\n"
                   "1000 works, 400 authors, seed 1. --search-index only (re)builds the\n"
                   "top-k search index of the graph already there (SQLite).\n",
                   PGR_DEFAULT_DB);
            return 0;
        default:
            return 2;
        }
    }
    if (!ok || optind < argc) {
        if (optind < argc)
            fprintf(stderr, "peergraph bench gen: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    pgr_store *s = NULL;
    pgr_err err = {0};
    if (pgr_store_open(db, &s, &err) < 0) {
        fprintf(stderr, "peergraph bench gen: %s\n", err.msg);
        return 2;
    }
    uint64_t t0 = pgr_now_us();
    int rc = index_only ? pgr_search_index_build(s, &err) : api_gen_graph(s, &o, &err);
    pgr_store_close(s);
    if (rc < 0) {
        fprintf(stderr, "peergraph bench gen: %s\n", err.msg);
        return 1;
    }
    if (o.progress && index_only)
        fprintf(stderr, "bench gen: search index in %.1f s\n", (double)(pgr_now_us() - t0) / 1e6);
    else if (o.progress)
        fprintf(stderr, "bench gen: %ld works, %ld authors in %.1f s\n", o.works, o.authors,
                (double)(pgr_now_us() - t0) / 1e6);
    return 0;
}
