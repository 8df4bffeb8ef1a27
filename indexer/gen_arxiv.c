/* Deterministic arXiv-snapshot generator (see gen_arxiv.h). */
#include "indexer/gen_arxiv.h"

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

static void gen_one(pgr_sb *sb, uint64_t seed, size_t idx)
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
    unsigned ai[16][2] = {{0}};
    for (unsigned i = 0; i < na; i++) {
        ai[i][0] = rnd(&s, sizeof given / sizeof *given);
        ai[i][1] = rnd(&s, sizeof family / sizeof *family);
    }
    pgr_sb_printf(sb, "{\"id\":\"%02u%02u.%05zu\",\"submitter\":\"%s %s\",\"authors\":\"", yy, mm,
                  num, given[ai[0][0]], family[ai[0][1]]);
    for (unsigned i = 0; i < na; i++) {
        if (i)
            pgr_sb_puts(sb, i + 1 == na ? " and " : ", ");
        pgr_sb_printf(sb, "%s %s", given[ai[i][0]], family[ai[i][1]]);
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
        pgr_sb_printf(sb, "%s[\"%s\",\"%s\",\"\"]", i ? "," : "", family[ai[i][1]],
                      given[ai[i][0]]);
    pgr_sb_puts(sb, "]}\n");
}

int ix_gen_arxiv_sb(pgr_sb *sb, uint64_t seed, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gen_one(sb, seed, first + i);
    return pgr_sb_ok(sb) ? 0 : -1;
}

int ix_gen_arxiv_file(FILE *f, uint64_t seed, size_t first, size_t n, pgr_err *err)
{
    pgr_sb sb = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        gen_one(&sb, seed, first + i);
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
