/* Profile pages of the four seed site families with their truth: see
 * pagegen.h. The layouts below are copied from the seeds (tests/data/seeds):
 * line for line, blank line for blank line, no newline after the last line. */
#include "tests/support/pagegen.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/util.h"

/* ---- deterministic random numbers (splitmix64) ------------------------- */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int below(rng *r, int n) /* 0..n-1 */
{
    return n <= 1 ? 0 : (int)(next(r) % (uint64_t)n);
}

static int chance(rng *r, int percent)
{
    return below(r, 100) < percent;
}

#define PICK(r, arr) (arr[below(r, (int)(sizeof arr / sizeof arr[0]))])

/* ---- names ---------------------------------------------------------------- */
/* Given names: Western (with diacritics), romanised Chinese, Korean, Japanese,
 * Vietnamese, Indian, Arabic, African, Slavic, Nordic. */
static const char *const given[] = {
    "Anna",     "Thomas",   "María",     "José",      "Élodie",   "Jürgen",  "Søren",
    "Zoë",      "Siobhán",  "Łukasz",    "Wei",       "Xiaojun",  "Zhengxuan", "Haruto",
    "Yuki",     "Thanh",    "Aryaman",   "Prajwal",   "Siddharth", "Mohammed", "Omar",
    "Fatima",   "Olga",     "Ingrid",    "Kwame",     "Chidi",    "Ivan",    "Hyun",
    "Sven",     "Chiara",   "Giulia",    "Ngozi",     "Tariq",    "Ahmet",   "Mei",
    "Lin",      "Jie",      "Yi",        "Bo",        "Emma",     "Lucas",   "Noah",
    "François", "Renée",    "Björn",     "Çağrı",     "Dmitry",   "Anastasia", "Pedro",
    "Inês",     "Joaquín",  "Huanyi",    "Liangyu",   "Shwai",    "Guoheng", "Changtong",
    "Daize",    "Yatong",   "Naibin",    "Keqin",     "Chenyang", "Tianlong", "Dhruv",
    "Benjamin", "Sarah",    "Jacob",     "Andrew",    "Priya",    "Ananya",  "Rahul",
    "Oluwaseun", "Amara",   "Kenji",     "Sakura",    "Minh",     "Linh",    "Ewa",
    "Nikolai",  "Astrid",   "Matteo",    "Ximena",    "Ángel",    "Ōta",     "Hamid"};
/* Hyphenated given names (romanised Chinese and Korean, French, German). */
static const char *const given_hyph[] = {"Run-Ze",  "Jean-Pierre", "Hans-Peter", "Xiao-Ming",
                                         "Ji-hoon", "Min-jun",     "Anne-Marie", "Karl-Heinz",
                                         "Seung-Won", "Jia-Hui",   "Marie-Claire"};
static const char *const family[] = {
    "Wu",          "Li",        "Ng",        "Ma",        "Xu",       "He",        "Müller",
    "García",      "O'Neil",    "O'Brien",   "McDonald",  "MacKenzie", "D'Angelo", "Nguyễn",
    "Kowalski",    "Smith",     "Lanpouthakoun", "Keigwin", "Steinhardt", "Schwettmann",
    "Zhang",       "Wang",      "Chen",      "Liu",       "Yang",     "Sun",       "Tanaka",
    "Yamamoto",    "Kim",       "Park",      "Singh",     "Patel",    "Okafor",    "Adeyemi",
    "Rossi",       "Bianchi",   "Novak",     "Dvořák",    "Søndergaard", "Ivanov", "Kuznetsova",
    "Silva",       "Santos",    "Fernández", "Álvarez",   "Ødegaard", "Al-Farsi",  "Ben-David",
    "LeCun",       "DiCaprio",  "FitzGerald", "Schmidt-Hoffmann", "Zan", "Fan",     "Gu",
    "Hernández-Orallo", "Çelik", "Öztürk",   "Łoś",       "O'Briain", "Tran",      "Pham",
    "Dong",        "Ding",      "Xie",       "Ren",       "Hu",       "Yu",        "Lei",
    "Mukherjee",   "Banerjee",  "Haddad",    "Nakamura",  "Eriksson", "Lindqvist", "Moreau",
    "Lefèvre",     "Kovačević", "Petrović"};
