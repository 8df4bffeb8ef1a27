/* The web pages' template engine: see page_tmpl.h for the syntax. Templates
 * are parsed into a flat node array where a section node knows where its
 * body ends, so rendering is a walk without allocation beyond the output. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/page_tmpl.h"

enum node_kind { N_TEXT, N_VAR, N_URL, N_RAW, N_SECTION, N_INVERTED, N_PARTIAL };

typedef struct node {
    enum node_kind kind;
    const char *s; /* text, or the name / path */
    size_t len;
    size_t end; /* sections: index of the node after the body */
} node;

typedef struct tmpl {
    char *name;
    char *text; /* owned copy the nodes point into */
    node *nodes;
    size_t n;
} tmpl;

struct tmpl_set {
    tmpl *v;
    size_t n, cap;
};

#define MAX_DEPTH 64 /* section nesting while rendering */
#define MAX_PARTIALS 16

tmpl_set *tmpl_set_new(void)
{
    return calloc(1, sizeof(tmpl_set));
}

static void tmpl_clear(tmpl *t)
{
    free(t->name);
    free(t->text);
    free(t->nodes);
}

void tmpl_set_free(tmpl_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        tmpl_clear(&set->v[i]);
    free(set->v);
    free(set);
}

static const tmpl *find(const tmpl_set *set, const char *name, size_t len)
{
    for (size_t i = 0; i < set->n; i++)
        if (strlen(set->v[i].name) == len && memcmp(set->v[i].name, name, len) == 0)
            return &set->v[i];
    return NULL;
}

int tmpl_set_has(const tmpl_set *set, const char *name)
{
    return find(set, name, strlen(name)) != NULL;
}

static int line_of(const char *text, const char *at)
{
    int line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

static int push_node(node **v, size_t *n, size_t *cap, node nd)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 32, bytes;
        if (!pgr_mul_ok(c, sizeof **v, &bytes))
            return -1;
        node *nv = realloc(*v, bytes);
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = nd;
    return 0;
}

static int valid_name(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Parses text into nodes; open sections are tracked on a small stack. */
static int parse(tmpl *t, const char *tname, pgr_err *err)
{
    size_t n = 0, cap = 0, stack[MAX_DEPTH], depth = 0;
    node *v = NULL;
    const char *p = t->text, *end = t->text + strlen(t->text);
    while (p < end) {
        const char *open = strstr(p, "{{");
        if (!open)
            open = end;
        if (open > p && push_node(&v, &n, &cap, (node){N_TEXT, p, (size_t)(open - p), 0}))
            goto oom;
        if (open == end)
            break;
        const char *close = strstr(open + 2, "}}");
        if (!close) {
            pgr_errf(err, PGR_EINVAL, "template %s: line %d: '{{' without '}}'", tname,
                     line_of(t->text, open));
            goto fail;
        }
        const char *s = open + 2;
        char sigil = *s;
        enum node_kind kind = N_VAR;
        if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '&' || sigil == '%' ||
            sigil == '>' || sigil == '!')
            s++;
        p = close + 2;
        if (sigil == '!')
            continue;
        while (s < close && *s == ' ')
            s++;
        const char *e = close;
        while (e > s && e[-1] == ' ')
            e--;
        size_t len = (size_t)(e - s);
        if (!valid_name(s, len)) {
            pgr_errf(err, PGR_EINVAL, "template %s: line %d: bad tag '%.*s'", tname,
                     line_of(t->text, open), (int)(close + 2 - open), open);
            goto fail;
        }
        switch (sigil) {
        case '#':
            kind = N_SECTION;
            break;
        case '^':
            kind = N_INVERTED;
            break;
        case '&':
            kind = N_RAW;
            break;
        case '%':
            kind = N_URL;
            break;
        case '>':
            kind = N_PARTIAL;
            break;
        case '/': {
            if (depth == 0 || v[stack[depth - 1]].len != len ||
                memcmp(v[stack[depth - 1]].s, s, len) != 0) {
                pgr_errf(err, PGR_EINVAL,
                         "template %s: line %d: '{{/%.*s}}' closes no open section", tname,
                         line_of(t->text, open), (int)len, s);
                goto fail;
            }
            v[stack[--depth]].end = n;
            continue;
        }
        default:
            break;
        }
        if (push_node(&v, &n, &cap, (node){kind, s, len, 0}))
            goto oom;
        if (kind == N_SECTION || kind == N_INVERTED) {
            if (depth == MAX_DEPTH) {
                pgr_errf(err, PGR_EINVAL, "template %s: line %d: sections nest deeper than %d",
                         tname, line_of(t->text, open), MAX_DEPTH);
                goto fail;
            }
            stack[depth++] = n - 1;
        }
    }
    if (depth) {
        node *o = &v[stack[depth - 1]];
        pgr_errf(err, PGR_EINVAL, "template %s: line %d: section '%.*s' is never closed", tname,
                 line_of(t->text, o->s), (int)o->len, o->s);
        goto fail;
    }
    t->nodes = v;
    t->n = n;
    return 0;
oom:
    pgr_errf(err, PGR_ENOMEM, "template %s: out of memory", tname);
fail:
    free(v);
    return -1;
}

