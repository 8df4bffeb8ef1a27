/* JSON API parameters: OpenAlex's list parameters parsed into a pgr_query,
 * ids normalised, short keys rewritten into id URLs. No HTTP here, so the
 * unit tests and the fuzz target drive it directly. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "graph/fts_query.h"
#include "server/api.h"

/* ---- ids ---- */

static int is_short_key(const char *s)
{
    if (!strchr("WATSIwatsi", s[0]) || !s[0] || !s[1] || s[1] == '0')
        return 0;
    size_t n = 0;
    for (const char *p = s + 1; *p; p++, n++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return n > 0 && n <= 18; /* fits an int64 */
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Strips "http://" or "https://" and returns what follows, or NULL. */
static const char *after_scheme(const char *s)
{
    if (starts_with(s, "https://"))
        return s + 8;
    if (starts_with(s, "http://"))
        return s + 7;
    return NULL;
}

static char *lower_dup(pgr_arena *a, const char *prefix, const char *s)
{
    char *out = pgr_arena_printf(a, "%s%s", prefix, s);
    if (out)
        for (char *p = out + strlen(prefix); *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return out;
}

const char *api_norm_id(pgr_arena *a, const char *public_url, const char *raw)
{
    if (!raw || !*raw)
        return NULL;
    size_t pn = public_url ? strlen(public_url) : 0;
    if (pn && !strncmp(raw, public_url, pn) && raw[pn] == '/' && is_short_key(raw + pn + 1))
        raw += pn + 1;
    const char *rest = after_scheme(raw);
    if (rest) {
        static const struct {
            const char *host, *prefix;
            int lower;
        } hosts[] = {
            {"doi.org/", "doi:", 1},
            {"dx.doi.org/", "doi:", 1},
            {"arxiv.org/abs/", "arxiv:", 0},
            {"orcid.org/", "orcid:", 0},
            {"ror.org/", "ror:", 1},
            {"openalex.org/", "openalex:", 0},
            {"api.openalex.org/works/", "openalex:", 0},
            {"api.openalex.org/authors/", "openalex:", 0},
        };
        for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
            if (starts_with(rest, hosts[i].host)) {
                const char *v = rest + strlen(hosts[i].host);
                return hosts[i].lower ? lower_dup(a, hosts[i].prefix, v)
                                      : pgr_arena_printf(a, "%s%s", hosts[i].prefix, v);
            }
        /* Our own ids under another spelling of our host (a proxy, a
         * different port): the last segment is the short key. */
        const char *slash = strrchr(rest, '/');
        if (slash && is_short_key(slash + 1))
            raw = slash + 1;
    }
    if (is_short_key(raw)) {
        char *k = pgr_arena_strdup(a, raw);
        if (k)
            k[0] = (char)toupper((unsigned char)k[0]);
        return k;
    }
    if (!strncasecmp(raw, "doi:", 4))
        return lower_dup(a, "doi:", raw + 4);
    if (raw[0] == '1' && raw[1] == '0' && raw[2] == '.' && strchr(raw, '/'))
        return lower_dup(a, "doi:", raw); /* a bare DOI */
    return pgr_arena_strdup(a, raw);
}

/* ---- id URLs in responses ---- */

static int rewrite_str(json_t *holder_obj, const char *key, json_t *holder_arr, size_t idx,
                       json_t *v, const char *base)
{
    if (!json_is_string(v) || !is_short_key(json_string_value(v)))
        return 0;
    char *url = NULL;
    if (asprintf(&url, "%s/%s", base, json_string_value(v)) < 0)
        return -1;
    json_t *s = json_string(url);
    free(url);
    if (!s)
        return -1;
    return holder_obj ? json_object_set_new(holder_obj, key, s)
                      : json_array_set_new(holder_arr, idx, s);
}

static int is_id_key(const char *k)
{
    return !strcmp(k, "id") || !strcmp(k, "source") || !strcmp(k, "target");
}

static int is_id_list_key(const char *k)
{
    return !strcmp(k, "referenced_works") || !strcmp(k, "related_works") ||
           !strcmp(k, "merged_from");
}

/* in_group: j is inside "group_by", whose "key"s are ids when keys_are_ids. */
static int rewrite(json_t *j, const char *base, int keys_are_ids, int in_group, int depth)
{
    if (depth > 64)
        return 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(j, tmp, k, v)
        {
            if (json_is_string(v) &&
                (is_id_key(k) || (in_group && keys_are_ids && !strcmp(k, "key")))) {
                if (rewrite_str(j, k, NULL, 0, v, base) < 0)
                    return -1;
            } else if (is_id_list_key(k) && json_is_array(v)) {
                for (size_t i = 0; i < json_array_size(v); i++)
                    if (rewrite_str(NULL, NULL, v, i, json_array_get(v, i), base) < 0)
                        return -1;
            } else if (!strcmp(k, "ids")) {
                continue; /* external ids stay as the sources gave them */
            } else if (rewrite(v, base, keys_are_ids, in_group || !strcmp(k, "group_by"),
                               depth + 1) < 0) {
                return -1;
            }
        }
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (rewrite(json_array_get(j, i), base, keys_are_ids, in_group, depth + 1) < 0)
                return -1;
    }
    return 0;
}

int api_rewrite_ids(json_t *j, const char *public_url, int keys_are_ids)
{
    return rewrite(j, public_url, keys_are_ids, 0, 0);
}

/* ---- list parameters ---- */

/* FK_SELF: the entity's own id (OpenAlex's openalex_id / ids.openalex):
 * our short keys and id URLs go to the store's "id" filter, OpenAlex's own
 * ids (https://openalex.org/W...) to its "ids.openalex" column. */
typedef enum {
    FK_INT,
    FK_STR,
    FK_BOOL,
    FK_DATE,
    FK_ID,
    FK_SELF,
    FK_DOI,
    FK_ARXIV,
    FK_NAME,
    FK_TEXT
} fk_type;

typedef struct filter_key {
    const char *name;  /* as clients send it */
    const char *field; /* the store's field; NULL for FK_TEXT (goes into search) */
    fk_type type;
} filter_key;

static const filter_key work_keys[] = {
    {"publication_year", "publication_year", FK_INT},
    {"publication_date", "publication_date", FK_DATE},
    {"from_publication_date", "from_publication_date", FK_DATE},
    {"to_publication_date", "to_publication_date", FK_DATE},
    {"type", "type", FK_STR},
    {"has_code", "has_code", FK_BOOL},
    {"authorships.author.id", "authorships.author.id", FK_ID},
    {"author.id", "authorships.author.id", FK_ID},
    {"authorships.institutions.id", "authorships.institutions.id", FK_ID},
    {"topics.id", "topics.id", FK_ID},
    {"cited_by_count", "cited_by_count", FK_INT},
    {"ids.openalex", "id", FK_SELF},
    {"openalex_id", "id", FK_SELF},
    {"openalex", "id", FK_SELF},
    {"id", "id", FK_SELF},
    {"doi", "doi", FK_DOI},
    {"ids.doi", "doi", FK_DOI},
    {"ids.arxiv", "ids.arxiv", FK_ARXIV},
    {"arxiv", "ids.arxiv", FK_ARXIV},
    {"primary_location.source.id", "primary_location.source.id", FK_ID},
    {"cites", "cites", FK_ID},
    {"cited_by", "cited_by", FK_ID},
    {"default.search", NULL, FK_TEXT},
    {"title.search", NULL, FK_TEXT},
    {"display_name.search", NULL, FK_TEXT},
    {"abstract.search", NULL, FK_TEXT},
    {"title_and_abstract.search", NULL, FK_TEXT},
    {NULL, NULL, 0},
};

static const filter_key author_keys[] = {
    {"display_name.search", "display_name.search", FK_NAME},
    {"works_count", "works_count", FK_INT},
    {"cited_by_count", "cited_by_count", FK_INT},
    {"summary_stats.h_index", "summary_stats.h_index", FK_INT},
    {"summary_stats.i10_index", "summary_stats.i10_index", FK_INT},
    {"topics.id", "topics.id", FK_ID},
    {"last_known_institutions.id", "last_known_institutions.id", FK_ID},
    {"affiliations.institution.id", "affiliations.institution.id", FK_ID},
    {"orcid", "orcid", FK_STR},
    {"ids.openalex", "id", FK_SELF},
    {"openalex_id", "id", FK_SELF},
    {"openalex", "id", FK_SELF},
    {"id", "id", FK_SELF},
    {"default.search", NULL, FK_TEXT},
    {NULL, NULL, 0},
};

static const filter_key topic_keys[] = {
    {"display_name.search", "display_name.search", FK_NAME},
    {"works_count", "works_count", FK_INT},
    {"cited_by_count", "cited_by_count", FK_INT},
    {"scheme", "scheme", FK_STR},
    {"code", "code", FK_STR},
    {"openalex_id", "id", FK_SELF},
    {"id", "id", FK_SELF},
    {"default.search", NULL, FK_TEXT},
    {NULL, NULL, 0},
};

static const filter_key source_keys[] = {
    {"display_name.search", "display_name.search", FK_NAME},
    {"works_count", "works_count", FK_INT},
    {"cited_by_count", "cited_by_count", FK_INT},
    {"openalex_id", "id", FK_SELF},
    {"id", "id", FK_SELF},
    {"default.search", NULL, FK_TEXT},
    {NULL, NULL, 0},
};

static const filter_key institution_keys[] = {
    {"display_name.search", "display_name.search", FK_NAME},
    {"works_count", "works_count", FK_INT},
    {"cited_by_count", "cited_by_count", FK_INT},
    {"country_code", "country_code", FK_STR},
    {"ror", "ror", FK_STR},
    {"openalex_id", "id", FK_SELF},
    {"id", "id", FK_SELF},
    {"default.search", NULL, FK_TEXT},
    {NULL, NULL, 0},
};

static const filter_key *keys_for(pgr_entity e)
{
    switch (e) {
    case PGR_WORKS:
        return work_keys;
    case PGR_AUTHORS:
        return author_keys;
    case PGR_TOPICS:
        return topic_keys;
    case PGR_SOURCES:
        return source_keys;
    default:
        return institution_keys;
    }
}

static const char *const work_sorts[] = {"cited_by_count", "publication_date", "publication_year",
                                         "display_name",   "relevance_score",  NULL};
static const char *const author_sorts[] = {"works_count",           "cited_by_count",
                                           "display_name",          "relevance_score",
                                           "summary_stats.h_index", NULL};
static const char *const other_sorts[] = {"works_count", "cited_by_count", "display_name",
                                          "relevance_score", NULL};

static const char *const work_groups[] = {
    "publication_year",           "type", "has_code", "authorships.author.id", "topics.id",
    "primary_location.source.id", NULL};
static const char *const author_groups[] = {"topics.id", "last_known_institutions.id", NULL};
static const char *const topic_groups[] = {"scheme", NULL};
static const char *const institution_groups[] = {"country_code", NULL};
static const char *const no_groups[] = {NULL};

/* Local, so this file links without the store (unit tests, fuzzing). */
static const char *entity_name(pgr_entity e)
{
    static const char *const names[] = {"works", "authors", "topics", "sources", "institutions"};
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "entities";
}

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s))
            return 1;
    return 0;
}