static const char *const middle_word[] = {"Carlos", "Ann", "Luis", "Maria", "James",
                                          "Paul",   "Marie", "Wei", "Kumar", "Elena"};
static const char *const particle[] = {"van der", "de la", "von", "de",  "van",  "di",
                                       "da",      "dos",   "bin", "van den", "de los",
                                       "du",      "ter",   "della", "al"};
static const char *const suffix[] = {"Jr.", "III", "II", "Sr."};
static const char *const caps_given[] = {"AJ", "TJ", "CJ", "JR", "DJ"};
static const char *const caps_family[] = {"ZHANG", "WANG", "NGUYEN", "KIM", "SATO"};

/* one capital letter A..Z, or an accented capital */
static const char *const initial_letter[] = {"A", "B", "C", "D", "E", "F", "G", "H", "J",
                                             "K", "L", "M", "N", "P", "R", "S", "T", "W",
                                             "Y", "Z", "É", "Ö", "Ł"};

static const char *given_name(rng *r)
{
    return chance(r, 10) ? PICK(r, given_hyph) : PICK(r, given);
}

static const char *family_name(rng *r)
{
    return PICK(r, family);
}

/* A personal name of 2-4 tokens in one of the shapes real author lists show. */
static void make_name(rng *r, char *out, size_t cap)
{
    int s = below(r, 100);
    if (s < 62)
        snprintf(out, cap, "%s %s", given_name(r), family_name(r));
    else if (s < 68)
        snprintf(out, cap, "%s %s. %s", given_name(r), PICK(r, initial_letter), family_name(r));
    else if (s < 71)
        snprintf(out, cap, "%s %s %s", given_name(r), PICK(r, initial_letter), family_name(r));
    else if (s < 76)
        snprintf(out, cap, "%s %s %s", given_name(r), PICK(r, middle_word), family_name(r));
    else if (s < 80) {
        if (chance(r, 50))
            snprintf(out, cap, "%s. %s. %s", PICK(r, initial_letter), PICK(r, initial_letter),
                     family_name(r));
        else
            snprintf(out, cap, "%s. %s", PICK(r, initial_letter), family_name(r));
    } else if (s < 88)
        snprintf(out, cap, "%s %s %s", given_name(r), PICK(r, particle), PICK(r, family));
    else if (s < 91)
        snprintf(out, cap, "%s %s %s", given_name(r), family_name(r), PICK(r, suffix));
    else if (s < 96)
        snprintf(out, cap, "%s %s %s %s", given_name(r), PICK(r, given), family_name(r),
                 family_name(r));
    else if (s < 97)
        snprintf(out, cap, "%s %s", PICK(r, caps_given), family_name(r));
    else if (s < 98) /* family name first in capitals, as some sites print CJK names */
        snprintf(out, cap, "%s %s", PICK(r, caps_family), PICK(r, given));
    else
        snprintf(out, cap, "%s %s. %s. %s", given_name(r), PICK(r, initial_letter),
                 PICK(r, initial_letter), family_name(r));
}

int pg_name_tokens(const char *name)
{
    int n = 1;
    for (; *name; name++)
        n += *name == ' ';
    return n;
}

/* Case- and accent-blind enough to keep two pool names from being one key:
 * ASCII letters lowercased, every non-ASCII byte kept, dots and hyphens
 * dropped (the builder's key joins hyphens and drops dots). */
static void rough_key(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '.' || c == '-' || c == '\'')
            continue;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[o] = 0;
}

/* ---- titles and abstracts --------------------------------------------- */
static const char *const sys_names[] = {
    "CoIn",   "SymRTLO",  "PAD-Net", "Vega-MT", "ZO2",      "DistZO2",   "PreFT",
    "MoEless", "ThinkJEPA", "LLaMA-Adapter", "GPT-4V", "T5X", "ReFT",     "BERTScore",
    "DynaSent", "X-VLM",  "mT5",     "SD-Conv", "COST-EFF", "LWGR",      "PAHQ",
    "Loki",   "MerA",     "CogniPair", "DeepSeek-R1", "Q-Former", "ViT-22B", "AlphaZero"};
