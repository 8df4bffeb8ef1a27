#ifndef PEERGRAPH_TEST_SEARCH_PAGE_H
#define PEERGRAPH_TEST_SEARCH_PAGE_H
/* Test support for the top-k search tests: one works search page written
 * as a string, so that two ways of answering it compare with strcmp. */
#include "graph/graph.h"

/* "id:score id:score ... |next_cursor|count" (scores to the last bit), or
 * NULL with the error on stderr. malloc'd. */
char *search_page(pgr_store *s, const char *search, int per_page, int page, const char *cursor,
                  const pgr_filter *f, size_t nf);

#endif
