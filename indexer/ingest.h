#ifndef PEERGRAPH_INGEST_H
#define PEERGRAPH_INGEST_H
/* An ingest run over files and directories (what `peergraph ingest` does),
 * callable from the benchmarks. */
#include <stddef.h>

#include "indexer/builder.h"

typedef struct ix_ingest_opts {
    const char *db;      /* store URL */
    const char *format;  /* NULL: detect */
    const char *owner;   /* --owner, or NULL */
    const char *as_of;   /* "YYYY-MM-DD", or NULL: each file's mtime */
    const char *args;    /* recorded with the run, or NULL */
    int wait;            /* wait for the run lock */
    int quiet;           /* no progress bar */
    int no_summary;      /* do not print the summary line */
    int no_keywords;     /* skip the corpus-wide keyword topics step */
    int bulk;            /* IX_BULK_* (builder.h): 0 = auto */
    int search_index;    /* PGR_SEARCH_AUTO ... (graph.h): the top-k index after the files */
    pgr_search_update *search_out; /* what that step did, or NULL */
} ix_ingest_opts;

/* Runs one ingest; returns the exit code (0, 1, 2) and fills *stats and
 * *seconds (either may be NULL). Prints errors and the summary line. */
int ix_ingest_paths(const ix_ingest_opts *o, char *const *paths, size_t n_paths,
                    ix_stats *stats, double *seconds);

/* `peergraph bench ingest` (I1-I3 of BENCHMARKS.md); argv[0] = "ingest". */
int ix_bench_ingest_main(int argc, char **argv);

#endif
