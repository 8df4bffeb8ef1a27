/* Deterministic keyword topics over a corpus: tf-idf of unigrams and bigrams
 * (the method is documented at ix_keywords_compute in normalize.h and in
 * docs/keywords.md). Terms are interned once; each document keeps a small
 * list of (term, tf). */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "indexer/normalize.h"

/* English function words plus the boilerplate of abstracts ("we propose a
 * novel method"): they say nothing about a paper's topic. */
static const char *const stopwords[] = {
    "a", "about", "above", "achieve", "achieves", "across", "after", "again", "against", "all",
    "allows", "along", "also", "although", "am", "among", "an", "and", "another", "any",
    "approach", "approaches", "are", "as", "at", "based", "be", "because", "been", "before",
    "being", "below", "best", "better", "between", "both", "but", "by", "can", "cannot",
    "could", "demonstrate", "demonstrates", "despite", "did", "do", "does", "doing", "down",
    "due", "during", "each", "either", "et", "etc", "even", "every", "existing", "few",
    "find", "findings", "first", "for", "from", "further", "furthermore", "given", "had",
    "has", "have", "having", "he", "her", "here", "hers", "high", "him", "his", "how",
    "however", "i", "if", "in", "including", "into", "introduce", "is", "it", "its",
    "itself", "just", "key", "large", "less", "like", "low", "made", "make", "makes",
    "many", "may", "me", "method", "methods", "might", "more", "moreover", "most", "much",
    "must", "my", "new", "no", "nor", "not", "novel", "now", "of", "off", "often", "on",
    "once", "one", "only", "or", "other", "others", "our", "ours", "out", "over", "own",
    "paper", "per", "present", "propose", "proposed", "proposes", "provide", "provides",
    "rather", "recent", "recently", "result", "results", "same", "several", "she", "should",
    "show", "shows", "significant", "significantly", "since", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "themselves", "then", "there", "therefore",
    "these", "they", "this", "those", "through", "thus", "to", "too", "two", "under",
    "until", "up", "upon", "us", "use", "used", "uses", "using", "various", "very", "via",
    "was", "way", "we", "well", "were", "what", "when", "where", "whether", "which", "while",
    "who", "whom", "why", "will", "with", "within", "without", "work", "works", "would",
    "yet", "you", "your",
};

/* The stopwords in an open-addressing table (built once): most words of a
 * text are looked up, and a binary search with strcmp was a visible cost. */
#define STOP_SLOTS 1024
static const char *stop_table[STOP_SLOTS];
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;