/* A growable array of filters in the arena. */
typedef struct flist {
    pgr_filter *items;
    size_t n, cap;
} flist;

static pgr_filter *flist_add(pgr_arena *a, flist *f)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        pgr_filter *items = pgr_arena_calloc(a, cap, sizeof *items);
        if (!items)
            return NULL;
        if (f->n)
            memcpy(items, f->items, f->n * sizeof *items);
        f->items = items;
        f->cap = cap;
    }
    return &f->items[f->n++];
}

#define MAX_FILTERS 32
#define MAX_OR_VALUES 100 /* as OpenAlex: at most 100 values joined by | */

static int is_date(const char *v)
{
    static const char shape[] = "dddd-dd-dd";
    if (strlen(v) != sizeof shape - 1)
        return 0;
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)v[i]) : v[i] != '-')
            return 0;
    return 1;
}

static int check_int(const char *v, const char *key, pgr_err *err)
{
    size_t n = strlen(v);
    if (n == 0 || n > 15)
        return pgr_errf(err, PGR_EINVAL, "filter: %s: '%s' is not a number", key, v);
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)v[i]))
            return pgr_errf(err, PGR_EINVAL, "filter: %s: '%s' is not a number", key, v);
    return 0;
}

/* Splits s at sep into arena strings; *n receives the count. */
static char **split(pgr_arena *a, const char *s, char sep, size_t *n)
{
    size_t count = 1;
    for (const char *p = s; *p; p++)
        count += *p == sep;
    char **out = pgr_arena_calloc(a, count, sizeof *out);
    if (!out)
        return NULL;
    size_t i = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == sep || !*p) {
            out[i] = pgr_arena_strndup(a, start, (size_t)(p - start));
            if (!out[i++])
                return NULL;
            if (!*p)
                break;
            start = p + 1;
        }
    }
    *n = count;
    return out;
}

