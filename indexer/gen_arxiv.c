/* Deterministic arXiv-snapshot generator (see gen_arxiv.h). */
#include "indexer/gen_arxiv.h"

#include <stdio.h>
#include <string.h>

/* splitmix64: tiny, fast, and good enough to shape a benchmark corpus; keyed
 * per record so any record can be regenerated alone. */
static uint64_t fmix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t mix(uint64_t *s) { return fmix(*s += 0x9e3779b97f4a7c15ull); }
static unsigned rnd(uint64_t *s, unsigned n)
{
    return (unsigned)(mix(s) % n);
}
static unsigned range(uint64_t *s, unsigned lo, unsigned hi)
{
    return lo + rnd(s, hi - lo + 1);
}

static const char *const words[] = {
    "learning",
    "neural",
    "networks",
    "quantum",
    "field",
    "theory",
    "models",
    "deep",
    "language",
    "graph",
    "optimal",
    "transport",
    "stochastic",
    "gradient",
    "descent",
    "bounds",
    "inference",
    "bayesian",
    "sparse",
    "representations",
    "attention",
    "transformers",
    "scaling",
    "laws",
    "dark",
    "matter",
    "galaxy",
    "clusters",
    "spin",
    "chains",
    "topological",
    "phases",
    "entanglement",
    "entropy",
    "black",
    "holes",
    "gravitational",
    "waves",
    "lattice",
    "QCD",
    "symmetry",
    "breaking",
    "superconductivity",
    "magnetic",
    "materials",
    "random",
    "matrices",
    "algebraic",
    "geometry",
    "number",
    "fields",
    "prime",
    "distribution",
    "convex",
    "analysis",
    "robust",
    "estimation",
    "causal",
    "discovery",
    "reinforcement",
    "policy",
    "reward",
    "agents",
    "retrieval",
    "augmented",
    "generation",
    "efficient",
    "adapters",
    "fine-tuning",
    "low-rank",
    "interpretability",
    "features",
    "circuits",
    "benchmark",
    "evaluation",
    "datasets",
    "large",
    "multilingual",
    "speech",
    "recognition",
    "vision",
    "segmentation",
    "diffusion",
    "processes",
    "equations",
    "nonlinear",
    "dynamics",
    "chaos",
    "turbulence",
    "fluid",
    "flows",
    "boundary",
    "layers",
    "numerical",
    "methods",
    "finite",
    "element",
    "solvers",
    "parallel",
    "algorithms",
    "complexity",
    "lower",
    "approximation",
    "schemes",
    "the",
    "of",
    "a",
    "for",
    "in",
    "with",
    "and",
    "on",
    "via",
    "towards",
    "new",
    "we",
    "show",
    "that",
    "this",
    "is",
    "by",
    "from",
    "results",
    "study",
    "propose",
    "method",
    "data",
    "experiments",
    "performance",
    "improves",
};
#define N_WORDS (sizeof words / sizeof words[0])

/* Function words: about 40% of running English text, and short. Without them
 * generated abstracts run ~30% longer in bytes than real ones (~1.1 KB). */
static const char *const small_words[] = {"the", "of", "a",    "and",  "in", "to", "is", "we",
                                          "for", "on", "that", "with", "by", "as", "an", "are"};
#define N_SMALL (sizeof small_words / sizeof small_words[0])