static const char *const verbs[] = {"Accelerating", "Understanding", "Rethinking", "Scaling",
                                    "Counting",     "Merging",       "Pruning",    "Evaluating",
                                    "Learning",     "Harnessing",    "Predicting", "Dissecting",
                                    "Towards",      "Unveiling",     "Attributing", "Making"};
static const char *const adjs[] = {"Sparse",    "Efficient", "Robust",      "Invisible",
                                   "Dynamic",   "Private",   "Multimodal",  "Causal",
                                   "Zeroth-Order", "Low-rank", "Mixed-Precision", "Scalable",
                                   "Latent",    "Distributed", "Generative", "Contrastive"};
static const char *const nouns[] = {"Reasoning Tokens", "Language Models", "Adapters",
                                    "Attention",        "Circuit Discovery", "Representations",
                                    "Mixture of Experts", "Instruction-Tuning", "Retrievers",
                                    "Knowledge Editing", "World Models",    "Networks",
                                    "Fine-Tuning",      "Data Recycling",   "Inference",
                                    "Graph Learning",   "Concept Bottlenecks", "Translation"};
static const char *const preps[] = {"for", "via", "with", "in", "on", "through", "under", "of"};
/* How titles end: the splitter's hard cases are endings in an acronym, a
 * digit, a plural acronym ("APIs"), punctuation, a capitalised word. */
static const char *const endings[] = {
    "",           "",             "",              "",            " for WMT22",
    " in Commercial Opaque LLM APIs", " on ImageNet-1K", " with GPT-4", " via RL",
    " at 7B Scale", " for 3D",     " in 2024",      " Part II",    " with O(1) Memory",
    " -- A Survey", "?",           " (Extended Abstract)", " in LLMs", " for NLP",
    " with LoRA",  " on H100",     " for V2X",      " Model",      " Benchmark",
    " for ASR",   " in PyTorch",   " for Text-to-SQL", " with BERT", " in the Wild",
    " for Low-Resource Languages", " using CNNs",  " on MS MARCO", " with 1.58 Bits",
    /* non-ASCII and punctuation endings */
    " for Schrödinger Bridges", " in Gödel Machines", " with $\\alpha$-Divergence",
    " \xE2\x80\x94 Revisited", " (\xE2\x80\x9C" "Fast\xE2\x80\x9D)", ": A Case Study!",
    "...", " in Ørsted", " for É-commerce", " via Łukasiewicz Logic", " Is All You Need.",
    " at ICLR'24", " with k-NN", " of the MoE", " with LLaMA",
    /* a comma tail that reads like a name, single capitals, "and Beyond" */
    ", Revisited", ", Deep Networks", ": Part I", " and Beyond", " via GANs", " of Type II",
    " at Scale: Lessons Learned", " for the EU AI Act"};
static const char *const lower_words[] = {"efficient", "inference", "variables", "models",
                                          "learning",  "robustness", "graphs",   "agents"};

static void make_title(rng *r, char *out, size_t cap)
{
    pgr_sb sb = {0};
    if (chance(r, 45))
        pgr_sb_printf(&sb, "%s: ", PICK(r, sys_names));
    pgr_sb_printf(&sb, "%s %s %s %s %s %s", PICK(r, verbs), PICK(r, adjs), PICK(r, nouns),
                  PICK(r, preps), PICK(r, adjs), PICK(r, nouns));
    if (chance(r, 15)) /* sentence case tail: "... through auxiliary variables" */
        pgr_sb_printf(&sb, " and %s %s", PICK(r, lower_words), PICK(r, lower_words));
    else
        pgr_sb_puts(&sb, PICK(r, endings));
    snprintf(out, cap, "%s", sb.data ? sb.data : "Untitled Work");
    pgr_sb_free(&sb);
}