static const char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* One "key:value" clause (value may hold '|', '!', '<', '>', ranges). */
static int parse_clause(pgr_arena *a, const char *public_url, const filter_key *fk,
                        const char *value, flist *out, pgr_sb *text, pgr_err *err)
{
    const char *key = fk->name;
    if (!*value)
        return pgr_errf(err, PGR_EINVAL, "filter: %s: empty value", key);
    if (fk->type == FK_TEXT || fk->type == FK_NAME) {
        pgr_fts_query fq;
        char pname[128];
        snprintf(pname, sizeof pname, "filter: %s", key);
        if (pgr_fts_parse(pname, value, 0, &fq, err) < 0)
            return -1;
        pgr_fts_free(&fq);
        if (fk->type == FK_TEXT) {
            /* title.search and friends narrow the full-text search. */
            pgr_sb_printf(text, "%s(%s)", text->len ? " " : "", value);
            return 0;
        }
        pgr_filter *f = flist_add(a, out);
        const char **vals = pgr_arena_calloc(a, 1, sizeof *vals);
        if (!f || !vals)
            return pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
        vals[0] = pgr_arena_strdup(a, value);
        *f = (pgr_filter){.field = fk->field, .op = PGR_OP_EQ, .values = vals, .n_values = 1};
        return vals[0] ? 0 : pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
    }

    /* '+' (a space once the query string is decoded) joins values that must
     * all hold: OpenAlex's AND inside one key. */
    size_t n_and;
    char **ands = split(a, value, ' ', &n_and);
    if (!ands)
        return pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
    for (size_t ai = 0; ai < n_and; ai++) {
        char *v = ands[ai];
        if (!*v)
            continue;
        pgr_op op = PGR_OP_EQ;
        if (*v == '!') {
            op = PGR_OP_NE;
            v++;
        }
        pgr_filter *f = flist_add(a, out);
        if (!f)
            return pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
        f->field = fk->field;
        if (out->n > MAX_FILTERS)
            return pgr_errf(err, PGR_EINVAL, "filter: more than %d conditions", MAX_FILTERS);
        if (fk->type == FK_INT && (*v == '<' || *v == '>')) {
            if (op == PGR_OP_NE)
                return pgr_errf(err, PGR_EINVAL, "filter: %s: '!' cannot negate '%c'", key, *v);
            f->op = *v == '<' ? PGR_OP_LT : PGR_OP_GT;
            const char **vals = pgr_arena_calloc(a, 1, sizeof *vals);
            if (!vals || !(vals[0] = pgr_arena_strdup(a, v + 1)))
                return pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
            if (check_int(vals[0], key, err) < 0)
                return -1;
            f->values = vals;
            f->n_values = 1;
            continue;
        }
        if (fk->type == FK_INT && strchr(v, '-')) {
            if (op == PGR_OP_NE)
                return pgr_errf(err, PGR_EINVAL, "filter: %s: '!' cannot negate a range", key);
            size_t nr;
            char **r = split(a, v, '-', &nr);
            if (!r)
                return pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
            if (nr != 2 || (!*r[0] && !*r[1]))
                return pgr_errf(err, PGR_EINVAL, "filter: %s: '%s' is not a range like 2020-2023",
                                key, v);
            if ((*r[0] && check_int(r[0], key, err) < 0) ||
                (*r[1] && check_int(r[1], key, err) < 0))
                return -1;
            if (*r[0] && *r[1] && strtoll(r[0], NULL, 10) > strtoll(r[1], NULL, 10))
                return pgr_errf(err, PGR_EINVAL, "filter: %s: range '%s' is empty (from > to)", key,
                                v);
            f->op = PGR_OP_RANGE;
            f->values = (const char *const *)r;
            f->n_values = 2;
            continue;
        }
        size_t nv;
        char **vals = split(a, v, '|', &nv);
        if (!vals)
            return pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
        if (nv > MAX_OR_VALUES)
            return pgr_errf(err, PGR_EINVAL, "filter: %s: more than %d values joined by '|'", key,
                            MAX_OR_VALUES);
        for (size_t i = 0; i < nv; i++) {
            char *x = vals[i];
            /* "!a|!b" as well as "!a|b": each may carry its own '!' */
            if (*x == '!') {
                if (op != PGR_OP_NE && i > 0)
                    return pgr_errf(err, PGR_EINVAL,
                                    "filter: %s: mix of negated and plain values in '%s'", key, v);
                x++;
            }
            if (!*x)
                return pgr_errf(err, PGR_EINVAL, "filter: %s: empty value in '%s'", key, v);
            switch (fk->type) {
            case FK_INT:
                if (check_int(x, key, err) < 0)
                    return -1;
                break;
            case FK_BOOL:
                if (strcmp(x, "true") && strcmp(x, "false"))
                    return pgr_errf(err, PGR_EINVAL,
                                    "filter: %s: '%s' is not a boolean (true or false)", key, x);
                break;
            case FK_ID:
                x = (char *)api_norm_id(a, public_url, x);
                break;
            case FK_SELF: {
                const char *id = api_norm_id(a, public_url, x);
                int external = id && !strncmp(id, "openalex:", 9);
                if (id && !external && !is_short_key(id))
                    return pgr_errf(err, PGR_EINVAL,
                                    "filter: %s: '%s' is not an id of this API (W12, its URL) "
                                    "nor an OpenAlex id (https://openalex.org/W...)",
                                    key, x);
                if (i > 0 && external != (strcmp(f->field, "id") != 0))
                    return pgr_errf(err, PGR_EINVAL,
                                    "filter: %s: mixes this API's ids and OpenAlex ids in '%s'",
                                    key, v);
                f->field = external ? "ids.openalex" : "id";
                x = id ? (char *)id + (external ? 9 : 0) : NULL;
                break;
            }
            case FK_DATE:
                if (!is_date(x))
                    return pgr_errf(err, PGR_EINVAL, "filter: %s: '%s' is not a date (YYYY-MM-DD)",
                                    key, x);
                break;
            case FK_DOI: {
                const char *d = api_norm_id(a, public_url, x);
                if (!d || strncmp(d, "doi:", 4))
                    return pgr_errf(err, PGR_EINVAL, "filter: %s: '%s' is not a DOI", key, x);
                x = (char *)d + 4;
                break;
            }
            case FK_ARXIV:
                if (!strncasecmp(x, "arxiv:", 6))
                    x += 6;
                else if (starts_with(x, "https://arxiv.org/abs/"))
                    x += strlen("https://arxiv.org/abs/");
                break;
            default:
                break;
            }
            if (!x)
                return pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
            vals[i] = x;
        }
        f->op = op;
        f->values = (const char *const *)vals;
        f->n_values = nv;
    }
    return 0;
}

