/* The graph builder (see builder.h for the identity rules). */
#include "indexer/builder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "indexer/normalize.h"

#if __has_include("indexer/inflate.h")
#include "indexer/inflate.h"
#define IX_HAVE_GUNZIP 1
#endif

/* Most same-name candidates examined for evidence per author name: a common
 * name ("Wei Wang") can have hundreds of distinct authors; the lowest ids are
 * the oldest, best-attested ones. */
#define MAX_CANDIDATES 64

typedef struct id_vec {
    pgr_id *v;
    size_t n, cap;
} id_vec;

static int idv_push(id_vec *iv, pgr_id id)
{
    if (iv->n == iv->cap) {
        size_t cap = iv->cap ? iv->cap * 2 : 16;
        pgr_id *nv = realloc(iv->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        iv->v = nv;
        iv->cap = cap;
    }
    iv->v[iv->n++] = id;
    return 0;
}

static int idv_has(const id_vec *iv, pgr_id id)
{
    for (size_t i = 0; i < iv->n; i++)
        if (iv->v[i] == id)
            return 1;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    pgr_id x = *(const pgr_id *)a, y = *(const pgr_id *)b;
    return x < y ? -1 : x > y;
}

/* Sorts and removes duplicates. */
static void idv_uniq(id_vec *iv)
{
    if (!iv->n)
        return;
    qsort(iv->v, iv->n, sizeof *iv->v, cmp_id);
    size_t o = 1;
    for (size_t i = 1; i < iv->n; i++)
        if (iv->v[i] != iv->v[o - 1])
            iv->v[o++] = iv->v[i];
    iv->n = o;
}

/* Is there an id in both sorted arrays? Returns it or 0. */
static pgr_id sorted_common(const pgr_id *a, size_t na, const pgr_id *b, size_t nb)
{
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j])
            return a[i];
        if (a[i] < b[j])
            i++;
        else
            j++;
    }
    return 0;
}

/* Inserts id into a sorted vector (no duplicates). */
static int idv_insert_sorted(id_vec *iv, pgr_id id)
{
    size_t lo = 0, hi = iv->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (iv->v[mid] < id)
            lo = mid + 1;
        else if (iv->v[mid] > id)
            hi = mid;
        else
            return 0;
    }
    if (idv_push(iv, id) < 0)
        return -1;
    memmove(iv->v + lo + 1, iv->v + lo, (iv->n - 1 - lo) * sizeof *iv->v);
    iv->v[lo] = id;
    return 0;
}

static int idv_sorted_has(const id_vec *iv, pgr_id id)
{
    return iv->n && bsearch(&id, iv->v, iv->n, sizeof *iv->v, cmp_id) != NULL;
}

static void idv_remove(id_vec *iv, pgr_id id)
{
    for (size_t i = 0; i < iv->n; i++)
        if (iv->v[i] == id) {
            memmove(iv->v + i, iv->v + i + 1, (iv->n - i - 1) * sizeof *iv->v);
            iv->n--;
            return;
        }
}

/* Per-file caches of what identity decisions read over and over: the
 * authors under each normalised name, and each author's co-authors. They
 * mirror the database as this file's transaction sees it (every write is
 * applied to both), and are dropped at the end of the file, so a rollback
 * can never leave them stale. Both are open-addressing tables whose size is
 * a power of two. */
typedef struct name_slot {
    char *key; /* NULL = empty */
    unsigned hash;
    id_vec ids; /* sorted */
} name_slot;

typedef struct co_slot {
    pgr_id id; /* 0 = empty */
    id_vec co; /* sorted */
} co_slot;

typedef struct caches {
    name_slot *names;
    size_t n_names, cap_names;
    co_slot *co;
    size_t n_co, cap_co;
} caches;

static unsigned str_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static size_t id_hash(pgr_id id)
{
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ull;
    return (size_t)(x ^ (x >> 29));
}

static void caches_clear_co(caches *c)
{
    for (size_t i = 0; i < c->cap_co; i++)
        free(c->co[i].co.v);
    free(c->co);
    c->co = NULL;
    c->n_co = c->cap_co = 0;
}

static void caches_clear(caches *c)
{
    for (size_t i = 0; i < c->cap_names; i++) {
        free(c->names[i].key);
        free(c->names[i].ids.v);
    }
    free(c->names);
    c->names = NULL;
    c->n_names = c->cap_names = 0;
    caches_clear_co(c);
}

static name_slot *name_find(caches *c, const char *key, unsigned h)
{
    if (!c->cap_names)
        return NULL;
    for (size_t j = h & (c->cap_names - 1);; j = (j + 1) & (c->cap_names - 1)) {
        name_slot *sl = &c->names[j];
        if (!sl->key)
            return NULL;
        if (sl->hash == h && !strcmp(sl->key, key))
            return sl;
    }
}

static int name_grow(caches *c)
{
    size_t cap = c->cap_names ? c->cap_names * 2 : 1024;
    name_slot *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < c->cap_names; i++) {
        if (!c->names[i].key)
            continue;
        size_t j = c->names[i].hash & (cap - 1);
        while (ns[j].key)
            j = (j + 1) & (cap - 1);
        ns[j] = c->names[i];
    }
    free(c->names);
    c->names = ns;
    c->cap_names = cap;
    return 0;
}

static co_slot *co_find(caches *c, pgr_id id)
{
    if (!c->cap_co)
        return NULL;
    for (size_t j = id_hash(id) & (c->cap_co - 1);; j = (j + 1) & (c->cap_co - 1)) {
        if (!c->co[j].id)
            return NULL;
        if (c->co[j].id == id)
            return &c->co[j];
    }
}

static co_slot *co_add(caches *c, pgr_id id)
{
    if ((c->n_co + 1) * 2 > c->cap_co) {
        size_t cap = c->cap_co ? c->cap_co * 2 : 1024;
        co_slot *ns = calloc(cap, sizeof *ns);
        if (!ns)
            return NULL;
        for (size_t i = 0; i < c->cap_co; i++) {
            if (!c->co[i].id)
                continue;
            size_t j = id_hash(c->co[i].id) & (cap - 1);
            while (ns[j].id)
                j = (j + 1) & (cap - 1);
            ns[j] = c->co[i];
        }
        free(c->co);
        c->co = ns;
        c->cap_co = cap;
    }
    size_t j = id_hash(id) & (c->cap_co - 1);
    while (c->co[j].id)
        j = (j + 1) & (c->cap_co - 1);
    c->co[j].id = id;
    c->n_co++;
    return &c->co[j];
}

/* What the owner step needs to know about each work of the file. */
typedef struct file_work {
    pgr_id work;
    int n_visible; /* authors printed */
} file_work;

/* A copy of the profile record (the parser's memory is gone by file end). */
typedef struct profile_copy {
    int present;
    char *site, *owner_name, *runner_up, *evidence;
    ix_owner_method method;
    double confidence, runner_up_confidence;
    ix_claim *claims;
    size_t n_claims;
} profile_copy;

/* Per-file cache of topic ids ("scheme\x1fcode" -> id); valid only inside the
 * file's transaction (a rollback may forget the rows). Open addressing, size
 * a power of two: the keyword pass looks up five topics per work of the
 * corpus, so a linear list here made that pass quadratic. */
typedef struct topic_slot {
    char *key; /* NULL = empty */
    unsigned hash;
    pgr_id id;
} topic_slot;

typedef struct topic_cache {
    topic_slot *slots;
    size_t n, cap;
} topic_cache;

struct ix_builder {
    pgr_store *s;
    pgr_id run_id;
    int keywords;          /* recompute keyword topics at the end of the run */
    ix_stats stats;
    id_vec touched;        /* authors touched by committed files */
    int replaced_any;      /* a changed file replaced older facts */
    int bulk_loaded;       /* a file went in with deferred indexes: so do the metrics */
    /* the open source */
    int open;
    pgr_id src;
    char capture_date[11];
    char *uri;
    file_work *fw;
    size_t n_fw, cap_fw;
    profile_copy prof;
    char *owner_norm;      /* the profile owner's name key, once known */
    pgr_id owner_id;       /* the author the owner's name resolved to on this page */
    topic_cache topics;
    caches cache;
    /* The graph had no authors when this file began, and every author name
     * written since went through the names cache (new authors, variants of
     * cached names): a name not in the cache has no candidates, and asking
     * the store (a round trip on PostgreSQL, once per distinct name: ~50k
     * in a 20k-record arXiv file) would only confirm it. Cleared by the
     * writes that bypass the cache (external ids, author records). */
    int names_fresh;
    id_vec page_authors;   /* authors printed on this profile page's entries */
    id_vec file_touched;
    ix_stats file_stats;   /* added to stats on commit */
    pgr_arena arena;       /* per-file scratch (profile copy) */
    pgr_sb k1, k2;         /* key scratch */
};