static const char *const sentences[] = {
    "Large language models can now be personalised efficiently at scale.",
    "We propose a method that reduces memory by 4.2x without loss of accuracy.",
    "Experiments on GLUE and SuperGLUE show consistent gains ($1.9\\times$ throughput).",
    "However, existing approaches ignore the cost of serving many adapters at once.",
    "Our analysis reveals that sparse circuits emerge early in training.",
    "Code and data are available at https://example.org/repo.",
    "We release a benchmark of 12,000 annotated examples in 7 languages.",
    "Results on ImageNet-1K confirm the theory (top-1 accuracy 81.3%).",
    "This expectation does not consistently hold across architectures."};

static void make_abstract(rng *r, char *out, size_t cap)
{
    pgr_sb sb = {0};
    int n = 2 + below(r, 4);
    for (int i = 0; i < n; i++)
        pgr_sb_printf(&sb, "%s%s", i ? " " : "", PICK(r, sentences));
    snprintf(out, cap, "%s", sb.data ? sb.data : "");
    pgr_sb_free(&sb);
}

/* ---- the world ----------------------------------------------------------- */
static const char *const cats[] = {"CL", "LG", "CV", "AI", "IR", "DC", "AR", "HC",
                                   "RO", "CR", "NE", "SE", "MA", "DB"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
static const char *const affs[] = {"pku", "Tsinghua University", "MIT CSAIL", "CMU",
                                   "Université de Montréal", "ETH Zürich", "imec",
                                   "Google DeepMind", "University of Oslo, Norway"};

void pg_world_free(pg_world *w)
{
    free(w->pool);
    free(w->papers);
    memset(w, 0, sizeof *w);
}

static int is_suffix_word(const char *t)
{
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++)
        if (!strcmp(t, suffix[i]))
            return 1;
    return 0;
}

static int pool_has(const pg_world *w, int n, const char *name)
{
    char k[PG_NAME], k2[PG_NAME];
    rough_key(name, k, sizeof k);
    rough_key(w->owner, k2, sizeof k2);
    if (!strcmp(k, k2))
        return 1;
    for (int i = 0; i < n; i++) {
        rough_key(w->pool[i], k2, sizeof k2);
        if (!strcmp(k, k2))
            return 1;
    }
    return 0;
}

