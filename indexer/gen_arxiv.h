#ifndef PEERGRAPH_GEN_ARXIV_H
#define PEERGRAPH_GEN_ARXIV_H
/* Synthetic arXiv-snapshot JSON lines for the ingest benchmarks (I1-I3 of
 * BENCHMARKS.md). Field lengths follow the real snapshot: titles ~10 words
 * (4-20), 1-15 authors (most papers 2-5; who they are and how their names
 * recur: ix_gen_names, gen_arxiv.c), abstracts 100-250 words (~1.1 KB; function
 * words mixed in as in real text) with some inline LaTeX,
 * 1-4 categories, 1-5 versions, comments / journal-ref / DOI on a share of
 * records. Output depends only on (seed, first, n): the same call always
 * writes the same bytes, and ids are unique across any split of [first, first+n). */
#include <stdint.h>
#include <stdio.h>

#include "graph/util.h"

/* How authors and their names are drawn (details in gen_arxiv.c). */
typedef enum ix_gen_names {
    IX_GEN_NAMES_ARXIV = 0, /* people with Lotka-law productivity, in teams (~493k people) */
    IX_GEN_NAMES_SMALL,     /* 1,900 names drawn uniformly: the identity stress case */
} ix_gen_names;

/* "arxiv" or "small" -> *out; -1 for anything else. */
int ix_gen_names_parse(const char *s, ix_gen_names *out);

/* Appends records first..first+n-1 (one line each, '\n'-terminated) to sb.
 * Returns 0, or -1 when sb ran out of memory. */
int ix_gen_arxiv_sb(pgr_sb *sb, uint64_t seed, size_t first, size_t n, ix_gen_names names);

/* Writes the same lines to f. Returns 0, or -1 with err on a write error. */
int ix_gen_arxiv_file(FILE *f, uint64_t seed, size_t first, size_t n, ix_gen_names names,
                      pgr_err *err);

#endif