static int parse_filter(pgr_arena *a, const char *public_url, pgr_entity e, const char *param,
                        flist *out, pgr_sb *text, pgr_err *err)
{
    size_t n;
    char **clauses = split(a, param, ',', &n);
    if (!clauses)
        return pgr_errf(err, PGR_ENOMEM, "filter: out of memory");
    for (size_t i = 0; i < n; i++) {
        char *c = clauses[i];
        char *colon = strchr(c, ':');
        if (!colon)
            return pgr_errf(err, PGR_EINVAL, "filter: '%s' is not key:value", c);
        *colon = '\0';
        const char *key = trim(c);
        const filter_key *fk = keys_for(e);
        while (fk->name && strcmp(fk->name, key))
            fk++;
        if (!fk->name)
            return pgr_errf(err, PGR_EINVAL, "filter: unknown key '%s' for %s", key,
                            entity_name(e));
        if (parse_clause(a, public_url, fk, colon + 1, out, text, err) < 0)
            return -1;
    }
    return 0;
}

static int parse_sort(pgr_arena *a, pgr_entity e, const char *param, int searching, pgr_query *q,
                      pgr_err *err)
{
    const char *const *known = e == PGR_WORKS     ? work_sorts
                               : e == PGR_AUTHORS ? author_sorts
                                                  : other_sorts;
    size_t n;
    char **items = split(a, param, ',', &n);
    if (!items)
        return pgr_errf(err, PGR_ENOMEM, "sort: out of memory");
    if (n > 4)
        return pgr_errf(err, PGR_EINVAL, "sort: more than 4 fields");
    pgr_sort *sorts = pgr_arena_calloc(a, n, sizeof *sorts);
    if (!sorts)
        return pgr_errf(err, PGR_ENOMEM, "sort: out of memory");
    for (size_t i = 0; i < n; i++) {
        char *f = items[i];
        char *colon = strchr(f, ':');
        int desc = 0;
        if (colon) {
            *colon = '\0';
            if (!strcmp(colon + 1, "desc"))
                desc = 1;
            else if (strcmp(colon + 1, "asc"))
                return pgr_errf(err, PGR_EINVAL, "sort: %s: direction '%s' is not asc or desc", f,
                                colon + 1);
        }
        if (!strcmp(f, "title"))
            f = "display_name";
        if (!in_list(known, f))
            return pgr_errf(err, PGR_EINVAL, "sort: unknown field '%s' for %s", f, entity_name(e));
        if (!strcmp(f, "relevance_score") && !searching)
            return pgr_errf(err, PGR_EINVAL,
                            "sort: relevance_score needs a search (search= or a .search filter)");
        sorts[i].field = f;
        sorts[i].desc = desc;
    }
    q->sorts = sorts;
    q->n_sorts = n;
    return 0;
}

