#ifndef PEERGRAPH_TOKENIZER_H
#define PEERGRAPH_TOKENIZER_H
/* Byte-level BPE tokenizer built from a GGUF's tokenizer.ggml.* metadata
 * (model "gpt2"), with the pre-tokenizer that tokenizer.ggml.pre names
 * ("smollm", "gpt2", "llama-bpe"), special/control tokens, a streaming UTF-8
 * decoder and the ChatML chat template.
 *
 * Ownership: pgr_tok_load copies everything it needs out of the gguf_file, so
 * the tokenizer does not depend on the file staying open. A pgr_tokenizer is
 * immutable after loading and may be used from many threads at once. */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"
#include "inference/gguf.h"

typedef struct pgr_tokenizer pgr_tokenizer;

/* Loads the vocabulary, merges, token types and special ids from f.
 * *out is new (free with pgr_tok_free). Unsupported tokenizer.ggml.model or
 * .pre values are refused with PGR_EUNSUPPORTED. */
int pgr_tok_load(const gguf_file *f, pgr_tokenizer **out, pgr_err *err);
void pgr_tok_free(pgr_tokenizer *tok); /* NULL is fine */

/* A growable id vector; the caller owns v (free()). */
typedef struct pgr_tokvec {
    int32_t *v;
    size_t n, cap;
} pgr_tokvec;
void pgr_tokvec_free(pgr_tokvec *tv);

enum {
    /* Match special/control tokens (<|im_start|>, <|im_end|>,
     * <|endoftext|>, ...) in the text as whole tokens. Without it they are
     * ordinary text and tokenized byte by byte like any other string. */
    PGR_TOK_PARSE_SPECIAL = 1 << 0,
    /* Prepend BOS when the vocabulary asks for it (tokenizer.ggml.add_bos_token). */
    PGR_TOK_ADD_BOS = 1 << 1
};

/* Appends the ids of text[0..len) to out. The text need not be valid UTF-8:
 * an invalid byte becomes U+FFFD before tokenizing, as in llama.cpp. Returns
 * 0, or -1 with err set (allocation failure; out keeps what was appended). */
int pgr_tok_encode(const pgr_tokenizer *tok, const char *text, size_t len, int flags,
                   pgr_tokvec *out, pgr_err *err);

/* The raw bytes of one token (byte-level mapping undone), borrowed from the
 * tokenizer. Control tokens give "" unless render_special; an id out of range
 * gives NULL. A token may end in the middle of a UTF-8 character: feed pieces
 * through a pgr_utf8_stream before showing them. */
const char *pgr_tok_piece(const pgr_tokenizer *tok, int32_t id, int render_special,
                          size_t *len);

/* Appends the UTF-8 text of ids to out (incomplete or invalid sequences become
 * U+FFFD, as a whole-sequence decode). */
void pgr_tok_decode(const pgr_tokenizer *tok, const int32_t *ids, size_t n, int render_special,
                    pgr_sb *out);

/* Streaming UTF-8: bytes go in as tokens arrive; only complete characters come
 * out, a partial character is held until its remaining bytes arrive. Invalid
 * bytes come out as U+FFFD. Zero-initialise before use. */
typedef struct pgr_utf8_stream {
    unsigned char pend[4];
    unsigned npend, need;
} pgr_utf8_stream;
void pgr_utf8_stream_feed(pgr_utf8_stream *st, const char *bytes, size_t n, pgr_sb *out);
/* End of stream: a held partial character comes out as U+FFFD. */
void pgr_utf8_stream_flush(pgr_utf8_stream *st, pgr_sb *out);

size_t pgr_tok_n_vocab(const pgr_tokenizer *tok);
int32_t pgr_tok_bos(const pgr_tokenizer *tok);      /* -1 if none */
int32_t pgr_tok_eos(const pgr_tokenizer *tok);      /* -1 if none */
int32_t pgr_tok_im_start(const pgr_tokenizer *tok); /* -1 if the vocab has no <|im_start|> */
int32_t pgr_tok_im_end(const pgr_tokenizer *tok);   /* -1 if the vocab has no <|im_end|> */
/* End of generation: eos, eot, <|im_end|>, <|endoftext|>. */
int pgr_tok_is_eog(const pgr_tokenizer *tok, int32_t id);
/* Control (special) token: not text, rendered only on request. */
int pgr_tok_is_control(const pgr_tokenizer *tok, int32_t id);
/* Id of an exact token string, or -1. */
int32_t pgr_tok_find(const pgr_tokenizer *tok, const char *piece, size_t len);

/* ---- ChatML ----------------------------------------------------------------
 *   <|im_start|>system\n{system}<|im_end|>\n
 *   <|im_start|>user\n{msg}<|im_end|>\n ... <|im_start|>assistant\n
 * The default system prompt is read from tokenizer.chat_template (the text
 * the template inserts when the first message is not a system message). */
typedef struct pgr_chat_msg {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} pgr_chat_msg;

/* Borrowed; "" when the template has none. */
const char *pgr_tok_default_system(const pgr_tokenizer *tok);

/* Renders msgs as ChatML text into out, inserting the default system prompt
 * when msgs[0] is not a system message; add_assistant appends the opening
 * of the assistant turn. Encode the result with PGR_TOK_PARSE_SPECIAL. */
int pgr_tok_chat_render(const pgr_tokenizer *tok, const pgr_chat_msg *msgs, size_t n,
                        int add_assistant, pgr_sb *out, pgr_err *err);

/* One user turn (system NULL = default): render + encode with specials. */
int pgr_tok_chat_encode(const pgr_tokenizer *tok, const char *system, const char *user,
                        pgr_tokvec *out, pgr_err *err);

#endif