static int oom(pgr_err *err)
{
    return pgr_errf(err, PGR_ENOMEM, "out of memory while building the graph");
}

int ix_builder_new(pgr_store *s, pgr_id run_id, ix_builder **out, pgr_err *err)
{
    ix_builder *b = calloc(1, sizeof *b);
    if (!b)
        return oom(err);
    b->s = s;
    b->run_id = run_id;
    b->keywords = 1;
    *out = b;
    return 0;
}

static void topic_cache_clear(topic_cache *tc)
{
    for (size_t i = 0; i < tc->cap; i++) {
        free(tc->slots[i].key);
        tc->slots[i].key = NULL;
    }
    tc->n = 0;
}

static void file_reset(ix_builder *b)
{
    b->open = 0;
    b->src = 0;
    free(b->uri);
    b->uri = NULL;
    b->n_fw = 0;
    memset(&b->prof, 0, sizeof b->prof);
    free(b->owner_norm);
    b->owner_norm = NULL;
    b->owner_id = 0;
    topic_cache_clear(&b->topics);
    caches_clear(&b->cache);
    b->names_fresh = 0;
    b->page_authors.n = 0;
    b->file_touched.n = 0;
    memset(&b->file_stats, 0, sizeof b->file_stats);
    pgr_arena_reset(&b->arena);
}

void ix_builder_free(ix_builder *b)
{
    if (!b)
        return;
    if (b->open)
        pgr_rollback(b->s, NULL);
    file_reset(b);
    free(b->topics.slots);
    free(b->fw);
    free(b->touched.v);
    free(b->file_touched.v);
    free(b->page_authors.v);
    pgr_arena_free(&b->arena);
    pgr_sb_free(&b->k1);
    pgr_sb_free(&b->k2);
    free(b);
}

void ix_builder_set_keywords(ix_builder *b, int on)
{
    b->keywords = on;
}

const ix_stats *ix_builder_stats(const ix_builder *b)
{
    return &b->stats;
}

/* ---- keys --------------------------------------------------------------- */

/* Normalised full name key into a new malloc'd string ("" for an empty name). */
static char *name_key(const char *name, pgr_err *err)
{
    pgr_sb sb = {0};
    if (ix_name_keys(name ? name : "", &sb, NULL, err) < 0) {
        pgr_sb_free(&sb);
        return NULL;
    }
    char *s = pgr_sb_steal(&sb);
    if (!s)
        oom(err);
    return s;
}

/* ---- topics ------------------------------------------------------------- */

static topic_slot *topic_slot_for(topic_cache *tc, const char *key, unsigned h)
{
    for (size_t j = h & (tc->cap - 1);; j = (j + 1) & (tc->cap - 1)) {
        topic_slot *sl = &tc->slots[j];
        if (!sl->key || (sl->hash == h && !strcmp(sl->key, key)))
            return sl;
    }
}

/* The cache key of (scheme, code) into b->k2; its hash in *h. NULL: no memory. */
static const char *topic_key(ix_builder *b, const char *scheme, const char *code, unsigned *h)
{
    pgr_sb *k = &b->k2;
    pgr_sb_reset(k);
    pgr_sb_puts(k, scheme);
    pgr_sb_putc(k, '\x1f');
    pgr_sb_puts(k, code);
    if (!pgr_sb_ok(k))
        return NULL;
    *h = str_hash(k->data);
    return k->data;
}

static topic_slot *topic_cached(ix_builder *b, const char *key, unsigned h)
{
    if (!b->topics.cap)
        return NULL;
    topic_slot *sl = topic_slot_for(&b->topics, key, h);
    return sl->key ? sl : NULL;
}

static int topic_cache_add(ix_builder *b, const char *key, unsigned h, pgr_id id, pgr_err *err);

static int topic_id(ix_builder *b, const char *scheme, const char *code, const char *name,
                    pgr_id *id, pgr_err *err)
{
    unsigned h;
    const char *key = topic_key(b, scheme, code, &h);
    if (!key)
        return oom(err);
    topic_slot *sl = topic_cached(b, key, h);
    if (sl) {
        *id = sl->id;
        return 0;
    }
    if (pgr_topic_upsert(b->s, scheme, code, name, id, err) < 0)
        return -1;
    return topic_cache_add(b, key, h, *id, err);
}

/* key: b->k2's text (copied here). */
static int topic_cache_add(ix_builder *b, const char *key, unsigned h, pgr_id id, pgr_err *err)
{
    topic_cache *tc = &b->topics;
    if ((tc->n + 1) * 2 > tc->cap) {
        size_t cap = tc->cap ? tc->cap * 2 : 256;
        topic_slot *ns = calloc(cap, sizeof *ns);
        if (!ns)
            return oom(err);
        topic_cache old = *tc;
        tc->slots = ns;
        tc->cap = cap;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].key)
                *topic_slot_for(tc, old.slots[i].key, old.slots[i].hash) = old.slots[i];
        free(old.slots);
    }
    char *copy = strdup(key);
    if (!copy)
        return oom(err);
    topic_slot *sl = topic_slot_for(tc, copy, h);
    sl->key = copy;
    sl->hash = h;
    sl->id = id;
    tc->n++;
    return 0;
}

/* A work's topic as the graph keeps it: site short codes become the arXiv
 * category they abbreviate, arXiv categories get their names from the
 * taxonomy; unknown site codes stay as scheme "site". */
static int put_topic(ix_builder *b, pgr_id work, const ix_topic_ref *t, pgr_err *err)
{
    if (!t->scheme || !t->code || !*t->code)
        return 0;
    const char *scheme = t->scheme, *code = t->code, *name = t->name;
    if (!strcmp(scheme, "site")) {
        const char *cat = ix_site_code_category(code);
        if (cat) {
            scheme = "arxiv";
            code = cat;
            name = NULL;
        }
    }
    if (!strcmp(scheme, "arxiv") && !name)
        name = ix_arxiv_category_name(code);
    pgr_id tid;
    if (topic_id(b, scheme, code, name, &tid, err) < 0 ||
        pgr_topic_describe(b->s, tid, t->description, t->subfield, t->field, t->domain, err) < 0)
        return -1;
    double w = t->score;
    if (!isnan(w) && (w < 0 || w > 1))
        w = NAN; /* a weight outside 0..1 is not a weight we understand */
    return pgr_work_topic_put(b->s, b->src, work, tid, w, err);
}

/* ---- authors ------------------------------------------------------------ */

static int touch(ix_builder *b, pgr_id author, pgr_err *err)
{
    if (idv_push(&b->file_touched, author) < 0)
        return oom(err);
    return 0;
}

/* The (unmerged) authors under a normalised name, sorted; loaded from the
 * store on first use in this file. The pointer is valid until the next
 * names_get of a new name. */
static id_vec *names_get(ix_builder *b, const char *norm, pgr_err *err)
{
    caches *c = &b->cache;
    unsigned h = str_hash(norm);
    name_slot *sl = name_find(c, norm, h);
    if (sl)
        return &sl->ids;
    pgr_id *ids = NULL;
    size_t n = 0;
    if (!b->names_fresh && pgr_author_candidates(b->s, norm, &ids, &n, err) < 0)
        return NULL;
    if ((c->n_names + 1) * 2 > c->cap_names && name_grow(c) < 0) {
        free(ids);
        oom(err);
        return NULL;
    }
    size_t j = h & (c->cap_names - 1);
    while (c->names[j].key)
        j = (j + 1) & (c->cap_names - 1);
    sl = &c->names[j];
    sl->key = strdup(norm);
    if (!sl->key) {
        free(ids);
        oom(err);
        return NULL;
    }
    sl->hash = h;
    sl->ids.v = ids;
    sl->ids.n = sl->ids.cap = n;
    c->n_names++;
    return &sl->ids;
}