static const char *const given[] = {
    "Alice", "Bo",        "Chen",   "Daniel", "Elena",  "Fatima",  "Giorgio",   "Hiroshi",
    "Ines",  "Jakub",     "Kwame",  "Li",     "Maria",  "Nikolai", "Olga",      "Pablo",
    "Qiang", "Rosa",      "Sanjay", "Tomasz", "Ursula", "Viktor",  "Wei",       "Xavier",
    "Yuki",  "Zhengxuan", "J.",     "M.",     "A. B.",  "S.",      "Ana Lucia", "Jean-Pierre",
    "Søren", "José",      "Zoë",    "Björn",  "Ayşe",   "Đorđe",
};
static const char *const family[] = {
    "Smith",   "Wang",    "Müller",       "Garcia",     "Kowalski",     "Nguyen",   "Ivanov",
    "Tanaka",  "Okafor",  "Rossi",        "Dubois",     "Kim",          "Patel",    "Silva",
    "Cohen",   "Larsen",  "Novak",        "Hernández",  "Wu",           "Liu",      "Zhang",
    "Schmidt", "O'Brien", "van der Berg", "de la Cruz", "Papadopoulos", "Nakamura", "Andersson",
    "Yilmaz",  "Kovács",  "Fernández",    "Li",         "Chen",         "Huang",    "Park",
    "Singh",   "Kumar",   "Ali",          "Ahmed",      "Jones",        "Brown",    "Taylor",
    "Martin",  "Lefèvre", "Schäfer",      "Østergaard", "Petrov",       "Sato",     "Watanabe",
    "Moreau",
};
static const char *const cats[] = {
    "cs.CL",
    "cs.LG",
    "cs.AI",
    "cs.CV",
    "stat.ML",
    "hep-th",
    "hep-ph",
    "hep-ex",
    "gr-qc",
    "astro-ph.CO",
    "astro-ph.GA",
    "cond-mat.str-el",
    "cond-mat.mes-hall",
    "quant-ph",
    "math.PR",
    "math.NT",
    "math.AG",
    "math.OC",
    "physics.flu-dyn",
    "cs.DS",
    "cs.CR",
    "eess.AS",
};
static const char *const dows[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void put_words(pgr_sb *sb, uint64_t *s, unsigned n, int latex)
{
    for (unsigned i = 0; i < n; i++) {
        if (i) {
            if (latex && rnd(s, 12) == 0)
                pgr_sb_puts(sb, "\\n"); /* an escaped line break inside the JSON string */
            else
                pgr_sb_putc(sb, ' ');
        }
        if (latex && rnd(s, 40) == 0) {
            /* Inline math as the snapshot writes it (backslashes JSON-escaped). */
            static const char *const math[] = {"$O(n \\\\log n)$", "$\\\\alpha_s$", "$10^{-4}$",
                                               "$\\\\mathcal{N}=4$", "$p_T > 20$ GeV"};
            pgr_sb_puts(sb, math[rnd(s, 5)]);
            continue;
        }
        if (latex && rnd(s, 10) < 4)
            pgr_sb_puts(sb, small_words[rnd(s, N_SMALL)]);
        else
            pgr_sb_puts(sb, words[rnd(s, N_WORDS)]);
    }
}

/* Authors per paper: mostly 2-5, a tail to 15 (arXiv's is longer, but the
 * mass is here). */
static unsigned n_authors(uint64_t *s)
{
    static const unsigned char dist[] = {1, 1, 2, 2, 2, 3, 3, 3,  3,  4,
                                         4, 4, 5, 5, 6, 7, 8, 10, 12, 15};
    return dist[rnd(s, sizeof dist)];
}

/* ---- author names ---------------------------------------------------------
 *
 * IX_GEN_NAMES_SMALL (the old generator, kept as the identity stress case):
 * every author is given[] x family[] drawn uniformly, 1,900 names in all, so
 * at 200k records each name recurs ~500 times and most records' authors have
 * many same-name candidates with overlapping co-author names (3 records in 4
 * cause an author merge).
 *
 * IX_GEN_NAMES_ARXIV (default): a population of people whose productivity
 * weights follow Lotka's law (the number of people of weight n is 1/n^2 of
 * those of weight 1: Lotka 1926, an exponent near 2 in most fields, ~60% of
 * authors with one paper), n = 1..LOTKA_NMAX, LOTKA_A people of weight 1,
 * ~493k people in all; an author slot draws a person with probability
 * proportional to the weight. In the 200k-record benchmark corpus (~1M
 * authorships) that makes ~218k distinct names: 53% printed once, 19%
 * twice, 8% three times (Lotka's shape, flattened at the bottom by
 * sampling), the most printed ~700 times (a shared common name).
 * Papers are written by teams: the first author is drawn by productivity (a
 * person with n papers is drawn n times as often), each further author is,
 * with probability TEAM_P, one of the first author's TEAM_SIZE fixed team
 * members (themselves drawn by productivity), else anyone drawn by
 * productivity; so a recurring first author recurs with the same co-authors,
 * which is the evidence the builder needs.
 * Names: a person's name is a function of the person. HOMONYM_IN_16 in 16
 * people carry one of the 1,900 given x family names of the small pool (the
 * shared common names of real corpora, "Wei Wang"; the share is an assumption,
 * not a measured figure); the others get a name built from syllables, with a
 * middle initial on a third of them (unrelated people collide now and then
 * too: a one-syllable given name is one of 48). All of it depends only on (seed,
 * record index). */
#define LOTKA_NMAX 500
#define LOTKA_A 300000
#define TEAM_SIZE 8
#define TEAM_P 85 /* percent of co-authors from the first author's team */
#define HOMONYM_IN_16 1

static const char *const syl[] = {
    "ka", "ren", "so", "mi", "ta", "lo", "vin", "be", "ra", "dor", "ni", "ha",
    "zu", "el", "mar", "to", "lin", "ge", "shi", "an", "ko", "va", "ste", "fan",
    "ri", "mo", "del", "pa", "qui", "nov", "sé", "lø", "mü", "ber", "gu", "wen",
    "yo", "tra", "ci", "hal", "jun", "dra", "fe", "lé", "os", "ku", "ma", "ti",
};
#define N_SYL (sizeof syl / sizeof syl[0])

/* Cumulative draw weights of the productivity groups: group n (1..NMAX) has
 * people_n = max(1, round(A / n^2)) people who each author n papers, and is
 * drawn with weight n * people_n. Built once; the same on every call. */
typedef struct lotka_table {
    uint64_t cum[LOTKA_NMAX + 1];  /* cum[n] = sum of weights of groups 1..n */
    uint64_t first[LOTKA_NMAX + 2]; /* first person id of group n */
    uint64_t people[LOTKA_NMAX + 1];
} lotka_table;

static const lotka_table *lotka(void)
{
    static lotka_table t;
    static int built;
    if (!built) {
        uint64_t c = 0, p = 0;
        for (unsigned n = 1; n <= LOTKA_NMAX; n++) {
            uint64_t k = (LOTKA_A + (uint64_t)n * n / 2) / ((uint64_t)n * n);
            t.people[n] = k ? k : 1;
            t.first[n] = p;
            p += t.people[n];
            c += n * t.people[n];
            t.cum[n] = c;
        }
        t.first[LOTKA_NMAX + 1] = p;
        built = 1;
    }
    return &t;
}

/* A person drawn by productivity: group n with weight n * people_n, then a
 * person of that group uniformly. */
static uint64_t draw_person(uint64_t *s)
{
    const lotka_table *t = lotka();
    uint64_t u = mix(s) % t->cum[LOTKA_NMAX];
    unsigned lo = 1, hi = LOTKA_NMAX;
    while (lo < hi) { /* first n with cum[n] > u */
        unsigned mid = (lo + hi) / 2;
        if (t->cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return t->first[lo] + mix(s) % t->people[lo];
}

/* Member j (0..TEAM_SIZE-1) of person p's team: fixed per (seed, p, j),
 * drawn by productivity. */
static uint64_t team_member(uint64_t seed, uint64_t p, unsigned j)
{
    uint64_t s = fmix(fmix(seed ^ 0x7ea3c0ab1ull) + p * 0x9e3779b97f4a7c15ull +
                      j * 0xd1b54a32d192ed03ull);
    return draw_person(&s);
}

static void put_cap_syllables(char *out, size_t cap, uint64_t *s, unsigned n)
{
    size_t o = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        const char *y = syl[rnd(s, N_SYL)];
        size_t l = strlen(y);
        if (o + l + 1 > cap)
            break;
        memcpy(out + o, y, l + 1);
        if (i == 0 && out[o] >= 'a' && out[o] <= 'z')
            out[o] = (char)(out[o] - 'a' + 'A');
        o += l;
    }
}

/* The name of person p: (given, family) written into g and f. */
static void person_name(uint64_t seed, uint64_t p, char *g, size_t gn, char *f, size_t fn)
{
    uint64_t s = fmix(fmix(seed ^ 0x4a4d45ull) + p * 0x2545f4914f6cdd1dull);
    if (rnd(&s, 16) < HOMONYM_IN_16) {
        snprintf(g, gn, "%s", given[rnd(&s, sizeof given / sizeof *given)]);
        snprintf(f, fn, "%s", family[rnd(&s, sizeof family / sizeof *family)]);
        return;
    }
    char a[48], b[64];
    put_cap_syllables(a, sizeof a, &s, range(&s, 1, 3));
    put_cap_syllables(b, sizeof b, &s, range(&s, 2, 3));
    if (rnd(&s, 3) == 0)
        snprintf(g, gn, "%s %c.", a, 'A' + (char)rnd(&s, 26));
    else
        snprintf(g, gn, "%s", a);
    snprintf(f, fn, "%s", b);
}

static void gen_one(pgr_sb *sb, uint64_t seed, size_t idx, ix_gen_names names)
{
    /* Each record's stream starts at a scrambled point of the 2^64 cycle.
     * (Starting at seed ^ (idx * step) made records idx and idx + 2 the same
     * stream shifted by two draws: duplicate DOIs and co-author lists.) */
    uint64_t s = fmix(fmix(seed) + 0x51ed2701ull + (uint64_t)idx * 0x2545f4914f6cdd1dull);
    /* ids: YYMM.NNNNN from 0704 on, 99999 per month, unique per idx */
    size_t month = idx / 99999, num = idx % 99999 + 1;
    unsigned yy = (unsigned)(7 + (month + 3) / 12) % 100, mm = (unsigned)((month + 3) % 12) + 1;
    unsigned year = 2000 + yy;
    unsigned na = n_authors(&s);
    char gv[16][64], fm[16][72];
    if (names == IX_GEN_NAMES_SMALL) {
        for (unsigned i = 0; i < na; i++) {
            snprintf(gv[i], sizeof gv[i], "%s", given[rnd(&s, sizeof given / sizeof *given)]);
            snprintf(fm[i], sizeof fm[i], "%s", family[rnd(&s, sizeof family / sizeof *family)]);
        }
    } else {
        /* the people of this paper: a first author and a team, each once */
        uint64_t who[16];
        uint64_t lead = draw_person(&s);
        for (unsigned i = 0; i < na; i++) {
            for (int tries = 0;; tries++) {
                uint64_t p = i == 0                   ? lead
                             : rnd(&s, 100) < TEAM_P ? team_member(seed, lead, rnd(&s, TEAM_SIZE))
                                                     : draw_person(&s);
                int dup = 0;
                for (unsigned k = 0; k < i; k++)
                    dup |= who[k] == p;
                if (!dup || tries == 8) {
                    who[i] = p;
                    break;
                }
            }
            person_name(seed, who[i], gv[i], sizeof gv[i], fm[i], sizeof fm[i]);
        }
    }
    pgr_sb_printf(sb, "{\"id\":\"%02u%02u.%05zu\",\"submitter\":\"%s %s\",\"authors\":\"", yy, mm,
                  num, gv[0], fm[0]);
    for (unsigned i = 0; i < na; i++) {
        if (i)
            pgr_sb_puts(sb, i + 1 == na ? " and " : ", ");
        pgr_sb_printf(sb, "%s %s", gv[i], fm[i]);
    }
    pgr_sb_puts(sb, "\",\"title\":\"");
    unsigned tw = range(&s, 4, 16) + (rnd(&s, 4) == 0 ? range(&s, 0, 4) : 0);
    put_words(sb, &s, 1, 0);
    if (tw > 1) {
        pgr_sb_putc(sb, ' ');
        put_words(sb, &s, tw - 1, 0);
    }
    pgr_sb_puts(sb, "\",\"comments\":");
    if (rnd(&s, 2))
        pgr_sb_printf(sb, "\"%u pages, %u figures\"", range(&s, 4, 60), range(&s, 0, 20));
    else
        pgr_sb_puts(sb, "null");
    pgr_sb_puts(sb, ",\"journal-ref\":");
    if (rnd(&s, 10) < 3)
        pgr_sb_printf(sb, "\"Phys. Rev. D %u, %u (%u)\"", range(&s, 50, 110),
                      range(&s, 1000, 99999), year + 1);
    else
        pgr_sb_puts(sb, "null");
    pgr_sb_puts(sb, ",\"doi\":");
    if (rnd(&s, 10) < 3)
        pgr_sb_printf(sb, "\"10.%u/PhysRevD.%u.%u\"", range(&s, 1000, 9999), range(&s, 50, 110),
                      range(&s, 1000, 999999));
    else
        pgr_sb_puts(sb, "null");
    pgr_sb_puts(sb, ",\"report-no\":null,\"categories\":\"");
    unsigned nc = range(&s, 1, 4);
    for (unsigned i = 0; i < nc; i++) {
        if (i)
            pgr_sb_putc(sb, ' ');
        pgr_sb_puts(sb, cats[rnd(&s, sizeof cats / sizeof *cats)]);
    }
    pgr_sb_puts(sb, "\",\"license\":\"http://arxiv.org/licenses/nonexclusive-distrib/1.0/\","
                    "\"abstract\":\"  ");
    put_words(sb, &s, range(&s, 100, 250), 1);
    pgr_sb_puts(sb, "\\n\",\"versions\":[");
    unsigned nv = range(&s, 1, 3) + (rnd(&s, 8) == 0 ? 2 : 0);
    unsigned day = range(&s, 1, 28);
    for (unsigned v = 0; v < nv; v++) {
        unsigned d = day + v < 28 ? day + v : 28;
        pgr_sb_printf(sb, "%s{\"version\":\"v%u\",\"created\":\"%s, %u %s %u %02u:%02u:%02u GMT\"}",
                      v ? "," : "", v + 1, dows[(d + mm) % 7], d, mons[mm - 1], year,
                      range(&s, 0, 23), range(&s, 0, 59), range(&s, 0, 59));
    }
    pgr_sb_printf(sb, "],\"update_date\":\"%u-%02u-%02u\",\"authors_parsed\":[", year, mm,
                  day + nv - 1 < 28 ? day + nv - 1 : 28);
    for (unsigned i = 0; i < na; i++)
        pgr_sb_printf(sb, "%s[\"%s\",\"%s\",\"\"]", i ? "," : "", fm[i], gv[i]);
    pgr_sb_puts(sb, "]}\n");
}

int ix_gen_names_parse(const char *s, ix_gen_names *out)
{
    if (s && !strcmp(s, "arxiv"))
        *out = IX_GEN_NAMES_ARXIV;
    else if (s && !strcmp(s, "small"))
        *out = IX_GEN_NAMES_SMALL;
    else
        return -1;
    return 0;
}

int ix_gen_arxiv_sb(pgr_sb *sb, uint64_t seed, size_t first, size_t n, ix_gen_names names)
{
    for (size_t i = 0; i < n; i++)
        gen_one(sb, seed, first + i, names);
    return pgr_sb_ok(sb) ? 0 : -1;
}

int ix_gen_arxiv_file(FILE *f, uint64_t seed, size_t first, size_t n, ix_gen_names names,
                      pgr_err *err)
{
    pgr_sb sb = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        gen_one(&sb, seed, first + i, names);
        /* Flush in ~1 MiB pieces so memory stays flat for any n. */
        if (sb.len >= (1u << 20) || i + 1 == n) {
            if (!pgr_sb_ok(&sb)) {
                pgr_errf(err, PGR_ENOMEM, "gen_arxiv: out of memory");
                goto cleanup;
            }
            if (sb.len && fwrite(sb.data, 1, sb.len, f) != sb.len) {
                pgr_errf(err, PGR_EIO, "gen_arxiv: write failed at record %zu", first + i);
                goto cleanup;
            }
            pgr_sb_reset(&sb);
        }
    }
    rc = 0;
cleanup:
    pgr_sb_free(&sb);
    return rc;
}
