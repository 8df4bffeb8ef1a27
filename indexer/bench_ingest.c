/* `peergraph bench ingest`: I1-I3 of BENCHMARKS.md.
 *   I1  N generated arXiv-snapshot lines into a fresh SQLite graph (FTS included)
 *   I2  the same into a fresh PostgreSQL database (server from --pg URL)
 *   I3  re-ingest of the unchanged input: must notice (sha256), not rewrite
 * Each figure is the median of --reps runs; one JSON line per result on
 * stdout, then a table. */
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "indexer/gen_arxiv.h"
#include "indexer/ingest.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* URL of database `name` on the server of `base` (the path replaced). */
static void pg_url_with_db(const char *base, const char *name, char *out, size_t n)
{
    const char *scheme = strstr(base, "://");
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    size_t head = slash ? (size_t)(slash - base) : strlen(base);
    const char *q = slash ? strchr(slash, '?') : NULL;
    snprintf(out, n, "%.*s/%s%s", (int)head, base, name, q ? q : "");
}

static int pg_exec(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "peergraph bench ingest: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    } else {
        fprintf(stderr, "peergraph bench ingest: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

static void remove_sqlite(const char *path)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal", ".lock"};
    char p[1100];
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
}

typedef struct result {
    const char *id, *what;
    double rate, target, secs;
} result;

/* Peak resident set of this process so far, in MiB (the ingest runs in
 * process; the PostgreSQL server's memory is not counted). */
static double peak_rss_mib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : -1;
}

static void report(const result *r, long n, int reps, const char *backend)
{
    printf("{\"bench\":\"%s\",\"what\":\"%s\",\"backend\":\"%s\",\"records\":%ld,\"reps\":%d,"
           "\"median_s\":%.4f,\"records_per_s\":%.0f,\"target\":%.0f,\"meets\":%s,"
           "\"peak_rss_mib\":%.1f}\n",
           r->id, r->what, backend, n, reps, r->secs, r->rate, r->target,
           r->rate >= r->target ? "true" : "false", peak_rss_mib());
    fflush(stdout);
}

/* One ingest of path into url; returns seconds or -1. */
static double one_run(const char *url, const char *path, long expect_records, int expect_unchanged)
{
    ix_ingest_opts o = {.db = url, .as_of = "2026-11-22", .quiet = 1, .no_summary = 1,
                        .args = "bench ingest"};
    char *paths[] = {(char *)path};
    ix_stats st;
    double secs = 0;
    int rc = ix_ingest_paths(&o, paths, 1, &st, &secs);
    if (rc != 0) {
        fprintf(stderr, "peergraph bench ingest: ingest into %s failed (exit %d)\n", url, rc);
        return -1;
    }
    if (expect_unchanged ? st.files_unchanged != 1 : st.records != expect_records) {
        fprintf(stderr,
                "peergraph bench ingest: expected %s, got %ld records, %ld unchanged files\n",
                expect_unchanged ? "an unchanged file" : "every record ingested", st.records,
                st.files_unchanged);
        return -1;
    }
    return secs;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peergraph bench ingest [--records N] [--reps R] [--pg URL] [--tmp DIR]\n"
            "                              [--names arxiv|small]\n"
            "\n"
            "  --records N   generated arXiv-snapshot lines (default 200000)\n"
            "  --reps R      repetitions; the median is reported (default 5)\n"
            "  --pg URL      PostgreSQL server for I2 (a database is created and dropped per\n"
            "                repetition); also taken from --db when it is postgres://...\n"
            "                Without it I2 is skipped.\n"
            "  --tmp DIR     where the corpus and SQLite files go (default $TMPDIR or /tmp)\n"
            "  --seed S      generator seed (default 1)\n"
            "  --only B      run only backend B: sqlite or postgres (peak RSS per backend)\n"
            "  --names M     authors: arxiv (default: Lotka-law productivity, teams, ~218k\n"
            "                names in 200k records) or small (1,900 names drawn uniformly: the identity\n"
            "                stress case, every name shared by hundreds of records)\n"
            "  --corpus FILE only write the generated corpus (N lines) to FILE and exit, for\n"
            "                timing `peergraph ingest` on it by hand (docs/benchmarks.md)\n"
            "\n"
            "Prints one JSON line per result (I1 SQLite, I2 PostgreSQL, I3 re-ingest per\n"
            "backend), then a table. Exit 0 when it ran (whether targets are met or not).\n");
}

