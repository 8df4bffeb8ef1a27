#ifndef PEERGRAPH_GEN_ARXIV_H
#define PEERGRAPH_GEN_ARXIV_H
/* Synthetic arXiv-snapshot JSON lines for the ingest benchmarks (I1-I3 of
 * BENCHMARKS.md). Field lengths follow the real snapshot: titles ~10 words
 * (4-20), 1-15 authors (most papers 2-5) drawn from a finite name pool so
 * authors recur across papers, abstracts 100-250 words (~1.1 KB; function
 * words mixed in as in real text) with some inline LaTeX,
 * 1-4 categories, 1-5 versions, comments / journal-ref / DOI on a share of
 * records. Output depends only on (seed, first, n): the same call always
 * writes the same bytes, and ids are unique across any split of [first, first+n). */
#include <stdint.h>
#include <stdio.h>

#include "graph/util.h"

/* Appends records first..first+n-1 (one line each, '\n'-terminated) to sb.
 * Returns 0, or -1 when sb ran out of memory. */
int ix_gen_arxiv_sb(pgr_sb *sb, uint64_t seed, size_t first, size_t n);

/* Writes the same lines to f. Returns 0, or -1 with err on a write error. */
int ix_gen_arxiv_file(FILE *f, uint64_t seed, size_t first, size_t n, pgr_err *err);

#endif
