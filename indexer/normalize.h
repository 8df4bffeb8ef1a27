#ifndef PEERGRAPH_NORMALIZE_H
#define PEERGRAPH_NORMALIZE_H
/* Normalisation for identity and search: the keys under which the graph
 * builder decides that two records name the same work or the same person.
 *
 * Every function appends to a caller-owned pgr_sb (the caller resets it when
 * it wants a fresh key) and returns 0, or -1 with err set when the input is
 * not valid UTF-8 (or memory ran out). Inputs are NUL-terminated UTF-8. */
#include <stddef.h>

#include "graph/util.h"

/* Unicode folding for comparison: NFKC, case folding, combining marks stripped
 * (é -> e), and the Latin letters that have no decomposition mapped to their
 * base (ø -> o, ł -> l, đ -> d, æ -> ae, œ -> oe, þ -> th, ı -> i).
 * "Ångström" -> "angstrom", "ＬＬＭ" -> "llm". */
int ix_fold(const char *s, pgr_sb *out, pgr_err *err);

/* LaTeX folded for display and search, case kept: "\textit{Large-Sparse}" ->
 * "Large-Sparse", "$\alpha$-divergence" -> "alpha-divergence", "{\"o}" -> "ö",
 * "``quotes''" -> "\"quotes\"", "\&" -> "&", "--" -> "–". Text without a
 * backslash, brace, dollar, backquote or tilde is copied unchanged. */
int ix_latex_fold(const char *s, pgr_sb *out, pgr_err *err);

/* Title key: LaTeX folded, then ix_fold, then every run of characters that
 * are neither letters nor digits becomes one space; trimmed. Two spellings of
 * a title that differ only in case, accents, punctuation, LaTeX markup or
 * spacing have the same key. */
int ix_title_key(const char *s, pgr_sb *out, pgr_err *err);

/* Person name keys. Accepts "Given Family", "Family, Given" (and
 * "Family, Given, Jr."), initials with or without dots, hyphenated given names.
 *   full:     folded "given family" with dots dropped and hyphens joined
 *             ("Run-Ze Fan" -> "runze fan", "Wu, Zhengxuan" -> "zhengxuan wu")
 *   initials: first initial + family ("z wu"), the blocking key for candidates
 *             that may be the same person; never enough on its own to merge.
 * Either output may be NULL. An empty name gives empty keys. */
int ix_name_keys(const char *raw, pgr_sb *full, pgr_sb *initials, pgr_err *err);

/* ---- arXiv taxonomy -------------------------------------------------------
 * Name of an arXiv category ("cs.CL" -> "Computation and Language", also the
 * archives themselves: "hep-th", "quant-ph", and legacy archives such as
 * "cmp-lg"), or NULL when unknown. Matching is exact (arXiv codes are
 * case-sensitive in the subject part). */
const char *ix_arxiv_category_name(const char *code);
/* Site short code ("CL", "LG", lowercase accepted) -> arXiv category
 * ("cs.CL"), or NULL when the code is not a known short code. */
const char *ix_site_code_category(const char *code);
/* Iterate the whole table: returns the i-th (code, name) or 0 past the end. */
int ix_arxiv_category_at(size_t i, const char **code, const char **name);

/* ---- keyword topics -------------------------------------------------------
 * Deterministic keyword extraction over a corpus (method in docs/keywords.md
 * and at ix_keywords_compute):
 *   1. each document's text (title counted twice, then abstract) is LaTeX
 *      folded, Unicode folded, split into word tokens (letters/digits, inner
 *      hyphens kept); sentence punctuation breaks phrases;
 *   2. candidate terms: unigrams of >= 3 characters that are not stopwords and
 *      not numbers, and bigrams of two adjacent such tokens;
 *   3. document frequency df(t) over the corpus; a term is eligible when
 *      df >= min_df and df <= max_df_ratio * N (the ratio bound applies only
 *      when N >= 20, so a tiny corpus keeps its common words);
 *   4. score(t, d) = tf(t, d) * (1 + ln((1 + N) / (1 + df(t)))), bigrams x1.5;
 *   5. each document keeps its top k terms by score, ties broken by higher
 *      df, then bytewise term order; a unigram already inside a kept bigram is
 *      skipped.
 * The result depends only on the set of documents and their ids, never on
 * insertion order. */
typedef struct ix_keywords ix_keywords;

typedef struct ix_keyword {
    const char *term;  /* folded term, e.g. "language models" */
    double score;
} ix_keyword;

ix_keywords *ix_keywords_new(void);
void ix_keywords_free(ix_keywords *kw);
/* Adds a document; doc_id orders the documents (must be unique). Copies text. */
int ix_keywords_add(ix_keywords *kw, long long doc_id, const char *title, const char *abstract,
                    pgr_err *err);
/* Computes all documents' keywords. min_df >= 1, k >= 1. */
int ix_keywords_compute(ix_keywords *kw, int min_df, double max_df_ratio, int k, pgr_err *err);
/* After compute: the keywords of the document (borrowed, valid until free).
 * Returns the count (0 when the id is unknown). */
size_t ix_keywords_of(const ix_keywords *kw, long long doc_id, const ix_keyword **out);
/* After compute: the number of documents, and the i-th in ascending id order
 * with its keywords (returns the count, *doc_id set). */
size_t ix_keywords_n_docs(const ix_keywords *kw);
size_t ix_keywords_at(const ix_keywords *kw, size_t i, long long *doc_id, const ix_keyword **out);

#endif