int ix_bench_ingest_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"records", required_argument, NULL, 'n'}, {"reps", required_argument, NULL, 'r'},
        {"pg", required_argument, NULL, 'p'},      {"db", required_argument, NULL, 'd'},
        {"tmp", required_argument, NULL, 't'},     {"seed", required_argument, NULL, 's'},
        {"corpus", required_argument, NULL, 'c'},  {"only", required_argument, NULL, 'o'},
        {"names", required_argument, NULL, 'm'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long n = 200000;
    int reps = 5;
    unsigned long long seed = 1;
    ix_gen_names names = IX_GEN_NAMES_ARXIV;
    const char *pg = NULL, *corpus_only = NULL, *only = NULL;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': n = atol(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 'p': pg = optarg; break;
        case 'd':
            if (!strncmp(optarg, "postgres", 8))
                pg = optarg;
            break;
        case 't': tmp = optarg; break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'c': corpus_only = optarg; break;
        case 'o': only = optarg; break;
        case 'm':
            if (ix_gen_names_parse(optarg, &names) < 0) {
                fprintf(stderr, "peergraph bench ingest: --names arxiv|small\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "peergraph bench ingest: bad option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (only && strcmp(only, "sqlite") && strcmp(only, "postgres")) {
        fprintf(stderr, "peergraph bench ingest: --only sqlite|postgres\n");
        return 2;
    }
    if (n < 1 || n > 100000000 || reps < 1 || reps > 100) {
        fprintf(stderr, "peergraph bench ingest: --records 1..1e8, --reps 1..100\n");
        return 2;
    }
    if (corpus_only) {
        FILE *cf = fopen(corpus_only, "w");
        if (!cf) {
            fprintf(stderr, "peergraph bench ingest: %s: %s\n", corpus_only, strerror(errno));
            return 1;
        }
        pgr_err cerr = {0};
        int g = ix_gen_arxiv_file(cf, seed, 0, (size_t)n, names, &cerr);
        if (fclose(cf) != 0 || g < 0) {
            fprintf(stderr, "peergraph bench ingest: writing %s: %s\n", corpus_only, cerr.msg);
            return 1;
        }
        return 0;
    }
    int rc = 1;
    char corpus[1024], dbpath[1100], url[1200];
    snprintf(corpus, sizeof corpus, "%s/peergraph_bench_ingest_%d.jsonl", tmp, (int)getpid());
    snprintf(dbpath, sizeof dbpath, "%s/peergraph_bench_ingest_%d.db", tmp, (int)getpid());
    double *t1 = calloc((size_t)reps, sizeof *t1), *t3 = calloc((size_t)reps, sizeof *t3);
    double *t2 = calloc((size_t)reps, sizeof *t2), *t4 = calloc((size_t)reps, sizeof *t4);
    result res[4];
    int n_res = 0;
    if (!t1 || !t2 || !t3 || !t4)
        goto cleanup;

    FILE *f = fopen(corpus, "w");
    if (!f) {
        fprintf(stderr, "peergraph bench ingest: %s: %s\n", corpus, strerror(errno));
        goto cleanup;
    }
    pgr_err err = {0};
    int gen = ix_gen_arxiv_file(f, seed, 0, (size_t)n, names, &err);
    if (fclose(f) != 0 || gen < 0) {
        fprintf(stderr, "peergraph bench ingest: writing %s: %s\n", corpus, err.msg);
        goto cleanup;
    }

    for (int r = 0; (!only || !strcmp(only, "sqlite")) && r < reps; r++) {
        /* I1 then I3 on the same database */
        remove_sqlite(dbpath);
        snprintf(url, sizeof url, "sqlite:%s", dbpath);
        if ((t1[r] = one_run(url, corpus, n, 0)) < 0 || (t3[r] = one_run(url, corpus, n, 1)) < 0)
            goto cleanup;
        fprintf(stderr, "  rep %d: I1 %.2f s, I3 %.4f s\n", r + 1, t1[r], t3[r]);
    }
    if (!only || !strcmp(only, "sqlite")) {
        double m1 = median(t1, reps), m3 = median(t3, reps);
        res[n_res] = (result){"I1", "ingest into a fresh SQLite graph (FTS included)", n / m1,
                              20000, m1};
        report(&res[n_res++], n, reps, "sqlite");
        res[n_res] = (result){"I3", "re-ingest unchanged input (SQLite)", n / m3, 100000, m3};
        report(&res[n_res++], n, reps, "sqlite");
    }

    if (pg && (!only || !strcmp(only, "postgres"))) {
        for (int r = 0; r < reps; r++) {
            char name[64], sql[128];
            snprintf(name, sizeof name, "peergraph_bench_%d_%d", (int)getpid(), r);
            snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
            if (pg_exec(pg, sql) < 0)
                goto cleanup;
            pg_url_with_db(pg, name, url, sizeof url);
            t2[r] = one_run(url, corpus, n, 0);
            t4[r] = t2[r] < 0 ? -1 : one_run(url, corpus, n, 1);
            snprintf(sql, sizeof sql, "DROP DATABASE %s", name);
            pg_exec(pg, sql);
            if (t2[r] < 0 || t4[r] < 0)
                goto cleanup;
            fprintf(stderr, "  rep %d: I2 %.2f s, I3(pg) %.4f s\n", r + 1, t2[r], t4[r]);
        }
        double m2 = median(t2, reps), m4 = median(t4, reps);
        res[n_res] = (result){"I2", "ingest into a fresh PostgreSQL graph", n / m2, 10000, m2};
        report(&res[n_res++], n, reps, "postgres");
        res[n_res] = (result){"I3", "re-ingest unchanged input (PostgreSQL)", n / m4, 100000, m4};
        report(&res[n_res++], n, reps, "postgres");
    } else if (!only || !strcmp(only, "postgres")) {
        fprintf(stderr, "  I2 skipped: no PostgreSQL URL (--pg URL)\n");
    }
    printf("\n%-4s %-48s %12s %10s %8s   (peak RSS %.0f MiB)\n", "id", "what", "records/s",
           "target", "status", peak_rss_mib());
    for (int i = 0; i < n_res; i++)
        printf("%-4s %-48s %12.0f %10.0f %8s\n", res[i].id, res[i].what, res[i].rate,
               res[i].target, res[i].rate >= res[i].target ? "ok" : "MISS");
    rc = 0;
cleanup:
    unlink(corpus);
    remove_sqlite(dbpath);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    return rc;
}
