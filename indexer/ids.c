/* Canonical arXiv ids and DOIs (see ids.h). */
#include "indexer/ids.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int starts_with_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

/* Length of s without trailing white space. */
static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return n;
}

/* Parses "vN" at p (up to end); returns the number of bytes used, 0 when none,
 * -1 when malformed. */
static int parse_version(const char *p, const char *end, int *version)
{
    if (p == end)
        return 0;
    if (*p != 'v' && *p != 'V')
        return -1;
    const char *q = p + 1;
    long v = 0;
    if (q == end || !isdigit((unsigned char)*q))
        return -1;
    while (q < end && isdigit((unsigned char)*q)) {
        v = v * 10 + (*q - '0');
        if (v > 100000)
            return -1;
        q++;
    }
    if (q != end || v == 0)
        return -1;
    *version = (int)v;
    return (int)(q - p);
}

int ix_arxiv_canon(const char *s, char out[IX_ARXIV_ID_MAX], int *version)
{
    int ver = 0;
    if (!s)
        return -1;
    s = skip_space(s);
    static const char *const prefixes[] = {
        "https://arxiv.org/abs/", "http://arxiv.org/abs/", "https://arxiv.org/pdf/",
        "http://arxiv.org/pdf/",  "https://export.arxiv.org/abs/", "http://export.arxiv.org/abs/",
        "https://www.arxiv.org/abs/", "http://www.arxiv.org/abs/", "arxiv.org/abs/",
        "oai:arXiv.org:", "arXiv:",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (starts_with_ci(s, prefixes[i])) {
            s += strlen(prefixes[i]);
            break;
        }
    size_t n = trimmed_len(s);
    const char *end = s + n;
    if (n >= 4 && !strncasecmp(end - 4, ".pdf", 4))
        end -= 4;
    if (end - s >= IX_ARXIV_ID_MAX || end == s)
        return -1;

    /* New style: YYMM.NNNN or YYMM.NNNNN */
    if (end - s >= 9 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
        isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '.') {
        int mm = (s[2] - '0') * 10 + (s[3] - '0');
        if (mm < 1 || mm > 12)
            return -1;
        const char *p = s + 5;
        while (p < end && isdigit((unsigned char)*p))
            p++;
        size_t digits = (size_t)(p - (s + 5));
        int yy = (s[0] - '0') * 10 + (s[1] - '0');
        /* 4 digits until 1412, 5 digits from 1501 */
        if (digits == 4 ? (yy > 14) : digits == 5 ? (yy < 15) : 1)
            return -1;
        if (yy < 7 || (yy == 7 && mm < 4))
            return -1; /* new-style ids begin with 0704 */
        if (parse_version(p, end, &ver) < 0)
            return -1;
        memcpy(out, s, (size_t)(p - s));
        out[p - s] = 0;
        if (version)
            *version = ver;
        return 0;
    }

    /* Old style: archive[.SC]/YYMMNNN */
    const char *slash = memchr(s, '/', (size_t)(end - s));
    if (!slash)
        return -1;
    const char *arch_end = slash;
    const char *dot = memchr(s, '.', (size_t)(slash - s));
    if (dot)
        arch_end = dot;
    if (arch_end == s)
        return -1;
    for (const char *p = s; p < arch_end; p++)
        if (!(isalpha((unsigned char)*p) || *p == '-'))
            return -1;
    if (dot) { /* subject class: letters (e.g. GT, "math.GT/0309136") */
        for (const char *p = dot + 1; p < slash; p++)
            if (!isalpha((unsigned char)*p))
                return -1;
        if (dot + 1 == slash)
            return -1;
    }
    const char *num = slash + 1;
    const char *p = num;
    while (p < end && isdigit((unsigned char)*p))
        p++;
    if (p - num != 7)
        return -1;
    int mm = (num[2] - '0') * 10 + (num[3] - '0');
    if (mm < 1 || mm > 12)
        return -1;
    if (parse_version(p, end, &ver) < 0)
        return -1;
    size_t alen = (size_t)(arch_end - s);
    if (alen + 1 + 7 + 1 > IX_ARXIV_ID_MAX)
        return -1;
    for (size_t i = 0; i < alen; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[alen] = '/';
    memcpy(out + alen + 1, num, 7);
    out[alen + 8] = 0;
    if (version)
        *version = ver;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int ix_doi_canon(const char *s, char out[IX_DOI_MAX])
{
    if (!s)
        return -1;
    s = skip_space(s);
    int url = 0;
    static const char *const url_prefixes[] = {
        "https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/",
        "doi.org/", "dx.doi.org/",
    };
    for (size_t i = 0; i < sizeof url_prefixes / sizeof url_prefixes[0]; i++)
        if (starts_with_ci(s, url_prefixes[i])) {
            s += strlen(url_prefixes[i]);
            url = 1;
            break;
        }
    if (!url && starts_with_ci(s, "doi:"))
        s = skip_space(s + 4);
    size_t n = trimmed_len(s);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (url && c == '%' && i + 2 < n) {
            int h = hexval((unsigned char)s[i + 1]);
            int l = hexval((unsigned char)s[i + 2]);
            if (h >= 0 && l >= 0) {
                c = h * 16 + l;
                i += 2;
            }
        }
        if (c < 0x20 || c == 0x7f || c == ' ')
            return -1; /* DOIs contain no control characters or spaces */
        if (o + 1 >= IX_DOI_MAX)
            return -1;
        out[o++] = (char)(c < 0x80 ? tolower(c) : c);
    }
    out[o] = 0;
    /* "10." + registrant digits (dots allowed) + "/" + non-empty suffix */
    if (o < 6 || strncmp(out, "10.", 3) != 0)
        return -1;
    size_t i = 3;
    if (!isdigit((unsigned char)out[i]))
        return -1;
    while (i < o && (isdigit((unsigned char)out[i]) || out[i] == '.'))
        i++;
    if (i >= o || out[i] != '/' || i + 1 >= o)
        return -1;
    return 0;
}