/* The co-authors of an author, sorted; loaded from the store on first use. */
static id_vec *co_get(ix_builder *b, pgr_id a, pgr_err *err)
{
    co_slot *sl = co_find(&b->cache, a);
    if (sl)
        return &sl->co;
    pgr_id *ids = NULL;
    size_t n = 0;
    if (pgr_author_coauthor_ids(b->s, a, &ids, &n, err) < 0)
        return NULL;
    sl = co_add(&b->cache, a);
    if (!sl) {
        free(ids);
        oom(err);
        return NULL;
    }
    sl->co.v = ids;
    sl->co.n = sl->co.cap = n;
    return &sl->co;
}

/* After a work's authors are decided: they are each other's co-authors. */
static int note_coauthors(ix_builder *b, const id_vec *authors, pgr_err *err)
{
    for (size_t i = 0; i < authors->n; i++) {
        co_slot *sl = co_find(&b->cache, authors->v[i]);
        if (!sl)
            continue; /* not cached: the store will answer with this work included */
        for (size_t j = 0; j < authors->n; j++)
            if (j != i && idv_insert_sorted(&sl->co, authors->v[j]) < 0)
                return oom(err);
    }
    if (b->prof.present)
        for (size_t i = 0; i < authors->n; i++)
            if (idv_insert_sorted(&b->page_authors, authors->v[i]) < 0)
                return oom(err);
    return 0;
}

/* Creates a new author with no external ids. */
static int new_author(ix_builder *b, const char *display, const char *norm, pgr_id *id,
                      pgr_err *err)
{
    pgr_author_rec ar = {.display_name = display, .norm_name = norm};
    int created = 0;
    if (pgr_author_upsert(b->s, b->src, 0, &ar, id, &created, err) < 0)
        return -1;
    b->file_stats.authors_added += created;
    id_vec *same = names_get(b, norm, err);
    if (!same || idv_insert_sorted(same, *id) < 0)
        return same ? oom(err) : -1;
    if (created && !co_find(&b->cache, *id) && !co_add(&b->cache, *id))
        return oom(err); /* a new author has no co-authors yet */
    return touch(b, *id, err);
}

/* The co-author cache after gone was merged into keep: keep has both sets,
 * and everyone who had gone as a co-author has keep instead. Both sets were
 * loaded before the merge. */
static int merge_coauthors(ix_builder *b, pgr_id keep, pgr_id gone, pgr_err *err)
{
    co_slot *g = co_find(&b->cache, gone);
    if (!g)
        return 0;
    id_vec gco = g->co; /* taken over: gone's slot keeps an empty set */
    memset(&g->co, 0, sizeof g->co);
    int rc = 0;
    for (size_t i = 0; i < gco.n && rc == 0; i++) {
        pgr_id x = gco.v[i];
        co_slot *k = co_find(&b->cache, keep);
        if (x != keep && k && idv_insert_sorted(&k->co, x) < 0)
            rc = oom(err);
        co_slot *xs = co_find(&b->cache, x);
        if (xs && rc == 0) {
            idv_remove(&xs->co, gone);
            if (x != keep && idv_insert_sorted(&xs->co, keep) < 0)
                rc = oom(err);
        }
    }
    co_slot *k = co_find(&b->cache, keep);
    if (k)
        idv_remove(&k->co, gone);
    free(gco.v);
    return rc;
}

/* Merges every id of ids (sorted) but the first into the first. */
static int merge_into_first(ix_builder *b, const id_vec *ids, const char *const *why,
                            const char *norm, pgr_err *err)
{
    for (size_t i = 1; i < ids->n; i++) {
        char ev[768];
        snprintf(ev, sizeof ev, "same normalised name \"%s\"; A%lld: %s; A%lld: %s (source %s)",
                 norm, (long long)ids->v[0], why[0], (long long)ids->v[i], why[i],
                 b->uri ? b->uri : "?");
        pgr_id mid, keep = ids->v[0], gone = ids->v[i];
        /* both co-author sets, as they are before the merge */
        if (!co_get(b, keep, err) || !co_get(b, gone, err))
            return -1;
        if (pgr_author_merge(b->s, keep, gone, ev, b->run_id, &mid, err) < 0)
            return -1;
        if (merge_coauthors(b, keep, gone, err) < 0)
            return -1;
        b->file_stats.merges++;
        /* the gone author is nobody's candidate any more; co-author sets
         * change shape: reload them from the store when next needed */
        id_vec *same = names_get(b, norm, err);
        if (!same)
            return -1;
        idv_remove(same, ids->v[i]);
        if (b->owner_id == ids->v[i])
            b->owner_id = ids->v[0];
        if (idv_sorted_has(&b->page_authors, ids->v[i])) {
            idv_remove(&b->page_authors, ids->v[i]);
            if (idv_insert_sorted(&b->page_authors, ids->v[0]) < 0)
                return oom(err);
        }
        if (touch(b, ids->v[i], err) < 0)
            return -1;
    }
    return 0;
}

/* gone was merged into keep by an id: the per-file caches are dropped (they
 * reload from the store) and the page's own bookkeeping follows keep. */
static int after_id_merge(ix_builder *b, pgr_id keep, pgr_id gone, pgr_err *err)
{
    caches_clear(&b->cache);
    b->file_stats.merges++;
    if (b->owner_id == gone)
        b->owner_id = keep;
    if (idv_sorted_has(&b->page_authors, gone)) {
        idv_remove(&b->page_authors, gone);
        if (idv_insert_sorted(&b->page_authors, keep) < 0)
            return oom(err);
    }
    return touch(b, gone, err);
}

/* An author named by external ids (an author record, or an authorship that
 * gives the author's OpenAlex id, ORCID or S2 id). An external id is identity
 * evidence: the authors the ids already belong to are one person, merged
 * (recorded, undoable) into the lowest with the shared id as evidence. An id
 * no author has yet joins that author: in its own column where that is
 * empty, else on a row of its own merged into it, so that every id goes on
 * finding the person. */
static int ext_id_author(ix_builder *b, const char *display, const char *norm, const char *orcid,
                         const char *openalex, const char *s2, pgr_id *out, int *created,
                         pgr_err *err)
{
    static const char *const kinds[3] = {"orcid", "openalex", "s2"};
    static const char *const labels[3] = {"ORCID", "OpenAlex author id", "Semantic Scholar author id"};
    const char *vals[3] = {orcid, openalex, s2};
    pgr_id found[3] = {0}, keep = 0;
    *created = 0;
    for (int k = 0; k < 3; k++) {
        if (vals[k] && pgr_author_find_ext(b->s, kinds[k], vals[k], &found[k], err) < 0)
            return -1;
        if (found[k] && (!keep || found[k] < keep))
            keep = found[k];
    }
    pgr_author_rec ar = {.display_name = display, .norm_name = norm};
    if (!keep) {
        ar.orcid = orcid, ar.openalex_id = openalex, ar.s2_id = s2;
        if (pgr_author_upsert(b->s, b->src, 0, &ar, out, created, err) < 0)
            return -1;
        b->file_stats.authors_added += *created;
        return touch(b, *out, err);
    }
    for (int k = 0; k < 3; k++) {
        if (!found[k] || found[k] == keep || (k > 0 && found[k] == found[k - 1]) ||
            (k > 1 && found[k] == found[0]))
            continue;
        char ev[512];
        snprintf(ev, sizeof ev, "same %s %s: A%lld and A%lld (an author record or authorship in %s)",
                 labels[k], vals[k], (long long)keep, (long long)found[k], b->uri ? b->uri : "?");
        pgr_id mid;
        if (pgr_author_merge(b->s, keep, found[k], ev, b->run_id, &mid, err) < 0 ||
            after_id_merge(b, keep, found[k], err) < 0)
            return -1;
    }
    ar.orcid = found[0] ? NULL : orcid;
    ar.openalex_id = found[1] ? NULL : openalex;
    ar.s2_id = found[2] ? NULL : s2;
    if (pgr_author_upsert(b->s, b->src, keep, &ar, out, NULL, err) < 0)
        return -1;
    for (int k = 0; k < 3; k++) {
        pgr_id now = 0, alias = 0, mid;
        int made = 0;
        if (!vals[k] || found[k])
            continue;
        if (pgr_author_find_ext(b->s, kinds[k], vals[k], &now, err) < 0)
            return -1;
        if (now)
            continue; /* it went into keep's own column */
        pgr_author_rec one = {.display_name = display, .norm_name = norm};
        if (k == 0)
            one.orcid = vals[k];
        else if (k == 1)
            one.openalex_id = vals[k];
        else
            one.s2_id = vals[k];
        char ev[512];
        snprintf(ev, sizeof ev, "%s %s named with A%lld's own ids (an author record or authorship in %s)",
                 labels[k], vals[k], (long long)keep, b->uri ? b->uri : "?");
        if (pgr_author_upsert(b->s, b->src, 0, &one, &alias, &made, err) < 0 ||
            pgr_author_merge(b->s, keep, alias, ev, b->run_id, &mid, err) < 0 ||
            after_id_merge(b, keep, alias, err) < 0)
            return -1;
    }
    return touch(b, keep, err);
}

