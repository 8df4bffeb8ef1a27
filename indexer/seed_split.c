/* The splitter for the compact metrics list, where one line holds a title
 * immediately followed by its authors with no separator:
 *
 *   "Vega-MT: The JD Explore Academy Translation System for WMT22Changtong Zan, Keqin Peng, Liang
 * Ding et al."
 *
 * Method: score every candidate split point and keep the best.
 *
 * 1. Candidates. A split point k is a code point boundary where line[k] is an
 *    uppercase letter (the first author's first letter; accented capitals
 *    count) and the character before k is not a blank: the site glues the two
 *    fields, so the split falls inside a whitespace token whose head ends the
 *    title ("WMT22|Changtong", "APIs|Guoheng", "Tasks?|Yatong"). A split at a
 *    blank is never taken: "Title Words Anna Lee" has no reliable boundary
 *    (is "Words Anna Lee" a name?), and rejecting the page beats guessing.
 *    Only the tail of the line can hold authors, so candidates start at the
 *    last token (scanning back over "Name," tokens) that cannot be part of a
 *    personal name, and at most SPLIT_WINDOW bytes before the end. A split
 *    point whose first token is not a name token is dropped at once; a line
 *    with more than SPLIT_MAX_PARSED readable split points is refused.
 * 2. Validity. line[k..] must parse as an author list (sd_parse_author_list):
 *    comma-separated personal names of 2-4 capitalised tokens (initials,
 *    particles, hyphenated and accented names allowed; one extra capital only
 *    after Mc/Mac/Le/De/Di/... as in "McDonald"), an optional "et al." or "+N",
 *    an optional " · affiliation". The glued token "APIsGuoheng" is not a
 *    name token, so a split left of the true boundary is invalid: the author
 *    part would contain it. The title line[0..k) must be non-empty.
 *    Where the strict list fails, the relaxed reading (one-token and all-caps
 *    names, a first name opening with lowercase particles: "Datavan der
 *    Maaten" splits before "van") still competes, 3 points down.
 * 3. Score of a valid candidate (higher is better):
 *    + 10 x mean name quality of the author list;
 *    + the boundary transition (last title char -> first author letter):
 *      lower->Upper +3, digit->Upper +3, acronym->Capitalised word +2,
 *      closing punctuation ) ] ? ! . " -> Upper +2; hyphen or slash -6 ("Run-|Ze Fan" splits a
 *      name); comma, semicolon, colon, ampersand, plus -6 (a title does not
 *      end with a separator);
 *    - 6 when the whitespace token around the split point is itself a name
 *      token ("Mac|Kenzie", "Fitz|Gerald", "O'|Neil", "J.|R."): the true
 *      boundary glues the title's last word to a name, which makes no name
 *      token ("APIs|Guoheng");
 *    - 4 when the title would end with a function word ("of", "for", "via",
 *      ...): a title does not end mid-phrase;
 *    - 4 when the title would end with ", Name Name" (an author left behind);
 *    + evidence from the page (known = full names read on its other entries):
 *      +1 per known author (at most +5), +2 more when the first author is known.
 * 4. The highest score wins; ties go to the leftmost candidate (the longest
 *    author list). The margin over the runner-up is reported so callers can
 *    judge ambiguity. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "indexer/seed_common.h"

#define SPLIT_WINDOW 4096u   /* author lists glued to titles are far shorter */
#define SPLIT_MAX_PARSED 32u /* real lines have 1-3 readable split points */
#define NAME_TOKEN_MAX 64u   /* longer "name tokens" are not names */

/* Cheap filter before parsing the whole tail: the first token at a split
 * point must be a name token. Bounded by NAME_TOKEN_MAX so that hostile
 * lines cost O(window) per line, not O(window^2). */
static int first_token_ok(const char *s, size_t len)
{
    size_t j = 0;
    while (j < len && s[j] != ' ' && s[j] != ',') {
        if (++j > NAME_TOKEN_MAX)
            return 0;
    }
    return sd_token_class(s, j) != SD_TK_BAD;
}