static int parse_select(pgr_arena *a, const char *param, pgr_query *q, pgr_err *err)
{
    size_t n;
    char **items = split(a, param, ',', &n);
    if (!items)
        return pgr_errf(err, PGR_ENOMEM, "select: out of memory");
    if (n > 64)
        return pgr_errf(err, PGR_EINVAL, "select: more than 64 fields");
    for (size_t i = 0; i < n; i++) {
        const char *f = trim(items[i]);
        if (!*f)
            return pgr_errf(err, PGR_EINVAL, "select: empty field name");
        for (const char *p = f; *p; p++)
            if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
                return pgr_errf(err, PGR_EINVAL,
                                "select: '%s' is not a top-level field name (nested fields "
                                "cannot be selected)",
                                f);
        items[i] = (char *)f;
    }
    q->select = (const char *const *)items;
    q->n_select = n;
    return 0;
}

/* Strict positive integer within [lo, hi]; the message names the parameter. */
static int parse_int(const char *name, const char *v, long lo, long hi, int *out, pgr_err *err)
{
    size_t n = strlen(v);
    if (n == 0 || n > 9)
        goto bad;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)v[i]))
            goto bad;
    long x = strtol(v, NULL, 10);
    if (x < lo || x > hi)
        goto bad;
    *out = (int)x;
    return 0;
