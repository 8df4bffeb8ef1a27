/* Text folding for search. Both backends index the same folded text, so a
 * token is a token on either side: SQLite's FTS5 (unicode61 over the folded
 * text) and PostgreSQL's 'simple' tsvector see identical words. */
#include <string.h>
#include <utf8proc.h>

#include "graph/store_impl.h"

static int is_word_cp(utf8proc_int32_t cp)
{
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

void pgr_fold(const char *in, pgr_sb *out)
{
    if (!in)
        return;
    size_t start = out->len;
    int need_space = 0; /* a separator is pending before the next word char */
    const unsigned char *p = (const unsigned char *)in;
    while (*p) {
        if (*p < 0x80) { /* ASCII fast path: most metadata is ASCII */
            unsigned char c = *p++;
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            } else if (c >= 'A' && c <= 'Z') {
                c = (unsigned char)(c - 'A' + 'a');
            } else {
                need_space = 1;
                continue;
            }
            if (need_space && out->len > start)
                pgr_sb_putc(out, ' ');
            need_space = 0;
            pgr_sb_putc(out, (char)c);
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
        if (n <= 0) { /* invalid byte: a separator */
            p++;
            need_space = 1;
            continue;
        }
        p += n;
        utf8proc_int32_t dec[32];
        int last = 0;
        utf8proc_ssize_t m = utf8proc_decompose_char(
            cp, dec, 32,
            UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK, &last);
        if (m < 0 || m > 32) {
            need_space = 1;
            continue;
        }
        for (utf8proc_ssize_t i = 0; i < m; i++) {
            if (!is_word_cp(dec[i])) {
                need_space = 1;
                continue;
            }
            if (need_space && out->len > start)
                pgr_sb_putc(out, ' ');
            need_space = 0;
            utf8proc_uint8_t buf[4];
            utf8proc_ssize_t k = utf8proc_encode_char(dec[i], buf);
            pgr_sb_append(out, (const char *)buf, (size_t)k);
        }
    }
}

int pgr_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] == 0)
            return 0;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0)
            return 0;
        i += (size_t)k;
    }
    return 1;
}