static const char *const function_words[] = {
    "a",   "an",      "the",    "of",      "for",  "and",   "or",      "with",
    "via", "to",      "in",     "on",      "from", "by",    "at",      "into",
    "as",  "towards", "toward", "through", "over", "under", "between", NULL};

static int is_function_word(const char *s, size_t len)
{
    char buf[16];
    if (len == 0 || len >= sizeof buf)
        return 0;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[len] = 0;
    for (const char *const *w = function_words; *w; w++)
        if (!strcmp(buf, *w))
            return 1;
    return 0;
}

/* "van der Maaten, ...": a first name made of lowercase particles and one
 * capitalised surname (relaxed pass only; "le Words Anna Lee" is not one). */
static int starts_particle(const char *s, size_t len)
{
    size_t i = 0, particles = 0;
    while (i < len) {
        size_t j = i;
        int cls;
        while (j < len && s[j] != ' ' && s[j] != ',') {
            if (++j - i > NAME_TOKEN_MAX)
                return 0;
        }
        cls = sd_token_class(s + i, j - i);
        if (cls == SD_TK_PARTICLE && j - i >= 2) { /* not "e", "y": too common inside words */
            particles++;
            if (j >= len || s[j] != ' ')
                return 0;
            i = j + 1;
            continue;
        }
        return particles > 0 && cls == SD_TK_WORD && (j == len || s[j] == ',');
    }
    return 0;
}