bad:
    return pgr_errf(err, PGR_EINVAL, "%s: '%.40s' is not a whole number from %ld to %ld", name, v,
                    lo, hi);
}

int api_parse_list(pgr_arena *a, const char *public_url, pgr_entity e, const srv_kv *kv, size_t n,
                   pgr_query *q, pgr_err *err)
{
    static const char *const known[] = {"filter", "search",  "sort",   "per-page", "per_page",
                                        "page",   "cursor",  "select", "group_by", "group-by",
                                        "mailto", "api_key", NULL};
    const char *vals[sizeof known / sizeof known[0]] = {0};
    memset(q, 0, sizeof *q);
    q->entity = e;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (known[k] && strcmp(known[k], kv[i].name))
            k++;
        if (!known[k])
            return pgr_errf(err, PGR_EINVAL,
                            "unknown parameter '%.60s' (known: filter, search, sort, per-page, "
                            "page, cursor, select, group_by)",
                            kv[i].name);
        if (vals[k])
            return pgr_errf(err, PGR_EINVAL, "%s: given more than once", known[k]);
        vals[k] = kv[i].value;
    }
    /* indexes into known[] */
    const char *filter = vals[0], *search = vals[1], *sort = vals[2], *per_page = vals[3],
               *page = vals[5], *cursor = vals[6], *select = vals[7], *group = vals[8];
    if (per_page && vals[4])
        return pgr_errf(err, PGR_EINVAL, "per-page and per_page: give only one");
    if (!per_page)
        per_page = vals[4];
    if (group && vals[9])
        return pgr_errf(err, PGR_EINVAL, "group_by and group-by: give only one");
    if (!group)
        group = vals[9];

    q->per_page = 25;
    if (per_page && parse_int("per-page", per_page, 1, 200, &q->per_page, err) < 0)
        return -1;
    if (page && cursor)
        return pgr_errf(err, PGR_EINVAL, "page and cursor: give only one");
    if (page) {
        /* As OpenAlex: page paging reaches the first 10000 results; beyond,
         * cursors (which do not re-scan the skipped rows). */
        if (parse_int("page", page, 1, 10000, &q->page, err) < 0)
            return -1;
        if ((long)q->page * q->per_page > 10000)
            return pgr_errf(err, PGR_EINVAL,
                            "page: page * per-page may not exceed 10000; use cursor paging");
    }
    if (cursor) {
        if (!*cursor || strlen(cursor) > 1024)
            return pgr_errf(err, PGR_EINVAL, "cursor: not a cursor this server issued");
        q->cursor = cursor;
    }

    pgr_sb text = {0};
    flist fl = {0};
    if (search && *search) {
        pgr_fts_query fq;
        if (pgr_fts_parse("search", search, 0, &fq, err) < 0)
            goto fail;
        pgr_fts_free(&fq);
        pgr_sb_printf(&text, "(%s)", search);
    }
    if (filter && parse_filter(a, public_url, e, filter, &fl, &text, err) < 0)
        goto fail;
    if (!pgr_sb_ok(&text)) {
        pgr_errf(err, PGR_ENOMEM, "search: out of memory");
        goto fail;
    }
    if (text.len) {
        q->search = pgr_arena_strdup(a, text.data);
        if (!q->search) {
            pgr_errf(err, PGR_ENOMEM, "search: out of memory");
            goto fail;
        }
    }
    pgr_sb_free(&text);
    q->filters = fl.items;
    q->n_filters = fl.n;
    if (sort && parse_sort(a, e, sort, q->search != NULL, q, err) < 0)
        return -1;
    if (select && parse_select(a, select, q, err) < 0)
        return -1;
    if (group) {
        const char *const *groups = e == PGR_WORKS          ? work_groups
                                    : e == PGR_AUTHORS      ? author_groups
                                    : e == PGR_TOPICS       ? topic_groups
                                    : e == PGR_INSTITUTIONS ? institution_groups
                                                            : no_groups;
        if (!in_list(groups, group))
            return pgr_errf(err, PGR_EINVAL, "group_by: cannot group %s by '%.60s'", entity_name(e),
                            group);
        if (select)
            return pgr_errf(err, PGR_EINVAL, "select: cannot be combined with group_by");
        q->group_by = group;
    }
    return 0;
fail:
    pgr_sb_free(&text);
    return -1;
}
