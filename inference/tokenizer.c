/* Byte-level BPE (GPT-2 style) from GGUF metadata, matching llama.cpp's
 * tokenizer token for token:
 *
 *   text -> special-token partition -> UTF-8 sanitised -> pre-tokenizer regexes
 *        -> each word byte-mapped (bytes_to_unicode) -> BPE merges by rank
 *        -> ids (unknown merged pieces fall back to their single bytes)
 *
 * The pre-tokenizer regexes run in PCRE2 (UTF + UCP) for \p{L} and \p{N};
 * whitespace is spelled out as llama.cpp's table (which, unlike PCRE2's \s,
 * includes U+0085). BPE uses a binary heap of candidate merges keyed by
 * (rank, position), so a word of n characters costs O(n log n). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "inference/tokenizer.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GGUF token types (tokenizer.ggml.token_type) */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

#define MAX_RE 3
#define MAX_EOG 8

typedef struct merge {
    const char *l, *r; /* byte-mapped texts, not NUL-terminated */
    uint32_t ll, rl;
} merge;

struct pgr_tokenizer {
    pgr_arena arena;
    size_t n_vocab;
    gguf_str *text;  /* token text as stored in the vocabulary */
    gguf_str *piece; /* decoded bytes (byte-level mapping undone) */
    uint8_t *type;
    uint32_t *vocab_hash; /* open addressing: id + 1, 0 = empty */
    size_t vocab_hcap;
    merge *merges;
    size_t n_merges;
    uint32_t *merge_hash; /* rank + 1 */
    size_t merge_hcap;
    int32_t *special; /* control/user/unknown ids, longest text first */
    size_t n_special;
    pcre2_code *re[MAX_RE];
    size_t n_re;
    int ignore_merges; /* llama-bpe: a word that is a token is not merged */
    int add_bos;
    int32_t bos, eos, im_start, im_end;
    int32_t eog[MAX_EOG];
    size_t n_eog;
    char *default_system;
    char byte_utf8[256][3]; /* bytes_to_unicode: byte -> 1-2 UTF-8 bytes */
    uint8_t byte_utf8_len[256];
    int16_t cp_to_byte[324]; /* inverse for code points < 324, -1 if none */
};