/* Start of the code point that ends before byte k. */
static size_t prev_cp(const char *s, size_t k)
{
    size_t i = k - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/* Leftmost byte where authors may begin: scanning tokens back from the end
 * of the name region, the first token that no name could contain. */
static size_t candidate_floor(const char *line, size_t len)
{
    size_t end = len, i;
    /* The affiliation after " · " may hold anything: skip it. */
    for (i = len; i >= 2; i--)
        if ((unsigned char)line[i - 2] == 0xC2 && (unsigned char)line[i - 1] == 0xB7) {
            end = i - 2;
            break;
        }
    i = end;
    while (i > 0) {
        size_t te = i, ts;
        while (te > 0 && (line[te - 1] == ' ' || line[te - 1] == ','))
            te--;
        ts = te;
        while (ts > 0 && line[ts - 1] != ' ')
            ts--;
        if (ts == te)
            return 0;
        {
            const char *t = line + ts;
            size_t tl = te - ts;
            int ok = sd_token_class(t, tl) != SD_TK_BAD || (tl == 2 && !memcmp(t, "et", 2)) ||
                     (tl == 3 && !memcmp(t, "al.", 3)) || (tl == 3 && !memcmp(t, "and", 3)) ||
                     (tl == 1 && t[0] == '&') || (tl >= 2 && t[0] == '+');
            if (!ok)
                return ts;
        }
        i = ts;
    }
    return 0;
}

static double boundary_score(const char *line, size_t k)
{
    size_t pn, p = prev_cp(line, k);
    int32_t c = sd_cp_at(line, k, p, &pn);
    int cls = sd_cp_class(c);
    if (cls == SD_CH_LOWER || cls == SD_CH_MARK)
        return 3;
    if (c >= '0' && c <= '9')
        return 3;
    if (cls == SD_CH_UPPER)
        return 2;
    if (c && strchr(")]}?!.\"", (int)c))
        return 2;
    if (c == 0x201D || c == 0x2019) /* closing quotes */
        return 2;
    if (c == '-' || c == '/' || c == 0x2010 || c == 0x2013)
        return -6;
    if (c && strchr(",;:&+", (int)c))
        return -6;
    return 0;
}

/* A split inside a whitespace token that is itself a name token cuts a
 * name: "Mac|Kenzie", "Fitz|Gerald", "Di|Caprio", "O'|Neil", "J.|R.". The
 * true boundary glues the title's last word to the first author's first
 * token ("APIs|Guoheng", "Wild|Sven"), which makes no name token. */
static double inside_name_score(const char *line, size_t len, size_t k)
{
    size_t ts = k, te = k;
    while (ts > 0 && line[ts - 1] != ' ')
        ts--;
    while (te < len && line[te] != ' ' && line[te] != ',')
        te++;
    if (ts == k || te - ts > NAME_TOKEN_MAX)
        return 0;
    return sd_token_class(line + ts, te - ts) != SD_TK_BAD ? -6 : 0;
}

/* Penalties on how the title would end. */
static double title_end_score(const char *t, size_t tl)
{
    double s = 0;
    size_t ws = tl;
    while (ws > 0 && t[ws - 1] != ' ')
        ws--;
    if (is_function_word(t + ws, tl - ws))
        s -= 4;
    /* ", Name Name" at the end: an author would be left in the title. */
    {
        const char *comma = NULL;
        for (size_t i = tl; i > 0; i--)
            if (t[i - 1] == ',') {
                comma = t + i - 1;
                break;
            }
        if (comma) {
            const char *n = comma + 1;
            size_t nl = tl - (size_t)(n - t);
            while (nl && *n == ' ') {
                n++;
                nl--;
            }
            if (nl && sd_name_quality(n, nl, 0) >= 0)
                s -= 4;
        }
    }
    return s;
}

int sd_split_title_authors(pgr_arena *a, const char *line, size_t len, const sd_nameset *known,
                           sd_split *out)
{
    size_t floor = candidate_floor(line, len);
    if (len > SPLIT_WINDOW && floor < len - SPLIT_WINDOW)
        floor = len - SPLIT_WINDOW;
    memset(out, 0, sizeof *out);
    {
        int have = 0;
        size_t parsed = 0;
        double best = -INFINITY, second = -INFINITY;
        for (size_t k = floor > 0 ? floor : 1; k < len; k++) {
            size_t n, tl = k;
            sd_authors au;
            double q, score = 0;
            int upper;
            if (((unsigned char)line[k] & 0xC0) == 0x80)
                continue;
            upper = sd_cp_class(sd_cp_at(line, len, k, &n)) == SD_CH_UPPER;
            if (!upper && !starts_particle(line + k, len - k))
                continue;
            if (line[k - 1] == ' ' || line[k - 1] == '\t')
                continue; /* not glued: see 1. above */
            if (upper && !first_token_ok(line + k, len - k))
                continue;
            if (++parsed > SPLIT_MAX_PARSED)
                return -1; /* a line of glued name-like tokens: refuse, do not guess */
            q = upper ? sd_parse_author_list(a, line + k, len - k, 0, &au) : -1;
            if (q < 0) {
                q = sd_parse_author_list(a, line + k, len - k, 1, &au);
                if (q < 0)
                    continue;
                score -= 3; /* relaxed names */
            }
            /* lower -> particle is no transition: no boundary evidence */
            score += 10 * q + (upper ? boundary_score(line, k) : 0) + title_end_score(line, tl) +
                     inside_name_score(line, len, k);
            if (known && known->n) {
                int kn = 0;
                for (size_t j = 0; j < au.n; j++)
                    if (sd_nameset_has(a, known, au.refs[j].raw_name, strlen(au.refs[j].raw_name)))
                        kn++;
                score += kn > 5 ? 5 : kn;
                if (au.n &&
                    sd_nameset_has(a, known, au.refs[0].raw_name, strlen(au.refs[0].raw_name)))
                    score += 2;
            }
            out->n_candidates++;
            if (!have || score > best) {
                second = best;
                best = score;
                out->title_len = tl;
                out->author_off = k;
                out->authors = au;
                out->score = score;
                have = 1;
            } else if (score > second) {
                second = score;
            }
        }
        if (have) {
            out->margin = isinf(second) ? INFINITY : best - second;
            return 0;
        }
    }
    return -1;
}