/* Resolves the author at index i of a work to an author id (see builder.h).
 * cands[j] are the same-name candidates of every author j of the work
 * (sorted), used: ids already given to earlier positions of this work. */
static int resolve_author(ix_builder *b, pgr_id work, int work_existed, const ix_author_ref *r,
                          const char *norm, id_vec *cands, size_t n, size_t i,
                          const id_vec *used, pgr_id *out, int *fresh, pgr_err *err)
{
    int rc = -1;
    pgr_id *wids = NULL;
    size_t nw = 0;
    id_vec others = {0}, support = {0};
    char why[MAX_CANDIDATES][160];
    const char *whyp[MAX_CANDIDATES];
    const char *display = r->display_name ? r->display_name : r->raw_name;
    *fresh = 0;

    if (r->orcid || r->openalex_id || r->s2_id) { /* an external id decides */
        b->names_fresh = 0; /* its name is written past the names cache */
        int created = 0;
        rc = ext_id_author(b, display, norm, r->orcid, r->openalex_id, r->s2_id, out, &created,
                           err);
        goto cleanup;
    }
    for (size_t j = 0; j < n; j++)
        if (j != i)
            for (size_t q = 0; q < cands[j].n; q++)
                if (idv_push(&others, cands[j].v[q]) < 0) {
                    oom(err);
                    goto cleanup;
                }
    /* the page's owner is an author of every entry of the page, printed or
     * hidden by a truncated list: a co-author of everyone on it */
    if (b->owner_id && !(b->owner_norm && !strcmp(norm, b->owner_norm)) &&
        idv_push(&others, b->owner_id) < 0) {
        oom(err);
        goto cleanup;
    }
    idv_uniq(&others);
    for (size_t q = 0; q < cands[i].n && support.n < MAX_CANDIDATES; q++) {
        pgr_id c = cands[i].v[q];
        if (idv_has(used, c))
            continue; /* one person appears once on a work */
        int ok = 0;
        if (work_existed) {
            free(wids);
            wids = NULL;
            if (pgr_author_work_ids(b->s, c, &wids, &nw, err) < 0)
                goto cleanup;
            for (size_t k = 0; k < nw && !ok; k++)
                if (wids[k] == work) {
                    ok = 1;
                    snprintf(why[support.n], sizeof why[0], "already an author of W%lld",
                             (long long)work);
                }
        }
        if (!ok && b->prof.present && idv_sorted_has(&b->page_authors, c)) {
            ok = 1;
            snprintf(why[support.n], sizeof why[0],
                     "printed on another entry of this profile page (a co-author of its owner)");
        }
        if (!ok && others.n) {
            id_vec *co = co_get(b, c, err);
            if (!co)
                goto cleanup;
            pgr_id shared = sorted_common(co->v, co->n, others.v, others.n);
            if (shared) {
                ok = 1;
                snprintf(why[support.n], sizeof why[0],
                         "co-author A%lld shares a name with a co-author on W%lld",
                         (long long)shared, (long long)work);
            }
        }
        if (ok) {
            whyp[support.n] = why[support.n];
            if (idv_push(&support, c) < 0) {
                oom(err);
                goto cleanup;
            }
        }
    }
    if (!support.n) {
        rc = new_author(b, display, norm, out, err);
        *fresh = rc == 0;
        goto cleanup;
    }
    /* candidates are in ascending id order, so support.v[0] is the lowest */
    if (merge_into_first(b, &support, whyp, norm, err) < 0)
        goto cleanup;
    *out = support.v[0];
    rc = touch(b, *out, err);
cleanup:
    free(wids);
    free(others.v);
    free(support.v);
    return rc;
}

/* Names the record the next writes come from, so that a write that fails
 * (on PostgreSQL possibly at a later record's round trip, or at commit)
 * names it: "line 12", "line 1: record 3" (3rd entry of a listing). */
static void set_place(ix_builder *b, long line, long position)
{
    char place[64];
    if (line > 0 && position > 0)
        snprintf(place, sizeof place, "line %ld: record %ld", line, position);
    else if (line > 0)
        snprintf(place, sizeof place, "line %ld", line);
    else if (position > 0)
        snprintf(place, sizeof place, "record %ld", position);
    else
        place[0] = '\0';
    pgr_set_place(b->s, place[0] ? place : NULL);
}