int pg_world_make(pg_world *w, uint64_t seed, int n_papers)
{
    rng r = {seed * 0x2545F4914F6CDD1Dull + 17};
    memset(w, 0, sizeof *w);
    if (n_papers < 1 || n_papers > 200)
        return -1;
    make_name(&r, w->owner, sizeof w->owner);
    w->n_pool = 24 + below(&r, 40);
    w->pool = calloc((size_t)w->n_pool, sizeof *w->pool);
    w->papers = calloc((size_t)n_papers, sizeof *w->papers);
    if (!w->pool || !w->papers) {
        pg_world_free(w);
        return -1;
    }
    for (int i = 0; i < w->n_pool; i++) {
        int tries = 0;
        do {
            if (i < 3 && tries == 0) {
                /* similar is not the same: the owner's family name (its last
                 * word, a suffix aside), another given name (Di Wang, Xinhai
                 * Wang, Liangyu Wang) */
                char fam[48];
                const char *sp = strrchr(w->owner, ' ');
                snprintf(fam, sizeof fam, "%s", sp ? sp + 1 : "Wu");
                if (is_suffix_word(fam) && sp) {
                    const char *q = sp;
                    while (q > w->owner && q[-1] != ' ')
                        q--;
                    snprintf(fam, sizeof fam, "%.*s", (int)(sp - q), q);
                }
                snprintf(w->pool[i], PG_NAME, "%s %s", given_name(&r), fam);
            } else {
                make_name(&r, w->pool[i], PG_NAME);
            }
        } while (pool_has(w, i, w->pool[i]) && ++tries < 50);
    }
    w->n_papers = n_papers;
    for (int k = 0; k < n_papers; k++) {
        pg_paper *p = &w->papers[k];
        int dup;
        do { /* titles are unique within a world: one title, one paper */
            make_title(&r, p->title, sizeof p->title);
            dup = 0;
            for (int j = 0; j < k && !dup; j++)
                dup = !strcmp(w->papers[j].title, p->title);
        } while (dup);
        if (!chance(&r, 12))
            make_abstract(&r, p->abstract, sizeof p->abstract);
        /* authors: 1..PG_MAX_AUTH, frequent collaborators first in the pool */
        p->n_authors = 1 + (chance(&r, 15) ? below(&r, PG_MAX_AUTH) : below(&r, 6));
        {
            int pos = below(&r, 100), used[PG_MAX_AUTH], nu = 0;
            p->owner_pos = pos < 40 ? 0 : pos < 65 ? p->n_authors - 1 : below(&r, p->n_authors);
            for (int a = 0; a < p->n_authors; a++) {
                if (a == p->owner_pos) {
                    snprintf(p->authors[a], PG_NAME, "%s", w->owner);
                    continue;
                }
                int c, again;
                do {
                    /* Zipf-like: low pool indexes are frequent collaborators */
                    c = chance(&r, 60) ? below(&r, 6) : below(&r, w->n_pool);
                    again = 0;
                    for (int u = 0; u < nu; u++)
                        again |= used[u] == c;
                } while (again);
                used[nu++] = c;
                snprintf(p->authors[a], PG_NAME, "%s", w->pool[c]);
            }
        }
        p->y = chance(&r, 6) ? 1999 + below(&r, 8) : 2018 + below(&r, 9);
        p->m = 1 + below(&r, 12);
        p->d = 1 + below(&r, mdays[p->m - 1]);
        snprintf(p->cat, sizeof p->cat, "%s", PICK(&r, cats));
        p->has_code = chance(&r, 45);
        if (p->y < 2007)
            snprintf(p->arxiv, sizeof p->arxiv, "%s/%02d%02d%03d",
                     chance(&r, 50) ? "hep-th" : "cs", p->y % 100, p->m, 1 + below(&r, 999));
        else
            snprintf(p->arxiv, sizeof p->arxiv, p->y >= 2015 ? "%02d%02d.%05d" : "%02d%02d.%04d",
                     p->y % 100, p->m, 1 + below(&r, p->y >= 2015 ? 29999 : 9999));
        p->version = 1 + (chance(&r, 30) ? below(&r, 4) : 0);
        p->cites = chance(&r, 30) ? 0 : below(&r, chance(&r, 10) ? 5000 : 200);
        {
            int v = below(&r, 100);
            if (v < 55) {
                snprintf(p->kind, sizeof p->kind, "preprint");
                snprintf(p->venue, sizeof p->venue, "arXiv");
            } else if (v < 70) {
                snprintf(p->kind, sizeof p->kind, "article");
                snprintf(p->venue, sizeof p->venue, "%s",
                         chance(&r, 50) ? "Nature Communications"
                                        : "Transactions of the Association for Computational "
                                          "Linguistics");
            } else if (v < 92) {
                snprintf(p->kind, sizeof p->kind, "proceedings-article");
                /* OpenAlex-style venue names often start with the year */
                snprintf(p->venue, sizeof p->venue, "%s",
                         chance(&r, 50) ? "2023 IEEE/CVF International Conference on Computer "
                                          "Vision (ICCV)"
                                        : "Proceedings of the AAAI Conference on Artificial "
                                          "Intelligence");
            } else {
                snprintf(p->kind, sizeof p->kind, "book-chapter");
                p->venue[0] = 0;
            }
        }
        if (chance(&r, 12))
            snprintf(p->affiliation, sizeof p->affiliation, "%s", PICK(&r, affs));
    }
    return 0;
}

/* ---- pages ----------------------------------------------------------------- */
const char *pg_family_format(int family)
{
    static const char *const f[] = {"researchgraph", "arxiv-profile", "metrics-card",
                                    "metrics-list"};
    return family >= 0 && family < PG_NFAMILIES ? f[family] : NULL;
}

void pg_page_free(pg_page *pg)
{
    free(pg->text);
    memset(pg, 0, sizeof *pg);
}

static int date_cmp(const pg_paper *a, const pg_paper *b)
{
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    if (a->m != b->m)
        return a->m < b->m ? -1 : 1;
    return a->d < b->d ? -1 : a->d > b->d;
}

static void put_date(pgr_sb *sb, const pg_paper *p, int with_year)
{
    pgr_sb_printf(sb, "%s %d", months[p->m - 1], p->d);
    if (with_year)
        pgr_sb_printf(sb, ", %d", p->y);
}