static unsigned stop_hash(const char *w, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static void stop_build(void)
{
    for (size_t i = 0; i < sizeof stopwords / sizeof stopwords[0]; i++) {
        unsigned j = stop_hash(stopwords[i], strlen(stopwords[i])) & (STOP_SLOTS - 1);
        while (stop_table[j])
            j = (j + 1) & (STOP_SLOTS - 1);
        stop_table[j] = stopwords[i];
    }
}

static int is_stopword(const char *w, size_t n)
{
    pthread_once(&stop_once, stop_build);
    for (unsigned j = stop_hash(w, n) & (STOP_SLOTS - 1); stop_table[j];
         j = (j + 1) & (STOP_SLOTS - 1))
        if (!strncmp(stop_table[j], w, n) && !stop_table[j][n])
            return 1;
    return 0;
}

typedef struct term {
    char *text;
    unsigned hash;
    int is_bigram;
    long df;
    long long last_doc; /* index+1 of the last document that counted it in df */
    long long tf_doc;   /* index+1 of the document whose tf list holds it... */
    size_t tf_pos;      /* ...at this position */
} term;

typedef struct doc_term {
    unsigned term;
    unsigned tf;
} doc_term;

typedef struct doc {
    long long id;
    doc_term *terms;
    size_t n_terms;
    ix_keyword *kw;
    size_t n_kw;
} doc;

struct ix_keywords {
    pgr_arena arena;
    term *terms;
    size_t n_terms, cap_terms;
    unsigned *slots; /* open addressing: term index + 1, 0 = empty */
    size_t n_slots;
    doc *docs;
    size_t n_docs, cap_docs;
    int computed;
};

static unsigned fnv1a(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

ix_keywords *ix_keywords_new(void)
{
    ix_keywords *kw = calloc(1, sizeof *kw);
    if (!kw)
        return NULL;
    kw->arena.chunk_size = 1 << 20;
    return kw;
}

void ix_keywords_free(ix_keywords *kw)
{
    if (!kw)
        return;
    for (size_t i = 0; i < kw->n_docs; i++) {
        free(kw->docs[i].terms);
        free(kw->docs[i].kw);
    }
    free(kw->docs);
    free(kw->terms);
    free(kw->slots);
    pgr_arena_free(&kw->arena);
    free(kw);
}

static int grow_slots(ix_keywords *kw)
{
    size_t n = kw->n_slots ? kw->n_slots * 2 : 1024;
    unsigned *s = calloc(n, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < kw->n_terms; i++) {
        size_t j = kw->terms[i].hash & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = (unsigned)i + 1;
    }
    free(kw->slots);
    kw->slots = s;
    kw->n_slots = n;
    return 0;
}

/* Returns the term index of text[0..n), interning it; -1 on OOM. */
static long intern(ix_keywords *kw, const char *text, size_t n, int is_bigram)
{
    if ((kw->n_terms + 1) * 2 > kw->n_slots && grow_slots(kw) < 0)
        return -1;
    unsigned h = fnv1a(text, n);
    size_t j = h & (kw->n_slots - 1);
    while (kw->slots[j]) {
        term *t = &kw->terms[kw->slots[j] - 1];
        if (t->hash == h && !strncmp(t->text, text, n) && t->text[n] == 0)
            return (long)kw->slots[j] - 1;
        j = (j + 1) & (kw->n_slots - 1);
    }
    if (kw->n_terms == kw->cap_terms) {
        size_t cap = kw->cap_terms ? kw->cap_terms * 2 : 1024;
        term *nt = realloc(kw->terms, cap * sizeof *nt);
        if (!nt)
            return -1;
        kw->terms = nt;
        kw->cap_terms = cap;
    }
    char *copy = pgr_arena_strndup(&kw->arena, text, n);
    if (!copy)
        return -1;
    term *t = &kw->terms[kw->n_terms];
    t->text = copy;
    t->hash = h;
    t->is_bigram = is_bigram;
    t->df = 0;
    t->last_doc = 0;
    t->tf_doc = 0;
    t->tf_pos = 0;
    kw->slots[j] = (unsigned)kw->n_terms + 1;
    return (long)kw->n_terms++;
}

/* Per-document accumulation of term counts, in order of first use. A term
 * finds its entry through term.tf_doc / tf_pos (a linear search of the list
 * per word was the pass's largest cost: ~250 terms a document). */
typedef struct {
    doc_term *v;
    size_t n, cap;
    long long doc; /* the document's index + 1 */
} tf_list;

static int tf_add(ix_keywords *kw, tf_list *l, unsigned t, unsigned times)
{
    term *tm = &kw->terms[t];
    if (tm->tf_doc == l->doc && tm->tf_pos < l->n && l->v[tm->tf_pos].term == t) {
        l->v[tm->tf_pos].tf += times;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        doc_term *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    tm->tf_doc = l->doc;
    tm->tf_pos = l->n;
    l->v[l->n].term = t;
    l->v[l->n].tf = times;
    l->n++;
    return 0;
}

static int cp_is_word(utf8proc_int32_t c)
{
    if (c < 0x80)
        return isalnum(c);
    utf8proc_category_t cat = utf8proc_category(c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/* utf8proc_iterate with the ASCII byte answered here (most of the text). */
static utf8proc_ssize_t next_cp(const char *f, size_t i, size_t n, utf8proc_int32_t *c)
{
    unsigned char b = (unsigned char)f[i];
    if (b < 0x80) {
        *c = b;
        return 1;
    }
    return utf8proc_iterate((const utf8proc_uint8_t *)f + i, (utf8proc_ssize_t)(n - i), c);
}

static int is_number(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)w[i]) && w[i] != '-' && w[i] != '.')
            return 0;
    return 1;
}

/* Tokenises folded text and counts its terms (times = weight of this field). */
static int count_terms(ix_keywords *kw, const char *f, size_t n, unsigned times, tf_list *l)
{
    char prev[128];
    size_t prev_len = 0;
    char word[128];
    char pair[260];
    size_t i = 0;
    while (i < n) {
        /* skip to a word, noting phrase breaks */
        int brk = 0;
        while (i < n) {
            utf8proc_int32_t c;
            utf8proc_ssize_t k = next_cp(f, i, n, &c);
            if (k <= 0) {
                i++;
                brk = 1;
                continue;
            }
            if (cp_is_word(c))
                break;
            if (c != ' ' && c != '-' && c != '\'')
                brk = 1; /* sentence or clause punctuation ends a phrase */
            i += (size_t)k;
        }
        if (i >= n)
            break;
        size_t wl = 0;
        int too_long = 0;
        while (i < n) {
            utf8proc_int32_t c;
            utf8proc_ssize_t k = next_cp(f, i, n, &c);
            if (k <= 0)
                break;
            int inner_hyphen = c == '-' && wl > 0 && i + 1 < n &&
                               isalnum((unsigned char)f[i + 1]);
            if (!cp_is_word(c) && !inner_hyphen)
                break;
            if (wl + (size_t)k < sizeof word)
                memcpy(word + wl, f + i, (size_t)k), wl += (size_t)k;
            else
                too_long = 1;
            i += (size_t)k;
        }
        word[wl] = 0;
        if (brk)
            prev_len = 0;
        if (too_long || wl < 2 || is_stopword(word, wl) || is_number(word, wl)) {
            prev_len = 0;
            continue;
        }
        long t = intern(kw, word, wl, 0);
        if (t < 0 || tf_add(kw, l, (unsigned)t, times) < 0)
            return -1;
        if (prev_len) {
            memcpy(pair, prev, prev_len);
            pair[prev_len] = ' ';
            memcpy(pair + prev_len + 1, word, wl);
            long b = intern(kw, pair, prev_len + 1 + wl, 1);
            if (b < 0 || tf_add(kw, l, (unsigned)b, times) < 0)
                return -1;
        }
        memcpy(prev, word, wl);
        prev_len = wl;
    }
    return 0;
}

int ix_keywords_add(ix_keywords *kw, long long doc_id, const char *title, const char *abstract,
                    pgr_err *err)
{
    pgr_sb lx = {0}, f = {0};
    tf_list l = {.doc = (long long)kw->n_docs + 1};
    int rc = -1;
    const char *fields[2] = {title, abstract};
    for (int k = 0; k < 2; k++) {
        if (!fields[k])
            continue;
        pgr_sb_reset(&lx);
        pgr_sb_reset(&f);
        if (ix_latex_fold(fields[k], &lx, err) < 0 || ix_fold(lx.data ? lx.data : "", &f, err) < 0)
            goto cleanup;
        /* the title counts twice: it is the author's own summary */
        if (count_terms(kw, f.data ? f.data : "", f.len, k == 0 ? 2 : 1, &l) < 0) {
            pgr_errf(err, PGR_ENOMEM, "out of memory counting keywords");
            goto cleanup;
        }
    }
    if (kw->n_docs == kw->cap_docs) {
        size_t cap = kw->cap_docs ? kw->cap_docs * 2 : 256;
        doc *nd = realloc(kw->docs, cap * sizeof *nd);
        if (!nd) {
            pgr_errf(err, PGR_ENOMEM, "out of memory adding a keyword document");
            goto cleanup;
        }
        kw->docs = nd;
        kw->cap_docs = cap;
    }
    doc *d = &kw->docs[kw->n_docs++];
    memset(d, 0, sizeof *d);
    d->id = doc_id;
    d->terms = l.v;
    d->n_terms = l.n;
    l.v = NULL;
    for (size_t i = 0; i < d->n_terms; i++) { /* df counts a document once per term */
        term *t = &kw->terms[d->terms[i].term];
        if (t->last_doc != (long long)kw->n_docs) {
            t->last_doc = (long long)kw->n_docs;
            t->df++;
        }
    }
    kw->computed = 0;
    rc = 0;
cleanup:
    free(l.v);
    pgr_sb_free(&lx);
    pgr_sb_free(&f);
    return rc;
}

typedef struct {
    const term *t;
    double score;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->t->df != y->t->df)
        return x->t->df > y->t->df ? -1 : 1;
    return strcmp(x->t->text, y->t->text);
}

static int cmp_doc_id(const void *a, const void *b)
{
    const doc *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Is the unigram u one of the words of bigram b? */
static int word_in_bigram(const char *u, const char *b)
{
    size_t n = strlen(u);
    const char *sp = strchr(b, ' ');
    if (!sp)
        return 0;
    return ((size_t)(sp - b) == n && !strncmp(b, u, n)) || !strcmp(sp + 1, u);
}

int ix_keywords_compute(ix_keywords *kw, int min_df, double max_df_ratio, int k, pgr_err *err)
{
    if (min_df < 1 || k < 1)
        return pgr_errf(err, PGR_EINVAL, "keywords: min_df and k must be >= 1");
    /* documents in id order, so lookups are a binary search and the output
     * never depends on the order of ix_keywords_add calls */
    qsort(kw->docs, kw->n_docs, sizeof *kw->docs, cmp_doc_id);
    for (size_t i = 1; i < kw->n_docs; i++)
        if (kw->docs[i].id == kw->docs[i - 1].id)
            return pgr_errf(err, PGR_EINVAL, "keywords: document id %lld added twice",
                            kw->docs[i].id);
    double N = (double)kw->n_docs;
    double max_df = kw->n_docs >= 20 ? max_df_ratio * N : N;
    cand *c = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < kw->n_docs; i++) {
        doc *d = &kw->docs[i];
        free(d->kw);
        d->kw = NULL;
        d->n_kw = 0;
        if (d->n_terms > cap) {
            cand *nc = realloc(c, d->n_terms * sizeof *nc);
            if (!nc) {
                free(c);
                return pgr_errf(err, PGR_ENOMEM, "out of memory ranking keywords");
            }
            c = nc;
            cap = d->n_terms;
        }
        size_t nc = 0;
        for (size_t j = 0; j < d->n_terms; j++) {
            const term *t = &kw->terms[d->terms[j].term];
            if (t->df < min_df || (double)t->df > max_df)
                continue;
            double idf = 1.0 + log((1.0 + N) / (1.0 + (double)t->df));
            double s = (double)d->terms[j].tf * idf * (t->is_bigram ? 1.5 : 1.0);
            /* round so that the order never depends on floating-point noise */
            c[nc].t = t;
            c[nc].score = round(s * 1e6) / 1e6;
            nc++;
        }
        qsort(c, nc, sizeof *c, cmp_cand);
        d->kw = calloc((size_t)k, sizeof *d->kw);
        if (!d->kw) {
            free(c);
            return pgr_errf(err, PGR_ENOMEM, "out of memory ranking keywords");
        }
        for (size_t j = 0; j < nc && d->n_kw < (size_t)k; j++) {
            int covered = 0;
            if (!c[j].t->is_bigram)
                for (size_t q = 0; q < d->n_kw && !covered; q++)
                    covered = strchr(d->kw[q].term, ' ') &&
                              word_in_bigram(c[j].t->text, d->kw[q].term);
            if (covered)
                continue;
            d->kw[d->n_kw].term = c[j].t->text;
            d->kw[d->n_kw].score = c[j].score;
            d->n_kw++;
        }
    }
    free(c);
    kw->computed = 1;
    return 0;
}

size_t ix_keywords_of(const ix_keywords *kw, long long doc_id, const ix_keyword **out)
{
    *out = NULL;
    if (!kw->computed)
        return 0;
    size_t lo = 0, hi = kw->n_docs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kw->docs[mid].id < doc_id)
            lo = mid + 1;
        else if (kw->docs[mid].id > doc_id)
            hi = mid;
        else {
            *out = kw->docs[mid].kw;
            return kw->docs[mid].n_kw;
        }
    }
    return 0;
}

size_t ix_keywords_n_docs(const ix_keywords *kw)
{
    return kw->computed ? kw->n_docs : 0;
}

size_t ix_keywords_at(const ix_keywords *kw, size_t i, long long *doc_id, const ix_keyword **out)
{
    *out = NULL;
    *doc_id = 0;
    if (!kw->computed || i >= kw->n_docs)
        return 0;
    *doc_id = kw->docs[i].id;
    *out = kw->docs[i].kw;
    return kw->docs[i].n_kw;
}