int tmpl_set_add(tmpl_set *set, const char *name, const char *text, size_t len, pgr_err *err)
{
    tmpl t = {0};
    if (memchr(text, '\0', len))
        return pgr_errf(err, PGR_EINVAL, "template %s: contains a NUL byte", name);
    t.name = strdup(name);
    t.text = malloc(len + 1);
    if (!t.name || !t.text) {
        tmpl_clear(&t);
        return pgr_errf(err, PGR_ENOMEM, "template %s: out of memory", name);
    }
    memcpy(t.text, text, len);
    t.text[len] = '\0';
    if (parse(&t, name, err) != 0) {
        tmpl_clear(&t);
        return -1;
    }
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i].name, name) == 0) {
            tmpl_clear(&set->v[i]);
            set->v[i] = t;
            return 0;
        }
    if (set->n == set->cap) {
        size_t c = set->cap ? set->cap * 2 : 16, bytes;
        tmpl *nv = pgr_mul_ok(c, sizeof *nv, &bytes) ? realloc(set->v, bytes) : NULL;
        if (!nv) {
            tmpl_clear(&t);
            return pgr_errf(err, PGR_ENOMEM, "template %s: out of memory", name);
        }
        set->v = nv;
        set->cap = c;
    }
    set->v[set->n++] = t;
    return 0;
}

int tmpl_set_load_dir(tmpl_set *set, const char *dir, pgr_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return pgr_errf(err, PGR_EIO, "templates: cannot open directory %s", dir);
    int rc = 0, count = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l <= 5 || strcmp(de->d_name + l - 5, ".html") != 0 || de->d_name[0] == '.')
            continue;
        char path[4096], name[256];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path ||
            l - 5 >= sizeof name) {
            rc = pgr_errf(err, PGR_EINVAL, "templates: name too long: %s/%s", dir, de->d_name);
            break;
        }
        memcpy(name, de->d_name, l - 5);
        name[l - 5] = '\0';
        char *data = NULL;
        size_t len = 0;
        rc = pgr_read_file(path, &data, &len, err);
        if (rc == 0)
            rc = tmpl_set_add(set, name, data, len, err);
        free(data);
        count++;
    }
    closedir(d);
    if (rc == 0 && count == 0)
        rc = pgr_errf(err, PGR_EINVAL, "templates: no *.html files in %s", dir);
    return rc;
}

