#ifndef PEERGRAPH_TRAIN_DATA_H
#define PEERGRAPH_TRAIN_DATA_H
/* Training data for one researcher's adapter, from the graph (issue 9).
 *
 * Every work of the author with an abstract gives two sequences:
 *   (a) language modelling on the abstract after a short prompt:
 *       prompt "A paper by <name>.\n"  continuation "<title>\n<abstract>"
 *   (b) an instruction pair in the model's chat template:
 *       user "What would <name> say about \"<title>\"?"  assistant "<abstract><|im_end|>"
 * Sequences longer than max_tok keep their prompt and lose the end of the
 * continuation. Works are split into training and held-out sets by work, not
 * by sequence: the works are ordered by sha256 of their id and the first
 * ceil(n / 5) are held out (none when the author has one usable work), so the
 * split never changes with insertion order or with works added later only
 * when their hash sorts first.
 *
 * data_sha256 identifies the data: the author's name and each usable work's
 * id, title and abstract in id order. An adapter records it; `peergraph adapt
 * --changed` retrains authors whose current data_sha256 differs. */
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "graph/util.h"
#include "inference/tokenizer.h"
#include "inference/train.h"

typedef struct pgr_train_corpus {
    char *author_key;  /* "A12" */
    char *author_name; /* display name */
    size_t n_works;    /* usable works (with an abstract) */
    char **work_keys;  /* (n_works) "W34", in split order */
    uint8_t *heldout;  /* (n_works) 1 = held out */
    /* sequences: format (a) and (b) of each training work, then of each held-out work */
    pgr_train_seq *train, *test;
    size_t n_train, n_test;
    size_t n_tokens_train; /* tokens of all training sequences */
    char data_sha256[65];
    int32_t *tok; /* every sequence's tokens (the seqs point inside) */
} pgr_train_corpus;

/* Reads author (any id form pgr_resolve_id accepts) and their works from s,
 * tokenises with tok. PGR_ENOTFOUND for an unknown author; a corpus with no
 * usable work is returned (n_works 0) for the caller to decide. */
int pgr_train_corpus_load(pgr_store *s, const char *author, const pgr_tokenizer *tok, int max_tok,
                          pgr_train_corpus **out, pgr_err *err);
void pgr_train_corpus_free(pgr_train_corpus *c); /* NULL is fine */

/* data_sha256 of an author's current works without tokenising (for --changed). */
int pgr_train_data_sha256(pgr_store *s, const char *author, char out[65], pgr_err *err);

#endif