static int sink_work(void *ctx, const ix_work *w, pgr_err *err)
{
    ix_builder *b = ctx;
    int rc = -1;
    char **norms = NULL;
    id_vec *cands = NULL;
    id_vec used = {0};
    pgr_sb *tk = &b->k1;
    size_t n = w->n_authors;

    set_place(b, w->line, w->position);
    if (!w->title || !*w->title)
        return pgr_errf(err, PGR_EINVAL, "line %ld: work without a title", w->line);
    pgr_sb_reset(tk);
    if (ix_title_key(w->title, tk, err) < 0) {
        pgr_err_prefix(err, "line %ld: title", w->line);
        return -1;
    }
    if (!tk->len)
        return pgr_errf(err, PGR_EINVAL, "line %ld: title has no letters or digits: \"%.60s\"",
                        w->line, w->title);
    pgr_work_rec wr = {
        .arxiv_id = w->arxiv_id,
        .doi = w->doi,
        .openalex_id = w->openalex_id,
        .s2_id = w->s2_id,
        .title = w->title,
        .norm_title = tk->data,
        .year = w->year,
        .date = w->date,
        .type = w->type,
        .venue = w->venue,
        .abstract = w->abstract,
        .authors_truncated = w->authors_truncated,
        .cited_by_count = w->cited_by_count,
        .has_code = w->has_code,
        .score = w->score,
        .arxiv_version = w->arxiv_version,
        .language = w->language,
        .tldr = w->tldr,
        .tldr_model = w->tldr_model,
    };
    pgr_id wid;
    int created = 0;
    /* store errors are not prefixed with the line here: parsers add the
     * place of the record whose sink call failed */
    if (pgr_work_upsert(b->s, b->src, 0, &wr, &wid, &created, err) < 0)
        return -1;
    if (created)
        b->file_stats.works_added++;
    else
        b->file_stats.works_updated++;
    b->file_stats.records++;

    for (size_t i = 0; i < w->n_topics; i++)
        if (put_topic(b, wid, &w->topics[i], err) < 0)
            goto fail;
    for (size_t i = 0; i < w->n_counts_by_year; i++) {
        const ix_year_count *yc = &w->counts_by_year[i];
        if (pgr_work_counts_put(b->s, b->src, wid, yc->year, yc->cited_by_count, err) < 0)
            goto fail;
    }
    for (size_t i = 0; i < w->n_references; i++)
        if (w->references[i] && *w->references[i] &&
            pgr_citation_put(b->s, b->src, wid, w->references[i], 0, err) < 0)
            goto fail;

    /* authors: candidates of every name first (co-author evidence needs them) */
    if (n) {
        norms = calloc(n, sizeof *norms);
        cands = calloc(n, sizeof *cands);
        if (!norms || !cands) {
            oom(err);
            goto fail;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const ix_author_ref *r = &w->authors[i];
        const char *name = r->display_name ? r->display_name : r->raw_name;
        norms[i] = name_key(name, err);
        if (!norms[i])
            goto fail;
        if (!*norms[i])
            continue;
        id_vec *same = names_get(b, norms[i], err);
        if (!same)
            goto fail;
        /* a copy: the cache changes as authors are created below */
        for (size_t q = 0; q < same->n; q++)
            if (idv_push(&cands[i], same->v[q]) < 0) {
                oom(err);
                goto fail;
            }
    }
    file_work fw = {.work = wid, .n_visible = (int)n};
    for (size_t i = 0; i < n; i++) {
        const ix_author_ref *r = &w->authors[i];
        if (!*norms[i])
            continue; /* a name with no letters: nothing to link */
        pgr_id aid;
        int fresh = 0;
        int is_owner = b->owner_norm && !strcmp(norms[i], b->owner_norm);
        if (is_owner && b->owner_id && !idv_has(&used, b->owner_id)) {
            /* the page is the evidence: its owner's name is the owner on
             * every entry of the page */
            aid = b->owner_id;
            if (touch(b, aid, err) < 0)
                goto fail;
        } else if (resolve_author(b, wid, !created, r, norms[i], cands, n, i, &used, &aid,
                                  &fresh, err) < 0) {
            goto fail;
        }
        if (is_owner && !b->owner_id)
            b->owner_id = aid;
        if (idv_has(&used, aid))
            continue; /* the same person printed twice (external id): keep the first */
        if (idv_push(&used, aid) < 0) {
            oom(err);
            goto fail;
        }
        const char *raw = r->raw_name ? r->raw_name : r->display_name;
        const char *display = r->display_name ? r->display_name : r->raw_name;
        /* a variant says "also printed as": an author just created under
         * this very name needs none */
        int same_as_display = fresh && raw && display && !strcmp(raw, display);
        if ((!same_as_display && pgr_author_add_variant(b->s, b->src, aid, raw, norms[i], err) < 0) ||
            pgr_authorship_put(b->s, b->src, wid, aid, (int)i + 1, raw, r->affiliation, 0, err) <
                0)
            goto fail;
        /* later names of this work see this one as a candidate with evidence */
        if (idv_push(&cands[i], aid) < 0) {
            oom(err);
            goto fail;
        }
        idv_uniq(&cands[i]);
    }
    if (note_coauthors(b, &used, err) < 0)
        goto fail;
    /* remembered for the owner step at file end (the profile record may
     * come before or after the works) */
    if (b->n_fw == b->cap_fw) {
        size_t cap = b->cap_fw ? b->cap_fw * 2 : 64;
        file_work *nf = realloc(b->fw, cap * sizeof *nf);
        if (!nf) {
            oom(err);
            goto fail;
        }
        b->fw = nf;
        b->cap_fw = cap;
    }
    b->fw[b->n_fw++] = fw;
    rc = 0;
    goto cleanup;
fail:
cleanup:
    for (size_t i = 0; i < n; i++) {
        if (norms)
            free(norms[i]);
        if (cands)
            free(cands[i].v);
    }
    free(norms);
    free(cands);
    free(used.v);
    return rc;
}

/* The author record as the source identifies it: its first id, else its
 * name ("openalex:A5023888391", "s2:2262347"). Keys the record's claims, so a
 * merge that re-points them never makes two records' rows collide. */
static int record_key(const ix_author *a, pgr_sb *out, pgr_err *err)
{
    const char *const pre[] = {"openalex:", "s2:", "orcid:", "name:"};
    const char *const val[] = {a->openalex_id, a->s2_id, a->orcid, a->display_name};
    for (int k = 0; k < 4 && !out->len; k++)
        if (val[k] && *val[k]) {
            pgr_sb_puts(out, pre[k]);
            pgr_sb_puts(out, val[k]);
        }
    return pgr_sb_ok(out) ? 0 : oom(err);
}

/* What an author record says of the author's topics (OpenAlex topics with
 * their counts, topic_share, x_concepts) is that source's claim: stored with
 * the source's figures under the record's own id, never folded into the
 * computed author topics. */
static int author_topic_claims(ix_builder *b, const ix_author *a, pgr_id aid, const char *record,
                               const char *date, pgr_err *err)
{
    static const char *const lists[] = {"topics", "topic_share", "x_concepts"};
    const ix_topic_ref *tl[3] = {a->topics, a->topic_share, a->concepts};
    size_t tn[3] = {a->n_topics, a->n_topic_share, a->n_concepts};
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < tn[l]; i++) {
            const ix_topic_ref *t = &tl[l][i];
            if (!t->scheme || !t->code || !*t->code)
                continue;
            pgr_topic_claim c = {.record = record,
                                 .author = aid,
                                 .list = lists[l],
                                 .rank = (int)i + 1,
                                 .count = t->count,
                                 .score = t->score,
                                 .capture_date = date};
            if (topic_id(b, t->scheme, t->code, t->name, &c.topic, err) < 0 ||
                pgr_topic_describe(b->s, c.topic, t->description, t->subfield, t->field,
                                   t->domain, err) < 0 ||
                pgr_author_topic_claim_put(b->s, b->src, &c, err) < 0) {
                pgr_err_prefix(err, "%s[%zu] %s", lists[l], i, t->code);
                return -1;
            }
        }
    }
    return 0;
}

/* One figure: a count (-1: not given) or a real (NAN: not given), its text
 * the number as the source gave it (shortest form that reads back exactly). */
static int claim_num(ix_builder *b, pgr_author_claim *c, const char *name, int year, double v,
                     int is_count, pgr_err *err)
{
    if (is_count ? v < 0 : isnan(v))
        return 0;
    char text[40];
    if (is_count)
        snprintf(text, sizeof text, "%.0f", v);
    else
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(text, sizeof text, "%.*g", prec, v);
            if (strtod(text, NULL) == v)
                break;
        }
    c->name = name;
    c->year = year;
    c->rank = 0;
    c->text = text;
    c->value = v;
    c->ref = NULL;
    if (pgr_author_claim_put(b->s, b->src, c, err) < 0) {
        pgr_err_prefix(err, year ? "%s %d" : "%s", name, year);
        return -1;
    }
    return 0;
}

/* The institutions of one list: a row per institution and year it is
 * given for (year 0 when none). */
static int claim_insts(ix_builder *b, pgr_author_claim *c, const char *list,
                       const ix_inst_ref *v, size_t n, pgr_err *err)
{
    for (size_t i = 0; i < n; i++) {
        c->name = list;
        c->rank = (int)i + 1;
        c->text = v[i].name;
        c->value = NAN;
        c->ref = v[i].ror ? v[i].ror : NULL;
        char oa[80];
        if (!c->ref && v[i].openalex_id) {
            snprintf(oa, sizeof oa, "https://openalex.org/%s", v[i].openalex_id);
            c->ref = oa;
        }
        for (size_t y = 0; y < (v[i].n_years ? v[i].n_years : 1); y++) {
            c->year = v[i].n_years ? v[i].years[y] : 0;
            if (pgr_author_claim_put(b->s, b->src, c, err) < 0) {
                pgr_err_prefix(err, "%s[%zu]", list, i);
                return -1;
            }
        }
    }
    return 0;
}

/* Everything an author record reports about the author, as that source's
 * claims (author_claims and author_topic_claims), dated by the record's own
 * date when it gives one (OpenAlex updated_date), else the file's capture
 * date; never mixed with the figures peergraph computes. */
