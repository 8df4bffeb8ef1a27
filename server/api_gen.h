#ifndef PEERGRAPH_API_GEN_H
#define PEERGRAPH_API_GEN_H
/* A synthetic graph written through the store's bulk loader (graph.h): the data of the
 * HTTP benchmarks (BENCHMARKS.md H1-H3: 1M works, 300k authors) and of the
 * API tests before real profile pages are ingested. Deterministic for a seed:
 * the same options give the same graph on SQLite and PostgreSQL, so the two
 * backends can be compared answer for answer.
 *
 * Shape: works from 2015 to 2025 with English-like titles and abstracts drawn
 * from a fixed vocabulary, 1-6 authors each (skewed, so some authors have
 * many works), 1-3 arXiv-scheme topics, a venue, a DOI for every other one
 * (the 1st, 3rd, ...: 10.5555/pg.1, 10.5555/pg.3, ...; docs/api.md uses pg.1),
 * code for about a third, heavy-tailed citation counts, and citations to
 * earlier works. Authors have institutions. Metrics are recomputed at the end. */
#include "graph/graph.h"

typedef struct api_gen_opts {
    long works;   /* > 0 */
    long authors; /* > 0 */
    uint64_t seed;
    int progress; /* print progress lines to stderr */
} api_gen_opts;

int api_gen_graph(pgr_store *s, const api_gen_opts *o, pgr_err *err);

/* `peergraph bench gen --db URL --works N --authors M [--seed S]` */
int api_gen_main(int argc, char **argv);

/* `peergraph bench http`: H1 and H2 of BENCHMARKS.md (server/api_bench.c). */
int api_bench_http_main(int argc, char **argv);

#endif