/* ---- escaping ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80), 0 if invalid:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000;
    else
        return 0;
    if (left < n)
        return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void tmpl_escape_html(pgr_sb *out, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* run: start of bytes copied as they are */
    while (i < len) {
        unsigned char c = u[i];
        const char *rep = NULL;
        size_t adv = 1;
        if (c >= 0x80) {
            adv = utf8_seq(u + i, len - i);
            if (adv == 0) {
                rep = "\xEF\xBF\xBD";
                adv = 1;
            }
        } else {
            switch (c) {
            case '&':
                rep = "&amp;";
                break;
            case '<':
                rep = "&lt;";
                break;
            case '>':
                rep = "&gt;";
                break;
            case '"':
                rep = "&quot;";
                break;
            case '\'':
                rep = "&#39;";
                break;
            case '`':
                rep = "&#96;";
                break;
            case '=':
                rep = "&#61;";
                break;
            case '\0':
                rep = "\xEF\xBF\xBD";
                break;
            default:
                break;
            }
        }
        if (rep) {
            pgr_sb_append(out, s + run, i - run);
            pgr_sb_puts(out, rep);
            run = i + adv;
        }
        i += adv;
    }
    pgr_sb_append(out, s + run, len - run);
}

void tmpl_escape_url(pgr_sb *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            pgr_sb_putc(out, (char)c);
        } else {
            char b[3] = {'%', hex[c >> 4], hex[c & 15]};
            pgr_sb_append(out, b, 3);
        }
    }
}

/* ---- trust --------------------------------------------------------------- */

json_t *tmpl_safe(tmpl_trust *trust, const char *html)
{
    json_t *j = json_string(html);
    if (!j)
        j = json_stringn_nocheck(
            html, strlen(html)); /* our own fragment; escaped at render if not trusted */
    if (!j)
        return NULL;
    if (trust->n == trust->cap) {
        size_t c = trust->cap ? trust->cap * 2 : 16, bytes;
        json_t **nv = pgr_mul_ok(c, sizeof *nv, &bytes) ? realloc(trust->v, bytes) : NULL;
        if (!nv) {
            json_decref(j);
            return NULL;
        }
        trust->v = nv;
        trust->cap = c;
    }
    trust->v[trust->n++] = json_incref(j);
    return j;
}

void tmpl_trust_free(tmpl_trust *trust)
{
    if (!trust)
        return;
    for (size_t i = 0; i < trust->n; i++)
        json_decref(trust->v[i]);
    free(trust->v);
    trust->v = NULL;
    trust->n = trust->cap = 0;
}

static int trusted(const tmpl_trust *trust, const json_t *j)
{
    if (!trust)
        return 0;
    for (size_t i = 0; i < trust->n; i++)
        if (trust->v[i] == j)
            return 1;
    return 0;
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct render {
    const tmpl_set *set;
    const tmpl_trust *trust;
    pgr_sb *out;
    json_t *ctx[MAX_DEPTH + 1];
    size_t depth;
    int partials;
    pgr_err *err;
} render;

static json_t *lookup(const render *r, const char *path, size_t len)
{
    if (len == 1 && path[0] == '.')
        return r->ctx[r->depth - 1];
    const char *dot = memchr(path, '.', len);
    size_t first = dot ? (size_t)(dot - path) : len;
    json_t *v = NULL;
    char key[128];
    if (first >= sizeof key)
        return NULL;
    memcpy(key, path, first);
    key[first] = '\0';
    for (size_t i = r->depth; i-- > 0;)
        if (json_is_object(r->ctx[i]) && (v = json_object_get(r->ctx[i], key)) != NULL)
            break;
    while (v && dot) {
        const char *seg = dot + 1;
        const char *stop = path + len;
        dot = memchr(seg, '.', (size_t)(stop - seg));
        size_t sl = dot ? (size_t)(dot - seg) : (size_t)(stop - seg);
        if (sl >= sizeof key)
            return NULL;
        memcpy(key, seg, sl);
        key[sl] = '\0';
        if (json_is_array(v)) {
            /* numeric segment: an array element ("items.0": "has a first item") */
            char *end;
            unsigned long ix = strtoul(key, &end, 10);
            v = (*key && !*end) ? json_array_get(v, ix) : NULL;
        } else {
            v = json_is_object(v) ? json_object_get(v, key) : NULL;
        }
    }
    return v;
}

static int truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return 1;
}