static int author_record_claims(ix_builder *b, const ix_author *a, pgr_id aid, pgr_err *err)
{
    pgr_sb record = {0};
    int rc = -1;
    if (record_key(a, &record, err) < 0)
        goto cleanup;
    const char *date = a->updated_day ? a->updated_day : b->capture_date;
    pgr_author_claim c = {.record = record.data, .author = aid, .capture_date = date};
    if (claim_num(b, &c, "works_count", 0, (double)a->works_count, 1, err) < 0 ||
        claim_num(b, &c, "cited_by_count", 0, (double)a->cited_by_count, 1, err) < 0 ||
        claim_num(b, &c, "h_index", 0, (double)a->h_index, 1, err) < 0 ||
        claim_num(b, &c, "i10_index", 0, (double)a->i10_index, 1, err) < 0 ||
        claim_num(b, &c, "2yr_mean_citedness", 0, a->mean_citedness_2yr, 0, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < a->n_counts_by_year; i++) {
        const ix_year_count *yc = &a->counts_by_year[i];
        if (claim_num(b, &c, "works_count", yc->year, (double)yc->works_count, 1, err) < 0 ||
            claim_num(b, &c, "cited_by_count", yc->year, (double)yc->cited_by_count, 1, err) < 0)
            goto cleanup;
    }
    if (claim_insts(b, &c, "last_known_institutions", a->last_known, a->n_last_known, err) < 0 ||
        claim_insts(b, &c, "affiliations", a->affiliations, a->n_affiliations, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < a->n_ids; i++) {
        c.name = "ids";
        c.year = 0;
        c.rank = (int)i + 1;
        c.text = a->ids[i].value;
        c.value = NAN;
        c.ref = a->ids[i].kind;
        if (pgr_author_claim_put(b->s, b->src, &c, err) < 0)
            goto cleanup;
    }
    const char *texts[2][2] = {{"homepage", a->homepage}, {"updated_date", a->updated_date}};
    for (int i = 0; i < 2; i++) {
        if (!texts[i][1])
            continue;
        c.name = texts[i][0];
        c.year = c.rank = 0;
        c.text = texts[i][1];
        c.value = NAN;
        c.ref = NULL;
        if (pgr_author_claim_put(b->s, b->src, &c, err) < 0)
            goto cleanup;
    }
    if (author_topic_claims(b, a, aid, record.data, date, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc < 0 && err->msg[0] && strncmp(err->msg, "author ", 7))
        pgr_err_prefix(err, "author %s: claims", record.data ? record.data : "?");
    pgr_sb_free(&record);
    return rc;
}

static int sink_author(void *ctx, const ix_author *a, pgr_err *err)
{
    ix_builder *b = ctx;
    int rc = -1;
    char *norm = NULL;
    set_place(b, a->line, a->position);
    b->names_fresh = 0; /* its names and variants are written past the names cache */
    if (!a->display_name || !*a->display_name)
        return pgr_errf(err, PGR_EINVAL, "author record without a name");
    norm = name_key(a->display_name, err);
    if (!norm)
        return -1;
    pgr_id aid;
    if (a->orcid || a->openalex_id || a->s2_id) {
        int created = 0;
        if (ext_id_author(b, a->display_name, norm, a->orcid, a->openalex_id, a->s2_id, &aid,
                          &created, err) < 0)
            goto cleanup;
    } else if (new_author(b, a->display_name, norm, &aid, err) < 0) {
        /* a record with no id and no works is no evidence of identity */
        goto cleanup;
    }
    b->file_stats.records++;
    if (pgr_author_add_variant(b->s, b->src, aid, a->display_name, norm, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < a->n_alternatives; i++) {
        const char *alt = a->alternatives[i];
        if (!alt || !*alt)
            continue;
        char *an = name_key(alt, err);
        if (!an)
            goto cleanup;
        int r = *an ? pgr_author_add_variant(b->s, b->src, aid, alt, an, err) : 0;
        free(an);
        if (r < 0)
            goto cleanup;
    }
    if (a->affiliation && *a->affiliation) {
        pgr_sb *k = &b->k1;
        pgr_sb_reset(k);
        if (ix_title_key(a->affiliation, k, err) < 0)
            goto cleanup;
        pgr_id inst;
        if (k->len) {
            if (pgr_institution_upsert(b->s, a->affiliation, k->data, a->institution_ror, NULL,
                                       &inst, err) < 0 ||
                pgr_author_institution_put(b->s, b->src, aid, inst, 0, err) < 0)
                goto cleanup;
        }
    }
    for (size_t i = 0; i < a->n_counts_by_year; i++) {
        const ix_year_count *yc = &a->counts_by_year[i];
        if (pgr_author_counts_put(b->s, b->src, aid, yc->year, yc->works_count,
                                  yc->cited_by_count, err) < 0)
            goto cleanup;
    }
    if (author_record_claims(b, a, aid, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    free(norm);
    return rc;
}

/* A topic object on its own (OpenAlex /topics/T..): the topic, its name and
 * what the object says of it; its figures are the source's, not kept. */
static int sink_topic(void *ctx, const ix_topic_ref *t, pgr_err *err)
{
    ix_builder *b = ctx;
    pgr_set_place(b->s, NULL); /* topic objects carry no line */
    if (!t->scheme || !t->code || !*t->code)
        return pgr_errf(err, PGR_EINVAL, "topic record without an id");
    pgr_id tid;
    if (topic_id(b, t->scheme, t->code, t->name, &tid, err) < 0 ||
        pgr_topic_describe(b->s, tid, t->description, t->subfield, t->field, t->domain, err) < 0)
        return -1;
    b->file_stats.records++;
    return 0;
}

static char *arena_dup(pgr_arena *a, const char *s)
{
    return s ? pgr_arena_strdup(a, s) : NULL;
}

static int sink_profile(void *ctx, const ix_profile *p, pgr_err *err)
{
    ix_builder *b = ctx;
    if (b->prof.present)
        return pgr_errf(err, PGR_EINVAL, "a second profile record in one file");
    profile_copy *c = &b->prof;
    pgr_arena *a = &b->arena;
    c->present = 1;
    c->site = arena_dup(a, p->site);
    c->owner_name = arena_dup(a, p->owner_name);
    c->runner_up = arena_dup(a, p->runner_up);
    c->evidence = arena_dup(a, p->evidence);
    c->method = p->method;
    c->confidence = p->confidence;
    c->runner_up_confidence = p->runner_up_confidence;
    if (p->owner_name && *p->owner_name) {
        b->owner_norm = name_key(p->owner_name, err);
        if (!b->owner_norm)
            return -1;
    }
    if (p->n_claims) {
        c->claims = pgr_arena_calloc(a, p->n_claims, sizeof *c->claims);
        if (!c->claims)
            return oom(err);
        for (size_t i = 0; i < p->n_claims; i++) {
            c->claims[i].name = arena_dup(a, p->claims[i].name);
            c->claims[i].text = arena_dup(a, p->claims[i].text);
            c->claims[i].value = p->claims[i].value;
        }
        c->n_claims = p->n_claims;
    }
    return 0;
}

/* The page's owner: link, add hidden authorships, ownership row, claims. */
static int finish_owner(ix_builder *b, pgr_err *err)
{
    profile_copy *p = &b->prof;
    int rc = -1;
    char *norm = NULL;
    id_vec named = {0};
    pgr_id *cands = NULL, *wids = NULL;
    size_t nc = 0, nw = 0;
    pgr_id owner = 0;
    if (!p->present)
        return 0;
    if (p->owner_name && *p->owner_name) {
        norm = name_key(p->owner_name, err);
        if (!norm)
            goto cleanup;
    }
    if (norm && *norm) {
        /* the authors the page's entries print under the owner's name */
        if (pgr_author_candidates(b->s, norm, &cands, &nc, err) < 0)
            goto cleanup;
        for (size_t i = 0; i < nc; i++) {
            free(wids);
            wids = NULL;
            if (pgr_author_work_ids(b->s, cands[i], &wids, &nw, err) < 0)
                goto cleanup;
            for (size_t k = 0; k < b->n_fw; k++)
                if (nw && bsearch(&b->fw[k].work, wids, nw, sizeof *wids, cmp_id)) {
                    if (idv_push(&named, cands[i]) < 0) {
                        oom(err);
                        goto cleanup;
                    }
                    break;
                }
        }
        idv_uniq(&named);
        if (named.n) {
            /* the page says they are all its owner: that is the evidence */
            const char *whyp[MAX_CANDIDATES];
            char ev[160];
            snprintf(ev, sizeof ev, "named as an author on profile page entries");
            for (size_t i = 0; i < named.n && i < MAX_CANDIDATES; i++)
                whyp[i] = ev;
            if (named.n > MAX_CANDIDATES)
                named.n = MAX_CANDIDATES;
            if (merge_into_first(b, &named, whyp, norm, err) < 0)
                goto cleanup;
            owner = named.v[0];
            if (touch(b, owner, err) < 0)
                goto cleanup;
        } else if (new_author(b, p->owner_name, norm, &owner, err) < 0) {
            goto cleanup;
        }
        if (pgr_author_add_variant(b->s, b->src, owner, p->owner_name, norm, err) < 0)
            goto cleanup;
        /* entries where the owner is not printed: the page still asserts the
         * work is theirs (hidden by "+2" / "et al." or no list at all) */
        free(wids);
        wids = NULL;
        if (pgr_author_work_ids(b->s, owner, &wids, &nw, err) < 0)
            goto cleanup;
        for (size_t k = 0; k < b->n_fw; k++) {
            if (nw && bsearch(&b->fw[k].work, wids, nw, sizeof *wids, cmp_id))
                continue;
            if (pgr_authorship_put(b->s, b->src, b->fw[k].work, owner, b->fw[k].n_visible + 1,
                                   NULL, NULL, 0, err) < 0)
                goto cleanup;
        }
        const char *method = p->method == IX_OWNER_HEADER     ? "header"
                             : p->method == IX_OWNER_OVERRIDE ? "override"
                                                              : "inferred";
        if (pgr_ownership_put(b->s, b->src, owner, method, p->confidence, p->runner_up,
                              p->runner_up ? p->runner_up_confidence : NAN, p->evidence,
                              err) < 0)
            goto cleanup;
    }
    for (size_t i = 0; i < p->n_claims; i++) {
        const ix_claim *c = &p->claims[i];
        if (!c->name)
            continue;
        if (pgr_claim_put(b->s, b->src, owner, c->name, c->text, c->value, b->capture_date,
                          err) < 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free(norm);
    free(cands);
    free(wids);
    free(named.v);
    if (rc < 0 && strncmp(err->msg, "page owner", 10)) /* store errors name it already */
        pgr_err_prefix(err, "page owner");
    return rc;
}

/* ---- sources ------------------------------------------------------------ */

static int valid_date(const char *d)
{
    if (!d || strlen(d) != 10 || d[4] != '-' || d[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

int ix_builder_source_begin(ix_builder *b, const char *uri, const char *format,
                            const char *sha256, const char *capture_date, ix_sink *sink,
                            pgr_err *err)
{
    if (b->open)
        return pgr_errf(err, PGR_EINVAL, "%s: a source is already open", uri);
    if (!valid_date(capture_date))
        return pgr_errf(err, PGR_EINVAL, "%s: capture date \"%s\" is not YYYY-MM-DD", uri,
                        capture_date ? capture_date : "");
    file_reset(b);
    pgr_set_place(b->s, NULL); /* a place is per record of the file */
    b->uri = strdup(uri);
    if (!b->uri)
        return oom(err);
    memcpy(b->capture_date, capture_date, 11);
    if (pgr_begin(b->s, err) < 0)
        return -1;
    b->open = 1;
    pgr_id existing = 0;
    if (pgr_source_find(b->s, uri, &existing, NULL, err) < 0)
        goto fail;
    pgr_source_doc d = {.uri = uri,
                        .format = format,
                        .sha256 = sha256,
                        .capture_date = capture_date,
                        .run_id = b->run_id};
    if (pgr_source_upsert(b->s, &d, &b->src, err) < 0)
        goto fail;
    if (existing) { /* a changed file: its old facts go, then it asserts anew */
        if (pgr_source_delete_facts(b->s, b->src, err) < 0)
            goto fail;
        b->replaced_any = 1;
    }
    /* PGR_NAME_LOOKUPS=always: every name asks the store, as before the
     * empty-graph shortcut (tests compare the two graphs) */
    const char *lookups = getenv("PGR_NAME_LOOKUPS");
    if (!lookups || strcmp(lookups, "always") != 0) {
        int64_t works = 0, authors = 0;
        if (pgr_graph_size(b->s, &works, &authors, err) < 0)
            goto fail;
        b->names_fresh = authors == 0;
    }
    sink->ctx = b;
    sink->work = sink_work;
    sink->author = sink_author;
    sink->profile = sink_profile;
    sink->topic = sink_topic;
    return 0;
fail:
    pgr_rollback(b->s, NULL);
    b->open = 0;
    return -1;
}

int ix_builder_source_end(ix_builder *b, int ok, pgr_err *err)
{
    if (!b->open)
        return pgr_errf(err, PGR_EINVAL, "no source is open");
    pgr_set_place(b->s, "page owner"); /* finish_owner's writes */
    if (ok && finish_owner(b, err) < 0)
        ok = 0;
    /* what commit writes (full text, ids) belongs to no one record; queued
     * writes keep their own places */
    pgr_set_place(b->s, NULL);
    if (ok && pgr_commit(b->s, err) < 0)
        ok = 0;
    if (!ok) {
        pgr_rollback(b->s, NULL);
        b->stats.files_rejected++;
        file_reset(b);
        return -1;
    }
    b->stats.files_ingested++;
    b->stats.records += b->file_stats.records;
    b->stats.works_added += b->file_stats.works_added;
    b->stats.works_updated += b->file_stats.works_updated;
    b->stats.authors_added += b->file_stats.authors_added;
    b->stats.merges += b->file_stats.merges;
    for (size_t i = 0; i < b->file_touched.n; i++)
        if (idv_push(&b->touched, b->file_touched.v[i]) < 0)
            return oom(err);
    idv_uniq(&b->touched);
    file_reset(b);
    return 0;
}

/* Inside the file's transaction: defers the graph's secondary indexes when
 * the file is large beside the graph (see IX_BULK_*). 0 ok, -1 with err. */
static int bulk_wanted(ix_builder *b, int mode, size_t len, pgr_err *err)
{
    if (mode == IX_BULK_NEVER)
        return 0;
    if (mode != IX_BULK_ALWAYS) {
        int64_t works = 0, authors = 0;
        if (len < IX_BULK_MIN_BYTES)
            return 0;
        if (pgr_graph_size(b->s, &works, &authors, err) < 0)
            return -1;
        if ((uint64_t)works > len / IX_BULK_BYTES_PER_WORK)
            return 0;
    }
    int n = 0;
    if (pgr_defer_indexes(b->s, &n, err) < 0)
        return -1;
    b->bulk_loaded |= n > 0;
    return 0;
}

int ix_builder_ingest(ix_builder *b, const char *uri, const char *data, size_t len,
                      const ix_file_opts *o, int *unchanged, pgr_err *err)
{
    char sha[65], stored[65] = "";
    char *plain = NULL;
    int rc = -1;
    if (unchanged)
        *unchanged = 0;
    b->stats.files++;
    pgr_sha256_hex(data, len, sha);
    pgr_id existing = 0;
    if (pgr_source_find(b->s, uri, &existing, stored, err) < 0)
        return -1;
    if (existing && !strcmp(stored, sha)) { /* nothing changed: do not even parse */
        b->stats.files_unchanged++;
        if (unchanged)
            *unchanged = 1;
        return 0;
    }
    const char *text = data;
    size_t text_len = len;
    if (len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b) {
#ifdef IX_HAVE_GUNZIP
        if (ix_gunzip(data, len, IX_GUNZIP_DEFAULT_CAP, &plain, &text_len, err) < 0) {
            b->stats.files_rejected++;
            return -1;
        }
        text = plain;
#else
        b->stats.files_rejected++;
        return pgr_errf(err, PGR_EUNSUPPORTED, "offset 0: gzip input is not supported yet");
#endif
    }
    const ix_format *f = o->format ? ix_format_by_name(o->format) : ix_format_detect(text, text_len);
    if (!f) {
        b->stats.files_rejected++;
        if (o->format)
            pgr_errf(err, PGR_EINVAL, "unknown format \"%s\"", o->format);
        else
            pgr_errf(err, PGR_EINVAL, "offset 0: not a format peergraph reads (no parser "
                                      "recognises the content)");
        goto cleanup;
    }
    ix_sink sink;
    if (ix_builder_source_begin(b, uri, f->name, sha, o->capture_date, &sink, err) < 0) {
        b->stats.files_rejected++;
        goto cleanup;
    }
    if (bulk_wanted(b, o->bulk, text_len, err) < 0) {
        ix_builder_source_end(b, 0, NULL);
        goto cleanup;
    }
    ix_input in = {.path = uri,
                   .data = text,
                   .len = text_len,
                   .owner_override = o->owner_override};
    memcpy(in.capture_date, o->capture_date, 11);
    int ok = f->parse(&in, &sink, err) == 0;
    if (ok && err)
        pgr_err_clear(err); /* parsers may leave a notice with PGR_OK */
    if (ix_builder_source_end(b, ok, ok ? err : NULL) < 0) {
        if (err && !err->msg[0])
            pgr_errf(err, PGR_EINTERNAL, "rolled back");
        if (err)
            pgr_err_prefix(err, "%s", f->name);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(plain);
    return rc;
}

/* ---- keyword topics ------------------------------------------------------ */

#define KEYWORDS_URI "peergraph:keywords"
#define KEYWORDS_MIN_DF 2
#define KEYWORDS_MAX_DF 0.5
#define KEYWORDS_K 5

static int kw_add(void *ctx, pgr_id id, const char *title, const char *abstract, pgr_err *err)
{
    return ix_keywords_add(ctx, (long long)id, title ? title : "", abstract, err);
}

/* The keyword topics of every work, computed over the whole corpus
 * (docs/keywords.md). They are the facts of one computed source document,
 * "peergraph:keywords", whose sha256 is that of the result: when the corpus
 * gives the same keywords nothing is written; otherwise the old keyword links
 * are replaced in one transaction. */
static int update_keywords(ix_builder *b, pgr_err *err)
{
    int rc = -1, open_tx = 0;
    ix_keywords *kw = ix_keywords_new();
    pgr_sb ser = {0};
    pgr_id *lw = NULL, *lt = NULL; /* the links: work, topic, weight */
    double *lx = NULL;
    size_t n_links = 0, cap_links = 0;
    const char **terms = NULL; /* distinct keywords, first use first */
    pgr_id *term_ids = NULL;
    size_t n_terms = 0, cap_terms = 0;
    if (!kw)
        return oom(err);
    if (pgr_works_text_each(b->s, kw_add, kw, err) < 0 ||
        ix_keywords_compute(kw, KEYWORDS_MIN_DF, KEYWORDS_MAX_DF, KEYWORDS_K, err) < 0)
        goto cleanup;
    size_t nd = ix_keywords_n_docs(kw);
    for (size_t i = 0; i < nd; i++) { /* the result, serialised for its digest */
        long long id;
        const ix_keyword *k;
        size_t nk = ix_keywords_at(kw, i, &id, &k);
        for (size_t j = 0; j < nk; j++)
            pgr_sb_printf(&ser, "%lld\t%s\t%.6f\n", id, k[j].term, k[j].score);
    }
    if (!pgr_sb_ok(&ser)) {
        oom(err);
        goto cleanup;
    }
    char sha[65], stored[65] = "";
    pgr_sha256_hex(ser.data ? ser.data : "", ser.len, sha);
    pgr_id src = 0;
    if (pgr_source_find(b->s, KEYWORDS_URI, &src, stored, err) < 0)
        goto cleanup;
    if (src && !strcmp(sha, stored)) {
        rc = 0; /* the same keywords as stored */
        goto cleanup;
    }
    if (pgr_begin(b->s, err) < 0)
        goto cleanup;
    open_tx = 1;
    time_t now = time(NULL);
    struct tm tm;
    char today[11];
    gmtime_r(&now, &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    pgr_source_doc d = {.uri = KEYWORDS_URI, .format = "keywords", .sha256 = sha,
                        .capture_date = today, .run_id = b->run_id};
    if (pgr_source_upsert(b->s, &d, &src, err) < 0 || pgr_source_delete_facts(b->s, src, err) < 0)
        goto cleanup;
    topic_cache_clear(&b->topics);
    /* the keywords' topics first, the new ones created together in order of
     * first use (one statement per 500 instead of two per new keyword) */
    for (size_t i = 0; i < nd; i++) {
        long long id;
        const ix_keyword *k;
        size_t nk = ix_keywords_at(kw, i, &id, &k);
        for (size_t j = 0; j < nk; j++) {
            unsigned h;
            const char *key = topic_key(b, "keyword", k[j].term, &h);
            if (!key) {
                oom(err);
                goto cleanup;
            }
            if (topic_cached(b, key, h))
                continue;
            if (topic_cache_add(b, key, h, 0, err) < 0)
                goto cleanup;
            if (n_terms == cap_terms) {
                size_t cap = cap_terms ? cap_terms * 2 : 1024;
                const char **nt = realloc(terms, cap * sizeof *nt);
                if (!nt) {
                    oom(err);
                    goto cleanup;
                }
                terms = nt;
                cap_terms = cap;
            }
            terms[n_terms++] = k[j].term;
        }
    }
    if (n_terms) {
        if (!(term_ids = malloc(n_terms * sizeof *term_ids))) {
            oom(err);
            goto cleanup;
        }
        if (pgr_topic_ids_many(b->s, "keyword", terms, n_terms, term_ids, err) < 0)
            goto cleanup;
        for (size_t t = 0; t < n_terms; t++) {
            unsigned h;
            const char *key = topic_key(b, "keyword", terms[t], &h);
            topic_slot *sl = key ? topic_cached(b, key, h) : NULL;
            if (!sl) {
                oom(err);
                goto cleanup;
            }
            sl->id = term_ids[t];
        }
    }
    for (size_t i = 0; i < nd; i++) {
        long long id;
        const ix_keyword *k;
        size_t nk = ix_keywords_at(kw, i, &id, &k);
        /* weight: the score relative to the work's best keyword */
        double top = nk ? k[0].score : 1;
        for (size_t j = 0; j < nk; j++) {
            pgr_id tid;
            if (topic_id(b, "keyword", k[j].term, k[j].term, &tid, err) < 0)
                goto cleanup;
            if (n_links == cap_links) {
                size_t cap = cap_links ? cap_links * 2 : 4096;
                pgr_id *nw = realloc(lw, cap * sizeof *lw);
                if (nw)
                    lw = nw;
                pgr_id *nt = realloc(lt, cap * sizeof *lt);
                if (nt)
                    lt = nt;
                double *nx = realloc(lx, cap * sizeof *lx);
                if (nx)
                    lx = nx;
                if (!nw || !nt || !nx) {
                    oom(err);
                    goto cleanup;
                }
                cap_links = cap;
            }
            lw[n_links] = (pgr_id)id;
            lt[n_links] = tid;
            lx[n_links] = top > 0 ? round(k[j].score / top * 1e6) / 1e6 : NAN;
            n_links++;
        }
    }
    /* written many to a statement: one statement per link was most of this pass */
    if (pgr_work_topics_put_many(b->s, src, lw, lt, lx, n_links, err) < 0 ||
        pgr_topics_recount(b->s, "keyword", err) < 0) /* every keyword topic's links changed */
        goto cleanup;
    topic_cache_clear(&b->topics);
    open_tx = 0;
    if (pgr_commit(b->s, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (open_tx) {
        pgr_rollback(b->s, NULL);
        topic_cache_clear(&b->topics);
    }
    if (rc < 0)
        pgr_err_prefix(err, "keyword topics");
    pgr_sb_free(&ser);
    free(terms);
    free(term_ids);
    ix_keywords_free(kw);
    free(lw);
    free(lt);
    free(lx);
    return rc;
}

int ix_builder_finish(ix_builder *b, pgr_err *err)
{
    long resolved = 0;
    if (b->open)
        return pgr_errf(err, PGR_EINVAL, "a source is still open");
    if (!b->stats.files_ingested)
        return 0; /* nothing changed: nothing to recompute */
    /* keywords first: the metrics' topic shares count this run's keyword
     * links (the other way round they lagged one run behind) */
    if (b->keywords && update_keywords(b, err) < 0)
        return -1;
    if (pgr_begin(b->s, err) < 0)
        return -1;
    /* after a bulk load most authors are new: their figures and topic shares
     * go in with the count indexes rebuilt once at commit */
    if (b->bulk_loaded && pgr_defer_metric_indexes(b->s, NULL, err) < 0)
        goto fail;
    if (pgr_citations_resolve(b->s, &resolved, err) < 0)
        goto fail;
    /* a replaced file may have taken works away from authors we cannot list
     * any more: recompute everyone then */
    if (pgr_metrics_recompute(b->s, b->replaced_any ? NULL : b->touched.v,
                              b->replaced_any ? 0 : b->touched.n, err) < 0)
        goto fail;
    return pgr_commit(b->s, err);
fail:
    pgr_rollback(b->s, NULL);
    return -1;
}
