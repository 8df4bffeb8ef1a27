#ifndef PEERGRAPH_FTS_QUERY_H
#define PEERGRAPH_FTS_QUERY_H
/* The full-text query language of the store (pgr_query.search) and of the
 * JSON API's search= / q=, parsed by a strict grammar and translated into each
 * backend's syntax, so that user input never reaches FTS5 MATCH or
 * to_tsquery() unquoted (a syntax error there would be a 500; here it is
 * PGR_EINVAL naming the parameter and the offset, which the server answers
 * 400). Both backends get the same terms, so they match the same rows.
 *
 *   query   := or
 *   or      := and ( "OR" and )*
 *   and     := unary ( [ "AND" ] unary )*          adjacency means AND
 *   unary   := ( "NOT" | "-" ) primary | primary     ("-" only right before a word)
 *   primary := "(" or ")" | '"' words '"' | word [ "*" ]
 *
 * Words are runs of letters and digits (any non-ASCII byte counts as a letter;
 * the caller has checked UTF-8). Punctuation inside a word ("GPT-4",
 * "state-of-the-art") makes it a phrase of its parts, which is what both
 * tokenizers do with it. AND, OR, NOT are operators only in upper case, as in
 * OpenAlex. A NOT needs a positive term in the same AND group ("a NOT b"),
 * because FTS5 has no unary NOT. Limits: 1000 bytes, 32 words, depth 8.
 *
 * Output, both malloc'd, NUL-terminated:
 *   fts5   an FTS5 MATCH expression: every word double-quoted ("gpt" "4" is a
 *          phrase, "lear"* a prefix), operators AND OR NOT and parentheses.
 *   tsq    a to_tsquery() input: 'word', 'pre':*, 'a' <-> 'b', & | ! ( ).
 * Words are lower-cased (ASCII) so both backends see the same terms.
 *
 * prefix_last: the last word of the query is a prefix (autocomplete). */

#include "graph/util.h"

typedef struct pgr_fts_query {
    char *fts5;
    char *tsq;
    int n_words; /* positive and negative words, after splitting */
} pgr_fts_query;

/* Returns 0, or -1 with err (PGR_EINVAL) naming param and the offset. */
int pgr_fts_parse(const char *param, const char *text, int prefix_last, pgr_fts_query *out,
                  pgr_err *err);
/* The same with every word first passed through fold (e.g. the store's
 * pgr_fold: case, diacritics, punctuation), so that query words are folded
 * exactly as the indexed text was; a word may fold into several (a phrase)
 * or into none (dropped). fold appends to out; NULL = ASCII lower-casing only. */
typedef void (*pgr_fts_fold)(const char *in, pgr_sb *out);
int pgr_fts_parse_fold(const char *param, const char *text, int prefix_last, pgr_fts_fold fold,
                       pgr_fts_query *out, pgr_err *err);
void pgr_fts_free(pgr_fts_query *q);

#endif