static void put_value(render *r, const json_t *v, enum node_kind kind)
{
    char num[64];
    const char *s = NULL;
    size_t len = 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_integer(v)) {
        len = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        len = (size_t)snprintf(num, sizeof num, "%g", json_real_value(v));
        s = num;
    } else if (json_is_true(v)) {
        s = "true", len = 4;
    } else if (json_is_false(v)) {
        s = "false", len = 5;
    }
    if (!s)
        return;
    if (kind == N_URL)
        tmpl_escape_url(r->out, s, len);
    else if (kind == N_RAW && json_is_string(v) && trusted(r->trust, v))
        pgr_sb_append(r->out, s, len);
    else
        tmpl_escape_html(r->out, s, len);
}

static int render_nodes(render *r, const tmpl *t, size_t from, size_t to);

static int render_section(render *r, const tmpl *t, size_t i, json_t *v)
{
    const node *nd = &t->nodes[i];
    if (r->depth > MAX_DEPTH - 1)
        return pgr_errf(r->err, PGR_EINVAL, "template %s: sections nest too deep", t->name);
    if (json_is_array(v)) {
        size_t k;
        json_t *el;
        json_array_foreach(v, k, el)
        {
            r->ctx[r->depth++] = el;
            int rc = render_nodes(r, t, i + 1, nd->end);
            r->depth--;
            if (rc)
                return rc;
        }
        return 0;
    }
    r->ctx[r->depth++] = v;
    int rc = render_nodes(r, t, i + 1, nd->end);
    r->depth--;
    return rc;
}

static int render_nodes(render *r, const tmpl *t, size_t from, size_t to)
{
    for (size_t i = from; i < to;) {
        const node *nd = &t->nodes[i];
        switch (nd->kind) {
        case N_TEXT:
            pgr_sb_append(r->out, nd->s, nd->len);
            i++;
            break;
        case N_VAR:
        case N_URL:
        case N_RAW: {
            json_t *v = lookup(r, nd->s, nd->len);
            if (v)
                put_value(r, v, nd->kind);
            i++;
            break;
        }
        case N_SECTION: {
            json_t *v = lookup(r, nd->s, nd->len);
            if (truthy(v) && render_section(r, t, i, v))
                return -1;
            i = nd->end;
            break;
        }
        case N_INVERTED: {
            json_t *v = lookup(r, nd->s, nd->len);
            if (!truthy(v) && render_nodes(r, t, i + 1, nd->end))
                return -1;
            i = nd->end;
            break;
        }
        case N_PARTIAL: {
            const tmpl *p = find(r->set, nd->s, nd->len);
            if (!p)
                return pgr_errf(r->err, PGR_EINVAL, "template %s: unknown partial '%.*s'", t->name,
                                (int)nd->len, nd->s);
            if (r->partials >= MAX_PARTIALS)
                return pgr_errf(r->err, PGR_EINVAL,
                                "template %s: partials nest deeper than %d (a cycle?)", t->name,
                                MAX_PARTIALS);
            r->partials++;
            int rc = render_nodes(r, p, 0, p->n);
            r->partials--;
            if (rc)
                return rc;
            i++;
            break;
        }
        }
    }
    return 0;
}

int tmpl_render(const tmpl_set *set, const char *name, json_t *data, const tmpl_trust *trust,
                pgr_sb *out, pgr_err *err)
{
    const tmpl *t = find(set, name, strlen(name));
    if (!t)
        return pgr_errf(err, PGR_EINVAL, "template %s: not loaded", name);
    render r = {.set = set, .trust = trust, .out = out, .err = err};
    r.ctx[r.depth++] = data;
    if (render_nodes(&r, t, 0, t->n) != 0)
        return -1;
    if (!pgr_sb_ok(out))
        return pgr_errf(err, PGR_ENOMEM, "template %s: out of memory", name);
    return 0;
}