static void put_count(pgr_sb *sb, long v)
{
    if (v >= 1000)
        pgr_sb_printf(sb, "%ld,%03ld", v / 1000, v % 1000);
    else
        pgr_sb_printf(sb, "%ld", v);
}

/* 000: the research graph page, furniture copied from the seed */
static void render_researchgraph(pg_page *pg, rng *r, pgr_sb *sb)
{
    static const char *const levels[] = {"Emerging", "Growing", "Established"};
    static const char *const raffs[] = {"Stanford University", "University of Oslo, Norway",
                                        "Tsinghua University", "École Polytechnique Fédérale "
                                                               "de Lausanne",
                                        "Max Planck Institute for Intelligent Systems", "imec",
                                        "eBay Research"};
    if (chance(r, 55))
        pg->affiliation[0] = 0;
    else
        snprintf(pg->affiliation, sizeof pg->affiliation, "%s", PICK(r, raffs));
    pg->header_owner = 1;
    pg->trust = below(r, 100);
    pg->level = below(r, 4);
    pg->claimed = chance(r, 30);
    pg->works = pg->n + (chance(r, 30) ? below(r, 20) : 0);
    pg->followers = chance(r, 50) ? 0 : below(r, 300);
    pg->topics = 1 + below(r, 15);
    pg->collaborators = below(r, 40);
    snprintf(pg->trust_text, sizeof pg->trust_text, "Trust %ld - %s", pg->trust,
             levels[pg->trust < 34 ? 0 : pg->trust < 67 ? 1 : 2]);
    pgr_sb_printf(sb, "Researcher profile\n\n%s\n\n%s contributes to research discovery and "
                      "scholarly infrastructure.\n\n",
                  pg->owner, pg->owner);
    pgr_sb_printf(sb, "Researcher%s%s\n\nTrust snapshot\n\nQuick read\n\n",
                  pg->affiliation[0] ? pg->affiliation : "Affiliation not imported",
                  chance(r, 80) ? "Open to collaborate" : "Not open to collaborate");
    pgr_sb_printf(sb, "%sVerification L%ld%s\n%ldworks\n%ldfollowers\n%ldtopics\n%ldclose "
                      "collaborators\n\n",
                  pg->trust_text, pg->level, pg->claimed ? "Claimed author" : "Unclaimed author",
                  pg->works, pg->followers, pg->topics, pg->collaborators);
    pgr_sb_printf(
        sb,
        "Actions\n\nDecide how to stay connected\n\nFollow researcher%ld\n\nIdentity and "
        "collaboration\n\nHow to connect with this researcher\n\nClaiming links this public "
        "author record to a researcher profile and unlocks direct collaboration workflows.\n\n"
        "Log in to claim\n\nDirect collaboration\n\nOpen a focused conversation when the fit is "
        "right\n\nClaim this author entity first to unlock direct invitations.\n\nResearch "
        "graph\n\nSee the researcher in context\n\nOpen full explorer\n\nInspect adjacent work, "
        "topics, institutions and collaborators without jumping out to a separate graph "
        "page.\n\nBuilding this graph slice\n\nBZPEER is loading the nearby papers, people, "
        "topics and institutions for this page.\n\nPublished work\n\n%d published item(s)",
        pg->followers, pg->n);
    for (int i = 0; i < pg->n; i++) {
        const pg_paper *p = pg->e[i].p;
        pgr_sb_printf(sb, "\n\n%s%d%s\n\n%s", p->kind, p->y, p->venue, p->title);
        if (p->abstract[0])
            pgr_sb_printf(sb, "\n\n%s", p->abstract);
    }
}

