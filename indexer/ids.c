/* Canonical arXiv ids and DOIs (see ids.h for the accepted spellings). */
#include "indexer/ids.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Strips a case-insensitive prefix when present. */
static int eat(const char **s, size_t *len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (*len >= n && !strncasecmp(*s, prefix, n)) {
        *s += n;
        *len -= n;
        return 1;
    }
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return n > 0;
}

/* Parses an optional "vN" suffix occupying s[0..len) exactly. */
static int parse_version(const char *s, size_t len, int *version)
{
    *version = 0;
    if (len == 0)
        return 0;
    if ((s[0] != 'v' && s[0] != 'V') || len < 2 || len > 5 || !all_digits(s + 1, len - 1))
        return -1;
    int v = 0;
    for (size_t i = 1; i < len; i++)
        v = v * 10 + (s[i] - '0');
    if (v < 1)
        return -1;
    *version = v;
    return 0;
}

int ix_arxiv_canon(const char *s, size_t len, char out[IX_ARXIV_ID_MAX], int *version)
{
    int ver = 0;
    out[0] = '\0';
    if (version)
        *version = 0;
    if (!s)
        return -1;
    while (len && is_space(*s))
        s++, len--;
    while (len && is_space(s[len - 1]))
        len--;
    if (!eat(&s, &len, "oai:arxiv.org:"))
        eat(&s, &len, "arxiv:");
    if (eat(&s, &len, "https://") || eat(&s, &len, "http://")) {
        if (!eat(&s, &len, "www."))
            eat(&s, &len, "export.");
        if (!eat(&s, &len, "arxiv.org/"))
            return -1;
        if (!eat(&s, &len, "abs/") && !eat(&s, &len, "pdf/"))
            return -1;
    }
    if (len >= 4 && !strncasecmp(s + len - 4, ".pdf", 4))
        len -= 4;
    if (len == 0 || len >= IX_ARXIV_ID_MAX)
        return -1;

    if (isdigit((unsigned char)s[0])) {
        /* New style (2007-): YYMM.NNNN (to 2014) or YYMM.NNNNN (2015-). */
        if (len < 9 || !all_digits(s, 4) || s[4] != '.')
            return -1;
        int month = (s[2] - '0') * 10 + (s[3] - '0');
        if (month < 1 || month > 12)
            return -1;
        size_t n = 0;
        while (5 + n < len && isdigit((unsigned char)s[5 + n]))
            n++;
        if (n != 4 && n != 5)
            return -1;
        if (parse_version(s + 5 + n, len - 5 - n, &ver))
            return -1;
        memcpy(out, s, 5 + n);
        out[5 + n] = '\0';
    } else {
        /* Old style (1991-2007): archive[.SC]/YYMMNNN. */
        size_t a = 0;
        while (a < len && (isalpha((unsigned char)s[a]) || s[a] == '-'))
            a++;
        if (a < 2 || a > 24)
            return -1;
        size_t p = a;
        if (p < len && s[p] == '.') { /* subject class: dropped */
            p++;
            size_t c = p;
            while (p < len && (isalpha((unsigned char)s[p]) || s[p] == '-'))
                p++;
            if (p == c)
                return -1;
        }
        if (p >= len || s[p] != '/')
            return -1;
        p++;
        if (len - p < 7 || !all_digits(s + p, 7))
            return -1;
        int month = (s[p + 2] - '0') * 10 + (s[p + 3] - '0');
        if (month < 1 || month > 12)
            return -1;
        if (parse_version(s + p + 7, len - p - 7, &ver))
            return -1;
        for (size_t i = 0; i < a; i++)
            out[i] = (char)tolower((unsigned char)s[i]);
        out[a] = '/';
        memcpy(out + a + 1, s + p, 7);
        out[a + 8] = '\0';
    }
    if (version)
        *version = ver;
    return 0;
}

int ix_doi_canon(const char *s, size_t len, char out[IX_DOI_MAX])
{
    out[0] = '\0';
    if (!s)
        return -1;
    while (len && is_space(*s))
        s++, len--;
    /* First token only. */
    size_t n = 0;
    while (n < len && !is_space(s[n]))
        n++;
    len = n;
    if (!eat(&s, &len, "doi:")) {
        if (eat(&s, &len, "https://") || eat(&s, &len, "http://")) {
            if (!eat(&s, &len, "dx.doi.org/") && !eat(&s, &len, "doi.org/") &&
                !eat(&s, &len, "www.doi.org/"))
                return -1;
        }
    }
    /* 10.<registrant, digits and dots>/<suffix, non-empty> */
    if (len < 6 || len >= IX_DOI_MAX || s[0] != '1' || s[1] != '0' || s[2] != '.')
        return -1;
    size_t i = 3;
    while (i < len && (isdigit((unsigned char)s[i]) || s[i] == '.'))
        i++;
    if (i == 3 || i >= len - 1 || s[i] != '/')
        return -1;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c < 0x20 || c == 0x7f)
            return -1;
        out[k] = (char)(c < 0x80 ? tolower(c) : c);
    }
    out[len] = '\0';
    return 0;
}

const char *ix_arxiv_canon_a(pgr_arena *a, const char *s, int *version)
{
    char buf[IX_ARXIV_ID_MAX];
    if (!s || ix_arxiv_canon(s, strlen(s), buf, version))
        return NULL;
    return pgr_arena_strdup(a, buf);
}

const char *ix_doi_canon_a(pgr_arena *a, const char *s)
{
    char buf[IX_DOI_MAX];
    if (!s || ix_doi_canon(s, strlen(s), buf))
        return NULL;
    return pgr_arena_strdup(a, buf);
}

int ix_orcid_canon(const char *s, char out[IX_ORCID_LEN + 1])
{
    static const char *const prefixes[] = {"https://orcid.org/", "http://orcid.org/",
                                           "https://www.orcid.org/", "http://www.orcid.org/",
                                           "orcid.org/"};
    out[0] = '\0';
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(s, prefixes[i], n)) {
            s += n;
            break;
        }
    }
    if (strlen(s) != IX_ORCID_LEN)
        return -1;
    int total = 0, digits = 0;
    for (int i = 0; i < IX_ORCID_LEN; i++) {
        char c = s[i];
        if (i == 4 || i == 9 || i == 14) {
            if (c != '-')
                return -1;
            continue;
        }
        if (++digits == 16) { /* the check digit: 0-9 or X (10) */
            int want = (12 - total % 11) % 11;
            int got = c == 'X' ? 10 : (c >= '0' && c <= '9') ? c - '0' : -1;
            if (got != want)
                return -1;
        } else {
            if (c < '0' || c > '9')
                return -1;
            total = (total + (c - '0')) * 2;
        }
    }
    memcpy(out, s, IX_ORCID_LEN);
    out[IX_ORCID_LEN] = '\0';
    return 0;
}