/* ---- small helpers --------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}
#define FNV0 1469598103934665603ull

static size_t hcap_for(size_t n)
{
    size_t c = 16;
    while (c < n * 2)
        c *= 2;
    return c;
}

static int tv_push(pgr_tokvec *tv, int32_t id)
{
    if (tv->n == tv->cap) {
        size_t nc = tv->cap ? tv->cap * 2 : 64;
        int32_t *v = realloc(tv->v, nc * sizeof *v);
        if (!v)
            return -1;
        tv->v = v;
        tv->cap = nc;
    }
    tv->v[tv->n++] = id;
    return 0;
}

void pgr_tokvec_free(pgr_tokvec *tv)
{
    if (!tv)
        return;
    free(tv->v);
    tv->v = NULL;
    tv->n = tv->cap = 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid (overlong,
 * surrogate, > U+10FFFF, truncated, bad continuation). *cp gets the value. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            return 0;
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return len;
}

/* ---- streaming UTF-8 -------------------------------------------------------- */

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* Expected length and the allowed range of the second byte for a lead byte. */
static unsigned lead_info(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0;
        if (c == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90;
        if (c == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

void pgr_utf8_stream_feed(pgr_utf8_stream *st, const char *bytes, size_t n, pgr_sb *out)
{
    const unsigned char *s = (const unsigned char *)bytes;
    size_t run = 0; /* bytes [run, i) are plain ASCII not yet appended */
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i], lo, hi;
        if (st->npend == 0 && c < 0x80)
            continue;
        pgr_sb_append(out, bytes + run, i - run);
        run = i + 1;
        if (st->npend == 0) {
            unsigned need = lead_info(c, &lo, &hi);
            if (!need) {
                pgr_sb_append(out, REPLACEMENT, 3);
            } else {
                st->pend[0] = (unsigned char)c;
                st->npend = 1;
                st->need = need;
            }
            continue;
        }
        lead_info(st->pend[0], &lo, &hi);
        if (st->npend > 1) {
            lo = 0x80;
            hi = 0xBF;
        }
        if (c < lo || c > hi) {
            /* the held sequence is broken: it becomes one U+FFFD and this
             * byte is looked at again as the start of something new */
            pgr_sb_append(out, REPLACEMENT, 3);
            st->npend = 0;
            run = i;
            i--; /* wraps at 0 and comes back with the loop's i++ */
            continue;
        }
        st->pend[st->npend++] = (unsigned char)c;
        if (st->npend == st->need) {
            pgr_sb_append(out, (const char *)st->pend, st->npend);
            st->npend = 0;
        }
    }
    pgr_sb_append(out, bytes + run, n - run);
}

void pgr_utf8_stream_flush(pgr_utf8_stream *st, pgr_sb *out)
{
    if (st->npend)
        pgr_sb_append(out, REPLACEMENT, 3);
    st->npend = 0;
}

/* ---- vocabulary lookups ------------------------------------------------------ */

static int32_t vocab_find(const pgr_tokenizer *tok, const char *s, size_t n)
{
    size_t m = tok->vocab_hcap - 1, h = (size_t)fnv(FNV0, s, n) & m;
    for (;; h = (h + 1) & m) {
        uint32_t e = tok->vocab_hash[h];
        if (!e)
            return -1;
        const gguf_str *t = &tok->text[e - 1];
        if (t->len == n && memcmp(t->s, s, n) == 0)
            return (int32_t)(e - 1);
    }
}

int32_t pgr_tok_find(const pgr_tokenizer *tok, const char *piece, size_t len)
{
    return vocab_find(tok, piece, len);
}

static uint64_t merge_hash(const char *l, size_t ll, const char *r, size_t rl)
{
    static const unsigned char sep = 0xFF; /* never inside UTF-8 */
    return fnv(fnv(fnv(FNV0, l, ll), &sep, 1), r, rl);
}

/* Rank of merging texts l and r, or -1. */
static int64_t merge_rank(const pgr_tokenizer *tok, const char *l, size_t ll, const char *r,
                          size_t rl)
{
    size_t m = tok->merge_hcap - 1, h = (size_t)merge_hash(l, ll, r, rl) & m;
    for (;; h = (h + 1) & m) {
        uint32_t e = tok->merge_hash[h];
        if (!e)
            return -1;
        const merge *mg = &tok->merges[e - 1];
        if (mg->ll == ll && mg->rl == rl && memcmp(mg->l, l, ll) == 0 &&
            memcmp(mg->r, r, rl) == 0)
            return (int64_t)(e - 1);
    }
}

/* ---- BPE ------------------------------------------------------------------ */

typedef struct sym {
    int32_t prev, next;
    uint32_t off, n; /* span of the byte-mapped word; n == 0 once merged away */
} sym;

typedef struct bigram {
    int64_t rank;
    int32_t left, right;
    uint32_t size;
} bigram;

typedef struct bpe_work {
    sym *syms;
    size_t syms_cap;
    bigram *heap;
    size_t heap_n, heap_cap;
    pgr_sb word; /* byte-mapped word */
} bpe_work;

static int bigram_less(const bigram *a, const bigram *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int heap_push(bpe_work *w, bigram b)
{
    if (w->heap_n == w->heap_cap) {
        size_t nc = w->heap_cap ? w->heap_cap * 2 : 64;
        bigram *h = realloc(w->heap, nc * sizeof *h);
        if (!h)
            return -1;
        w->heap = h;
        w->heap_cap = nc;
    }
    size_t i = w->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bigram_less(&b, &w->heap[p]))
            break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = b;
    return 0;
}

static bigram heap_pop(bpe_work *w)
{
    bigram top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0, n = w->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && bigram_less(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!bigram_less(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n)
        w->heap[i] = last;
    return top;
}

static int try_bigram(const pgr_tokenizer *tok, bpe_work *w, int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return 0;
    const char *s = w->word.data;
    const sym *a = &w->syms[left], *b = &w->syms[right];
    int64_t rank = merge_rank(tok, s + a->off, a->n, s + b->off, b->n);
    if (rank < 0)
        return 0;
    bigram bg = {rank, left, right, a->n + b->n};
    return heap_push(w, bg);
}

/* Appends the ids of one pre-tokenized word (raw bytes). */
static int bpe_word(const pgr_tokenizer *tok, bpe_work *w, const char *raw, size_t n,
                    pgr_tokvec *out)
{
    pgr_sb_reset(&w->word);
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)raw[i];
        pgr_sb_append(&w->word, tok->byte_utf8[b], tok->byte_utf8_len[b]);
    }
    if (!pgr_sb_ok(&w->word))
        return -1;
    const char *s = w->word.data;
    size_t len = w->word.len;
    if (tok->ignore_merges) {
        int32_t id = vocab_find(tok, s, len);
        if (id >= 0)
            return tv_push(out, id);
    }
    /* one symbol per mapped character (each raw byte gave one) */
    if (n > w->syms_cap) {
        sym *ns = realloc(w->syms, n * sizeof *ns);
        if (!ns)
            return -1;
        w->syms = ns;
        w->syms_cap = n;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cl = tok->byte_utf8_len[(unsigned char)raw[i]];
        w->syms[i] = (sym){(int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1, (uint32_t)off, cl};
        off += cl;
    }
    w->heap_n = 0;
    for (size_t i = 1; i < n; i++)
        if (try_bigram(tok, w, (int32_t)i - 1, (int32_t)i) < 0)
            return -1;
    while (w->heap_n) {
        bigram bg = heap_pop(w);
        sym *a = &w->syms[bg.left], *b = &w->syms[bg.right];
        /* stale: one side was merged since this candidate was queued */
        if (a->n == 0 || b->n == 0 || a->n + b->n != bg.size)
            continue;
        a->n += b->n;
        b->n = 0;
        a->next = b->next;
        if (b->next >= 0)
            w->syms[b->next].prev = bg.left;
        if (try_bigram(tok, w, a->prev, bg.left) < 0 || try_bigram(tok, w, bg.left, a->next) < 0)
            return -1;
    }
    for (int32_t i = 0; i >= 0; i = w->syms[i].next) {
        const sym *y = &w->syms[i];
        int32_t id = vocab_find(tok, s + y->off, y->n);
        if (id >= 0) {
            if (tv_push(out, id) < 0)
                return -1;
            continue;
        }
        /* as llama.cpp: a merged piece missing from the vocabulary falls back
         * to its single bytes that are tokens */
        for (uint32_t k = 0; k < y->n; k++) {
            id = vocab_find(tok, s + y->off + k, 1);
            if (id >= 0 && tv_push(out, id) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- pre-tokenizer ----------------------------------------------------------- */

/* llama.cpp's whitespace set (unicode-data: \t-\r, space, U+0085, U+00A0,
 * U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). */
#define WS "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

static const char RE_GPT2[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS
                              "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";
static const char RE_LLAMA3[] =
    "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS
    "])|[" WS "]+";
static const char RE_DIGIT[] = "\\p{N}";

typedef struct span {
    size_t off, len;
} span;

typedef struct spanvec {
    span *v;
    size_t n, cap;
} spanvec;

static int sv_push(spanvec *sv, size_t off, size_t len)
{
    if (sv->n == sv->cap) {
        size_t nc = sv->cap ? sv->cap * 2 : 64;
        span *v = realloc(sv->v, nc * sizeof *v);
        if (!v)
            return -1;
        sv->v = v;
        sv->cap = nc;
    }
    sv->v[sv->n++] = (span){off, len};
    return 0;
}

/* Splits each span of in by re into matches and the gaps between them. */
static int re_split(const pcre2_code *re, const char *text, const spanvec *in, spanvec *out,
                    pcre2_match_data *md, pgr_err *err)
{
    out->n = 0;
    for (size_t k = 0; k < in->n; k++) {
        const char *sub = text + in->v[k].off;
        size_t len = in->v[k].len, pos = 0, gap = 0;
        while (pos < len) {
            int rc = pcre2_match(re, (PCRE2_SPTR)sub, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
                rc = pcre2_match(re, (PCRE2_SPTR)sub, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                                 md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            if (rc < 0) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(rc, msg, sizeof msg);
                return pgr_errf(err, PGR_EINTERNAL, "tokenizer: pre-tokenizer regex at byte %zu: %s",
                                in->v[k].off + pos, (const char *)msg);
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t ms = ov[0], me = ov[1];
            if (me == ms) { /* no pattern here matches empty, but never loop */
                pos++;
                while (pos < len && ((unsigned char)sub[pos] & 0xC0) == 0x80)
                    pos++;
                continue;
            }
            if (ms > gap && sv_push(out, in->v[k].off + gap, ms - gap) < 0)
                return pgr_errf(err, PGR_ENOMEM, "tokenizer: out of memory");
            if (sv_push(out, in->v[k].off + ms, me - ms) < 0)
                return pgr_errf(err, PGR_ENOMEM, "tokenizer: out of memory");
            pos = gap = me;
        }
        if (gap < len && sv_push(out, in->v[k].off + gap, len - gap) < 0)
            return pgr_errf(err, PGR_ENOMEM, "tokenizer: out of memory");
    }
    return 0;
}

/* Tokenizes one fragment of ordinary text. Invalid UTF-8 becomes U+FFFD first,
 * as llama.cpp does when it decodes the text to code points. */
static int encode_text(const pgr_tokenizer *tok, const char *text, size_t len, pgr_tokvec *out,
                       bpe_work *w, pgr_err *err)
{
    pgr_sb clean = {0};
    spanvec a = {0}, b = {0};
    pcre2_match_data *md = NULL;
    int rc = -1;
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_seq(s + i, len - i, &cp);
        if (n == 0) {
            pgr_sb_append(&clean, REPLACEMENT, 3);
            i++;
        } else {
            pgr_sb_append(&clean, text + i, n);
            i += n;
        }
    }
    if (!pgr_sb_ok(&clean)) {
        pgr_errf(err, PGR_ENOMEM, "tokenizer: out of memory");
        goto cleanup;
    }
    if (clean.len == 0) {
        rc = 0;
        goto cleanup;
    }
    md = pcre2_match_data_create(1, NULL);
    if (!md || sv_push(&a, 0, clean.len) < 0) {
        pgr_errf(err, PGR_ENOMEM, "tokenizer: out of memory");
        goto cleanup;
    }
    for (size_t r = 0; r < tok->n_re; r++) {
        if (re_split(tok->re[r], clean.data, &a, &b, md, err) < 0)
            goto cleanup;
        spanvec t = a;
        a = b;
        b = t;
    }
    for (size_t k = 0; k < a.n; k++)
        if (bpe_word(tok, w, clean.data + a.v[k].off, a.v[k].len, out) < 0) {
            pgr_errf(err, PGR_ENOMEM, "tokenizer: out of memory");
            goto cleanup;
        }
    rc = 0;
cleanup:
    pcre2_match_data_free(md);
    free(a.v);
    free(b.v);
    pgr_sb_free(&clean);
    return rc;
}

/* ---- encode ------------------------------------------------------------------ */

typedef struct frag {
    int32_t id; /* >= 0: a special token; -1: text [off, off+len) */
    size_t off, len;
} frag;

typedef struct fragvec {
    frag *v;
    size_t n, cap;
} fragvec;

static int fv_push(fragvec *fv, frag f)
{
    if (fv->n == fv->cap) {
        size_t nc = fv->cap ? fv->cap * 2 : 16;
        frag *v = realloc(fv->v, nc * sizeof *v);
        if (!v)
            return -1;
        fv->v = v;
        fv->cap = nc;
    }
    fv->v[fv->n++] = f;
    return 0;
}

int pgr_tok_encode(const pgr_tokenizer *tok, const char *text, size_t len, int flags,
                   pgr_tokvec *out, pgr_err *err)
{
    fragvec a = {0}, b = {0};
    bpe_work w = {0};
    int rc = -1;
    if ((flags & PGR_TOK_ADD_BOS) && tok->add_bos && tok->bos >= 0 && tv_push(out, tok->bos) < 0)
        goto oom;
    if (len == 0)
        return 0;
    if (fv_push(&a, (frag){-1, 0, len}) < 0)
        goto oom;
    /* Special tokens, longest first over the whole text (as llama.cpp's
     * partition does): each occurrence splits a text fragment in three.
     * Control and unknown tokens only when asked; user-defined always. */
    for (size_t s = 0; s < tok->n_special; s++) {
        int32_t id = tok->special[s];
        if (!(flags & PGR_TOK_PARSE_SPECIAL) && tok->type[id] != TT_USER)
            continue;
        const gguf_str *st = &tok->text[id];
        if (st->len == 0)
            continue;
        b.n = 0;
        for (size_t k = 0; k < a.n; k++) {
            frag f = a.v[k];
            if (f.id >= 0) {
                if (fv_push(&b, f) < 0)
                    goto oom;
                continue;
            }
            size_t pos = f.off, end = f.off + f.len;
            for (;;) {
                const char *hit = memmem(text + pos, end - pos, st->s, st->len);
                if (!hit)
                    break;
                size_t h = (size_t)(hit - text);
                if (h > pos && fv_push(&b, (frag){-1, pos, h - pos}) < 0)
                    goto oom;
                if (fv_push(&b, (frag){id, h, st->len}) < 0)
                    goto oom;
                pos = h + st->len;
            }
            if (pos < end && fv_push(&b, (frag){-1, pos, end - pos}) < 0)
                goto oom;
        }
        fragvec t = a;
        a = b;
        b = t;
    }
    for (size_t k = 0; k < a.n; k++) {
        if (a.v[k].id >= 0) {
            if (tv_push(out, a.v[k].id) < 0)
                goto oom;
        } else if (encode_text(tok, text + a.v[k].off, a.v[k].len, out, &w, err) < 0) {
            goto cleanup;
        }
    }
    rc = 0;
    goto cleanup;
oom:
    pgr_errf(err, PGR_ENOMEM, "tokenizer: out of memory");
cleanup:
    free(a.v);
    free(b.v);
    free(w.syms);
    free(w.heap);
    pgr_sb_free(&w.word);
    return rc;
}

/* ---- decode ------------------------------------------------------------------ */

const char *pgr_tok_piece(const pgr_tokenizer *tok, int32_t id, int render_special, size_t *len)
{
    if (id < 0 || (size_t)id >= tok->n_vocab) {
        *len = 0;
        return NULL;
    }
    uint8_t t = tok->type[id];
    if (!render_special && (t == TT_CONTROL || t == TT_UNKNOWN)) {
        *len = 0;
        return "";
    }
    *len = tok->piece[id].len;
    return tok->piece[id].s;
}

void pgr_tok_decode(const pgr_tokenizer *tok, const int32_t *ids, size_t n, int render_special,
                    pgr_sb *out)
{
    pgr_utf8_stream st = {0};
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = pgr_tok_piece(tok, ids[i], render_special, &len);
        if (p)
            pgr_utf8_stream_feed(&st, p, len, out);
    }
    pgr_utf8_stream_flush(&st, out);
}

/* ---- accessors ----------------------------------------------------------------- */

size_t pgr_tok_n_vocab(const pgr_tokenizer *tok) { return tok->n_vocab; }
int32_t pgr_tok_bos(const pgr_tokenizer *tok) { return tok->bos; }
int32_t pgr_tok_eos(const pgr_tokenizer *tok) { return tok->eos; }
int32_t pgr_tok_im_start(const pgr_tokenizer *tok) { return tok->im_start; }
int32_t pgr_tok_im_end(const pgr_tokenizer *tok) { return tok->im_end; }
const char *pgr_tok_default_system(const pgr_tokenizer *tok) { return tok->default_system; }

int pgr_tok_is_eog(const pgr_tokenizer *tok, int32_t id)
{
    for (size_t i = 0; i < tok->n_eog; i++)
        if (tok->eog[i] == id)
            return 1;
    return 0;
}

int pgr_tok_is_control(const pgr_tokenizer *tok, int32_t id)
{
    return id >= 0 && (size_t)id < tok->n_vocab && tok->type[id] == TT_CONTROL;
}

/* ---- chat template -------------------------------------------------------------- */

int pgr_tok_chat_render(const pgr_tokenizer *tok, const pgr_chat_msg *msgs, size_t n,
                        int add_assistant, pgr_sb *out, pgr_err *err)
{
    if (tok->im_start < 0 || tok->im_end < 0)
        return pgr_errf(err, PGR_EUNSUPPORTED,
                        "tokenizer: the vocabulary has no <|im_start|>/<|im_end|> (not ChatML)");
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return pgr_errf(err, PGR_EINVAL, "chat message %zu has no role or content", i);
    if ((n == 0 || strcmp(msgs[0].role, "system") != 0) && tok->default_system[0])
        pgr_sb_printf(out, "<|im_start|>system\n%s<|im_end|>\n", tok->default_system);
    for (size_t i = 0; i < n; i++)
        pgr_sb_printf(out, "<|im_start|>%s\n%s<|im_end|>\n", msgs[i].role, msgs[i].content);
    if (add_assistant)
        pgr_sb_puts(out, "<|im_start|>assistant\n");
    if (!pgr_sb_ok(out))
        return pgr_errf(err, PGR_ENOMEM, "tokenizer: out of memory");
    return 0;
}

int pgr_tok_chat_encode(const pgr_tokenizer *tok, const char *system, const char *user,
                        pgr_tokvec *out, pgr_err *err)
{
    pgr_chat_msg m[2];
    size_t n = 0;
    if (system)
        m[n++] = (pgr_chat_msg){"system", system};
    m[n++] = (pgr_chat_msg){"user", user};
    pgr_sb sb = {0};
    int rc = pgr_tok_chat_render(tok, m, n, 1, &sb, err);
    if (rc == 0)
        rc = pgr_tok_encode(tok, sb.data ? sb.data : "", sb.len, PGR_TOK_PARSE_SPECIAL, out, err);
    pgr_sb_free(&sb);
    return rc;
}

/* The template's own default: the text after "<|im_start|>system" + newline
 * (a real newline or the two characters \n of a Jinja literal) up to
 * <|im_end|>. HF's SmolLM2 template inserts it when messages[0] is not a
 * system message. */
static char *find_default_system(pgr_arena *a, const char *tpl)
{
    static const char open[] = "<|im_start|>system";
    const char *p = tpl ? strstr(tpl, open) : NULL;
    while (p) {
        const char *q = p + sizeof open - 1;
        if (*q == '\n')
            q++;
        else if (q[0] == '\\' && q[1] == 'n')
            q += 2;
        else
            q = NULL;
        const char *e = q ? strstr(q, "<|im_end|>") : NULL;
        /* a template that builds the system turn from message['content']
         * has Jinja syntax in there, not a default prompt */
        if (e && !memchr(q, '{', (size_t)(e - q)) && !memchr(q, '\'', (size_t)(e - q)))
            return pgr_arena_strndup(a, q, (size_t)(e - q));
        p = strstr(p + 1, open);
    }
    return pgr_arena_strdup(a, "");
}

/* ---- load ------------------------------------------------------------------------ */

static void init_byte_map(pgr_tokenizer *tok)
{
    int n = 0;
    for (int i = 0; i < 324; i++)
        tok->cp_to_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        uint32_t cp = printable ? (uint32_t)b : (uint32_t)(256 + n++);
        tok->byte_utf8_len[b] = (uint8_t)put_utf8(tok->byte_utf8[b], cp);
        tok->cp_to_byte[cp] = (int16_t)b;
    }
}

/* Undo the byte-level mapping of a normal token's text. A character outside
 * the map (not produced by bytes_to_unicode) is kept as its UTF-8. */
static int decode_piece(const pgr_tokenizer *tok, pgr_arena *a, const gguf_str *t, gguf_str *out)
{
    char *buf = pgr_arena_alloc(a, t->len + 1);
    if (!buf)
        return -1;
    size_t o = 0, i = 0;
    const unsigned char *s = (const unsigned char *)t->s;
    while (i < t->len) {
        uint32_t cp;
        size_t n = utf8_seq(s + i, t->len - i, &cp);
        if (n == 0) {
            buf[o++] = (char)s[i++];
            continue;
        }
        if (cp < 324 && tok->cp_to_byte[cp] >= 0) {
            buf[o++] = (char)tok->cp_to_byte[cp];
        } else {
            memcpy(buf + o, s + i, n);
            o += n;
        }
        i += n;
    }
    buf[o] = '\0';
    out->s = buf;
    out->len = o;
    return 0;
}

/* "<0x0A>" -> 0x0A */
static int parse_byte_token(const gguf_str *t, unsigned char *b)
{
    unsigned v;
    char tail;
    if (t->len != 6 || sscanf(t->s, "<0x%2X%c", &v, &tail) != 2 || tail != '>')
        return -1;
    *b = (unsigned char)v;
    return 0;
}

static int cmp_special_len(const void *x, const void *y, void *ctx)
{
    const pgr_tokenizer *tok = ctx;
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    size_t la = tok->text[a].len, lb = tok->text[b].len;
    if (la != lb)
        return la > lb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static int opt_id(const gguf_file *f, const char *key, size_t n_vocab, int32_t *out, pgr_err *err)
{
    uint32_t v;
    pgr_err e2;
    *out = -1;
    if (gguf_get_u32(f, key, &v, &e2) < 0) {
        if (e2.code == PGR_ENOTFOUND)
            return 0;
        return pgr_errf(err, PGR_EINVAL, "%s", e2.msg);
    }
    if (v >= n_vocab)
        return pgr_errf(err, PGR_EINVAL, "%s: key '%s' = %u is outside the vocabulary (%zu tokens)",
                        gguf_path(f), key, v, n_vocab);
    *out = (int32_t)v;
    return 0;
}

static void add_eog(pgr_tokenizer *tok, int32_t id)
{
    if (id < 0 || pgr_tok_is_eog(tok, id) || tok->n_eog == MAX_EOG)
        return;
    tok->eog[tok->n_eog++] = id;
}

int pgr_tok_load(const gguf_file *f, pgr_tokenizer **out, pgr_err *err)
{
    *out = NULL;
    const char *path = gguf_path(f);
    pgr_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    pgr_arena *A = &tok->arena;
    init_byte_map(tok);

    gguf_str model, pre = {"", 0};
    if (gguf_get_str(f, "tokenizer.ggml.model", &model, err) < 0)
        goto fail;
    if (strcmp(model.s, "gpt2") != 0) {
        pgr_errf(err, PGR_EUNSUPPORTED,
                 "%s: tokenizer.ggml.model '%s' is not supported (only byte-level BPE 'gpt2')", path,
                 model.s);
        goto fail;
    }
    pgr_err e2;
    if (gguf_get_str(f, "tokenizer.ggml.pre", &pre, &e2) < 0 && e2.code != PGR_ENOTFOUND) {
        pgr_errf(err, PGR_EINVAL, "%s", e2.msg);
        goto fail;
    }
    const char *res[MAX_RE];
    size_t nres = 0;
    /* pre-tokenizers that llama.cpp maps to the same regexes as smollm */
    static const char *const digit_gpt2[] = {"smollm", "starcoder", "refact", "command-r",
                                             "codeshell", "exaone", "minerva"};
    for (size_t i = 0; i < sizeof digit_gpt2 / sizeof *digit_gpt2; i++)
        if (strcmp(pre.s, digit_gpt2[i]) == 0) {
            res[nres++] = RE_DIGIT;
            res[nres++] = RE_GPT2;
        }
    if (strcmp(pre.s, "gpt2") == 0) {
        res[nres++] = RE_GPT2;
    } else if (strcmp(pre.s, "llama-bpe") == 0 || strcmp(pre.s, "llama3") == 0) {
        res[nres++] = RE_LLAMA3;
        tok->ignore_merges = 1;
    }
    if (nres == 0) {
        pgr_errf(err, PGR_EUNSUPPORTED,
                 "%s: pre-tokenizer tokenizer.ggml.pre = '%s' is not supported "
                 "(smollm, gpt2, llama-bpe are)",
                 path, pre.s);
        goto fail;
    }
    for (size_t i = 0; i < nres; i++) {
        int ec;
        PCRE2_SIZE eo;
        tok->re[i] = pcre2_compile((PCRE2_SPTR)res[i], PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &ec, &eo, NULL);
        if (!tok->re[i]) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            pgr_errf(err, PGR_EINTERNAL, "tokenizer: regex %zu at %zu: %s", i, (size_t)eo,
                     (const char *)msg);
            goto fail;
        }
        tok->n_re = i + 1;
        pcre2_jit_compile(tok->re[i], PCRE2_JIT_COMPLETE); /* best effort: falls back to the interpreter */
    }

    const void *arr;
    size_t n;
    if (gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_VT_STRING, &arr, &n, err) < 0)
        goto fail;
    if (n == 0 || n > INT32_MAX) {
        pgr_errf(err, PGR_EINVAL, "%s: tokenizer.ggml.tokens has %zu entries", path, n);
        goto fail;
    }
    const gguf_str *toks = arr;
    tok->n_vocab = n;
    tok->text = pgr_arena_calloc(A, n, sizeof *tok->text);
    tok->piece = pgr_arena_calloc(A, n, sizeof *tok->piece);
    tok->type = pgr_arena_calloc(A, n, 1);
    tok->vocab_hcap = hcap_for(n);
    tok->vocab_hash = pgr_arena_calloc(A, tok->vocab_hcap, sizeof *tok->vocab_hash);
    if (!tok->text || !tok->piece || !tok->type || !tok->vocab_hash)
        goto oom;

    const int32_t *types = NULL;
    size_t ntypes = 0;
    if (gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_VT_INT32, &arr, &ntypes, &e2) == 0) {
        types = arr;
        if (ntypes != n) {
            pgr_errf(err, PGR_EINVAL, "%s: tokenizer.ggml.token_type has %zu entries, tokens %zu",
                     path, ntypes, n);
            goto fail;
        }
    } else if (e2.code != PGR_ENOTFOUND) {
        pgr_errf(err, PGR_EINVAL, "%s", e2.msg);
        goto fail;
    }

    size_t n_special = 0;
    for (size_t i = 0; i < n; i++) {
        tok->text[i].s = pgr_arena_strndup(A, toks[i].s, toks[i].len);
        tok->text[i].len = toks[i].len;
        if (!tok->text[i].s)
            goto oom;
        int32_t t = types ? types[i] : TT_NORMAL;
        if (t < TT_NORMAL || t > TT_BYTE) {
            pgr_errf(err, PGR_EINVAL, "%s: token %zu has unknown type %d", path, i, (int)t);
            goto fail;
        }
        tok->type[i] = (uint8_t)t;
        if (t == TT_CONTROL || t == TT_USER || t == TT_UNKNOWN)
            n_special++;
        unsigned char byte;
        if (t == TT_NORMAL) {
            if (decode_piece(tok, A, &tok->text[i], &tok->piece[i]) < 0)
                goto oom;
        } else if (t == TT_BYTE && parse_byte_token(&tok->text[i], &byte) == 0) {
            char *p = pgr_arena_alloc(A, 2);
            if (!p)
                goto oom;
            p[0] = (char)byte;
            tok->piece[i] = (gguf_str){p, 1};
        } else if (t == TT_UNUSED) {
            tok->piece[i] = (gguf_str){"", 0};
        } else {
            tok->piece[i] = tok->text[i]; /* control/user/unknown: their text */
        }
        /* first id wins for a duplicated text, as a map insert would */
        size_t m = tok->vocab_hcap - 1, h = (size_t)fnv(FNV0, toks[i].s, toks[i].len) & m;
        int dup = 0;
        for (; tok->vocab_hash[h]; h = (h + 1) & m) {
            const gguf_str *o = &tok->text[tok->vocab_hash[h] - 1];
            if (o->len == toks[i].len && memcmp(o->s, toks[i].s, o->len) == 0) {
                dup = 1;
                break;
            }
        }
        if (!dup)
            tok->vocab_hash[h] = (uint32_t)(i + 1);
    }
    tok->special = pgr_arena_calloc(A, n_special ? n_special : 1, sizeof *tok->special);
    if (!tok->special)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (tok->type[i] == TT_CONTROL || tok->type[i] == TT_USER || tok->type[i] == TT_UNKNOWN)
            tok->special[tok->n_special++] = (int32_t)i;
    qsort_r(tok->special, tok->n_special, sizeof *tok->special, cmp_special_len, tok);

    const gguf_str *mg;
    if (gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_VT_STRING, &arr, &n, err) < 0)
        goto fail;
    mg = arr;
    tok->n_merges = n;
    tok->merges = pgr_arena_calloc(A, n ? n : 1, sizeof *tok->merges);
    tok->merge_hcap = hcap_for(n);
    tok->merge_hash = pgr_arena_calloc(A, tok->merge_hcap, sizeof *tok->merge_hash);
    if (!tok->merges || !tok->merge_hash)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        /* "left right"; the separator is the first space after position 0 */
        const char *sp = mg[i].len > 1 ? memchr(mg[i].s + 1, ' ', mg[i].len - 1) : NULL;
        if (!sp || mg[i].len > UINT32_MAX) {
            pgr_errf(err, PGR_EINVAL, "%s: tokenizer.ggml.merges[%zu] '%.60s' has no space", path,
                     i, mg[i].s);
            goto fail;
        }
        char *copy = pgr_arena_strndup(A, mg[i].s, mg[i].len);
        if (!copy)
            goto oom;
        merge *m = &tok->merges[i];
        m->l = copy;
        m->ll = (uint32_t)(sp - mg[i].s);
        m->r = copy + m->ll + 1;
        m->rl = (uint32_t)(mg[i].len - m->ll - 1);
        if (merge_rank(tok, m->l, m->ll, m->r, m->rl) >= 0)
            continue; /* a repeated merge keeps its first (best) rank */
        size_t hm = tok->merge_hcap - 1, h = (size_t)merge_hash(m->l, m->ll, m->r, m->rl) & hm;
        while (tok->merge_hash[h])
            h = (h + 1) & hm;
        tok->merge_hash[h] = (uint32_t)(i + 1);
    }

    int b = 0;
    if (gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b, &e2) < 0 && e2.code != PGR_ENOTFOUND) {
        pgr_errf(err, PGR_EINVAL, "%s", e2.msg);
        goto fail;
    }
    tok->add_bos = b;
    int32_t eot;
    if (opt_id(f, "tokenizer.ggml.bos_token_id", tok->n_vocab, &tok->bos, err) < 0 ||
        opt_id(f, "tokenizer.ggml.eos_token_id", tok->n_vocab, &tok->eos, err) < 0 ||
        opt_id(f, "tokenizer.ggml.eot_token_id", tok->n_vocab, &eot, err) < 0)
        goto fail;
    tok->im_start = vocab_find(tok, "<|im_start|>", 12);
    tok->im_end = vocab_find(tok, "<|im_end|>", 10);
    add_eog(tok, tok->eos);
    add_eog(tok, eot);
    /* llama.cpp also stops on these texts when they are in the vocabulary */
    static const char *const eog_texts[] = {"<|im_end|>", "<|endoftext|>", "<|eot_id|>",
                                            "<|end|>", "<end_of_turn>"};
    for (size_t i = 0; i < sizeof eog_texts / sizeof *eog_texts; i++)
        add_eog(tok, vocab_find(tok, eog_texts[i], strlen(eog_texts[i])));

    gguf_str tpl = {NULL, 0};
    if (gguf_get_str(f, "tokenizer.chat_template", &tpl, &e2) < 0 && e2.code != PGR_ENOTFOUND) {
        pgr_errf(err, PGR_EINVAL, "%s", e2.msg);
        goto fail;
    }
    tok->default_system = find_default_system(A, tpl.s);
    if (!tok->default_system)
        goto oom;
    *out = tok;
    return 0;
oom:
    pgr_errf(err, PGR_ENOMEM, "%s: out of memory loading the tokenizer", path);
fail:
    pgr_tok_free(tok);
    return -1;
}

void pgr_tok_free(pgr_tokenizer *tok)
{
    if (!tok)
        return;
    for (size_t i = 0; i < tok->n_re; i++)
        pcre2_code_free(tok->re[i]);
    pgr_arena_free(&tok->arena);
    free(tok);
}