/* 001: the arXiv-backed profile */
static void render_arxivprofile(pg_page *pg, rng *r, pgr_sb *sb)
{
    size_t n;
    pg->header_owner = 1;
    pg->citations = below(r, 20000);
    pg->h_index = below(r, 60);
    pg->papers = pg->n + (chance(r, 30) ? below(r, 50) : 0);
    /* the avatar shows the owner's first letter (a whole UTF-8 character) */
    n = 1;
    while (pg->owner[n] && ((unsigned char)pg->owner[n] & 0xC0) == 0x80)
        n++;
    pgr_sb_printf(sb, "%.*s\n\n%s\n\nTotal Citations\n", (int)n, pg->owner, pg->owner);
    put_count(sb, pg->citations);
    pgr_sb_printf(sb, "\nh-index\n%ld\nPapers\n%ld\n\nPublications", pg->h_index, pg->papers);
    for (int i = 0; i < pg->n; i++) {
        pg_entry *e = &pg->e[i];
        const pg_paper *p = e->p;
        pgr_sb_printf(sb, "%s#%ld %sv%d ", i ? "\n" : "\n\n", e->rank, p->arxiv, p->version);
        put_date(sb, p, 1);
        e->year_printed = 1;
        pgr_sb_printf(sb, "\n\n%s\n\n", p->title);
        if (p->abstract[0])
            pgr_sb_printf(sb, "%s\n\n", p->abstract);
        /* five names, then "+N" */
        e->n_printed = p->n_authors < 5 ? p->n_authors : 5;
        for (int a = 0; a < e->n_printed; a++)
            pgr_sb_printf(sb, "%s%s", a ? " " : "", p->authors[a]);
        if (p->n_authors > 5) {
            snprintf(e->truncated, sizeof e->truncated, "+%d", p->n_authors - 5);
            pgr_sb_printf(sb, " %s", e->truncated);
        }
        pgr_sb_printf(sb, "\n%ld Citation%s", p->cites, p->cites == 1 ? "" : "s");
    }
}

/* authors as the metrics family prints them: three names, then "et al." */
static void put_metrics_authors(pgr_sb *sb, pg_entry *e)
{
    const pg_paper *p = e->p;
    e->n_printed = p->n_authors < 3 ? p->n_authors : 3;
    for (int a = 0; a < e->n_printed; a++)
        pgr_sb_printf(sb, "%s%s", a ? ", " : "", p->authors[a]);
    if (p->n_authors > 3) {
        snprintf(e->truncated, sizeof e->truncated, "et al.");
        pgr_sb_puts(sb, " et al.");
    }
    if (p->affiliation[0])
        pgr_sb_printf(sb, " \xC2\xB7 %s", p->affiliation);
}

/* "[score]CATEGORYMon D[, YYYY][Code]": the year is shown unless it is the
 * capture year; recent entries of the list sometimes carry a score */
static void put_metrics_head(pg_page *pg, rng *r, pgr_sb *sb, pg_entry *e, int list)
{
    const pg_paper *p = e->p;
    e->year_printed = p->y != atoi(pg->capture);
    e->score = NAN;
    if (list && !e->year_printed && chance(r, 60)) {
        e->score = (double)(500 + below(r, 500)) / 10.0;
        pgr_sb_printf(sb, "%.1f", e->score);
    }
    pgr_sb_puts(sb, p->cat);
    put_date(sb, p, e->year_printed);
    if (p->has_code)
        pgr_sb_puts(sb, "Code");
}

/* 002/003: the metrics card */
static void render_metricscard(pg_page *pg, rng *r, pgr_sb *sb)
{
    pg->header_owner = chance(r, 50);
    if (pg->header_owner && chance(r, 70))
        snprintf(pg->category, sizeof pg->category, "%s", PICK(r, cats));
    pg->h_index = below(r, 60);
    pg->papers = pg->n;
    pg->citations = below(r, 5000);
    pg->novelty = below(r, 101);
    pg->ai_score = below(r, 101);
    if (pg->header_owner)
        pgr_sb_printf(sb, "%s\n\n", pg->owner);
    if (pg->category[0])
        pgr_sb_printf(sb, "%s\n", pg->category);
    pgr_sb_printf(sb, "h-index%ld\n%ldpapers\n%ldcitations\nNovelty%ld%%\nAI Score%ld\n\n%d %s",
                  pg->h_index, pg->papers, pg->citations, pg->novelty, pg->ai_score, pg->n,
                  pg->n == 1 ? "Paper" : "Papers");
    for (int i = 0; i < pg->n; i++) {
        pg_entry *e = &pg->e[i];
        pgr_sb_puts(sb, "\n\n");
        put_metrics_head(pg, r, sb, e, 0);
        pgr_sb_printf(sb, "\n%s\n\n", e->p->title);
        put_metrics_authors(sb, e);
        if (e->p->abstract[0])
            pgr_sb_printf(sb, "\n\n%s", e->p->abstract);
    }
}

/* 004: the compact list, title glued to the authors */
static void render_metricslist(pg_page *pg, rng *r, pgr_sb *sb)
{
    pg->header_owner = 0;
    for (int i = 0; i < pg->n; i++) {
        pg_entry *e = &pg->e[i];
        if (i)
            pgr_sb_putc(sb, '\n');
        put_metrics_head(pg, r, sb, e, 1);
        pgr_sb_printf(sb, "\n%s", e->p->title);
        put_metrics_authors(sb, e);
        if (e->p->abstract[0])
            pgr_sb_printf(sb, "\n%s", e->p->abstract);
    }
}

int pg_page_make(pg_page *pg, const pg_world *w, int family, uint64_t seed, int n)
{
    rng r = {seed * 0x9E3779B97F4A7C15ull + (uint64_t)family * 7919u + 3};
    int idx[200];
    pgr_sb sb = {0};
    memset(pg, 0, sizeof *pg);
    if (n < 1 || n > PG_MAX_ENTRIES || n > w->n_papers || family < 0 || family >= PG_NFAMILIES)
        return -1;
    pg->family = family;
    pg->owner = w->owner;
    pg->h_index = pg->citations = pg->papers = pg->trust = pg->level = pg->claimed = -1;
    pg->works = pg->followers = pg->topics = pg->collaborators = pg->novelty = -1;
    pg->ai_score = -1;
    /* the capture date: after every paper of the world */
    {
        int cy = 2026, cm = 11, cd = 22;
        if (chance(&r, 50)) {
            cy = 2026 + below(&r, 2);
            cm = 1 + below(&r, 12);
            cd = 1 + below(&r, 28);
        }
        for (int k = 0; k < w->n_papers; k++) {
            const pg_paper *p = &w->papers[k];
            if (p->y > cy || (p->y == cy && (p->m > cm || (p->m == cm && p->d > cd)))) {
                cy = p->y;
                cm = p->m;
                cd = p->d;
            }
        }
        snprintf(pg->capture, sizeof pg->capture, "%04d-%02d-%02d", cy, cm, cd);
    }
    /* choose n papers (partial Fisher-Yates), then order them as the site does */
    for (int k = 0; k < w->n_papers; k++)
        idx[k] = k;
    for (int k = 0; k < n; k++) {
        int j = k + below(&r, w->n_papers - k), t = idx[k];
        idx[k] = idx[j];
        idx[j] = t;
    }
    pg->n = n;
    for (int k = 0; k < n; k++) {
        pg->e[k].p = &w->papers[idx[k]];
        pg->e[k].score = NAN;
    }
    if (family == PG_RESEARCHGRAPH || family == PG_ARXIVPROFILE) {
        /* newest first */
        for (int a = 1; a < n; a++)
            for (int b = a; b > 0 && date_cmp(pg->e[b - 1].p, pg->e[b].p) < 0; b--) {
                pg_entry t = pg->e[b];
                pg->e[b] = pg->e[b - 1];
                pg->e[b - 1] = t;
            }
    }
    {
        long first = chance(&r, 85) ? 1 : 1 + 10 * (1 + below(&r, 3)); /* a later page */
        for (int k = 0; k < n; k++)
            pg->e[k].rank = first + k;
    }
    switch (family) {
    case PG_RESEARCHGRAPH:
        render_researchgraph(pg, &r, &sb);
        break;
    case PG_ARXIVPROFILE:
        render_arxivprofile(pg, &r, &sb);
        break;
    case PG_METRICSCARD:
        render_metricscard(pg, &r, &sb);
        break;
    default:
        render_metricslist(pg, &r, &sb);
        break;
    }
    if (!pgr_sb_ok(&sb)) {
        pgr_sb_free(&sb);
        return -1;
    }
    pg->len = sb.len;
    pg->text = pgr_sb_steal(&sb);
    return pg->text ? 0 : -1;
}
