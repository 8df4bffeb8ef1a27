/* peergraph adapt: create adapters. --random makes well-formed random ones of
 * any shape (tests, benchmarks); --import-peft DIR / --import-gguf FILE convert
 * other tools' LoRA files to ours; --author ID / --changed train researchers'
 * adapters from the graph (inference/adapt_train.h). */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph/graph.h"
#include "inference/adapt_train.h"
#include "inference/adapter.h"
#include "inference/model.h"
#include "inference/tokenizer.h"

/* Records the file as the author's adapter (pgr_adapter_register: once per
 * path). The path is stored absolute so it resolves from any directory. */
static int register_adapter(const char *db, const char *author, const char *file,
                            const pgr_adapter *a, pgr_err *err)
{
    char *end, abs_path[PATH_MAX];
    const char *key = author[0] == 'A' ? author + 1 : author;
    errno = 0;
    long long id = strtoll(key, &end, 10);
    if (errno || end == key || *end || id <= 0)
        return pgr_errf(err, PGR_EINVAL, "--register '%s': expected an author id (A12 or 12)",
                        author);
    if (!realpath(file, abs_path))
        return pgr_errf(err, PGR_EIO, "%s: %s", file, strerror(errno));
    pgr_store *st = NULL;
    if (pgr_store_open(db, &st, err) != 0)
        return -1;
    int rc = -1, created = 0;
    pgr_id row = 0, resolved = 0;
    /* a merged-away id names the author it went to */
    if (pgr_author_resolve(st, (pgr_id)id, &resolved, err) != 0)
        goto cleanup;
    pgr_adapter_rec rec = {resolved,      pgr_adapter_method_name(a->spec.method),
                           pgr_adapter_mode_name(a->spec.mode), a->spec.rank, abs_path,
                           a->base_sha256, NULL};
    if (pgr_adapter_register(st, &rec, &row, &created, err) != 0)
        goto cleanup;
    fprintf(stderr, "peergraph adapt: %s adapter %lld for author A%lld (%s)\n",
            created ? "registered" : "already registered as", (long long)row, (long long)resolved,
            abs_path);
    rc = 0;
cleanup:
    pgr_store_close(st);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peergraph adapt --random --seed S --out FILE [options]\n"
            "       peergraph adapt --import-peft DIR --out FILE [--model PATH]\n"
            "       peergraph adapt --import-gguf FILE --out FILE [--model PATH]\n"
            "  --model PATH         GGUF base model (default %s)\n"
            "  --method M           lora | loreft | direft (default lora)\n"
            "  --rank R             (default 8)\n"
            "  --alpha A            LoRA scale = alpha / rank (default 2 * rank)\n"
            "  --targets LIST       LoRA: q,k,v,o,gate,up,down (default q,v)\n"
            "  --layers LIST        all | 0,3,5 | 0-7 (default all)\n"
            "  --positions P        ReFT: f7+l7 | all (default f7+l7)\n"
            "  --mode M             default mode: prefill | all (default prefill)\n"
            "\n"
            "       peergraph adapt --author ID | --changed [options]\n"
            "  train researchers' adapters from their works in the graph, evaluate them on\n"
            "  held-out works, store them next to the database with a row in adapters\n"
            "  --author ID          one author (A12, orcid:..., ...)\n"
            "  --changed            every page owner / adapter holder with no adapter for this\n"
            "                       model, or whose works changed since their current adapter\n"
            "                       was trained (the nightly job); a retrain adds a row that\n"
            "                       becomes current, older rows and files are kept\n"
            "  --dry-run            with --changed: list whom it would train, train nobody\n"
            "  --db URL             (default %s)\n"
            "  --register ID        with --random or an import: also record the file (absolute\n"
            "                       path) as author ID's adapter in --db (pgr_adapter_register)\n"
            "  --method M           lora | reft (= loreft) | loreft | direft (default lora)\n"
            "  --mode M             prefill (PreFT) | all (default prefill)\n"
            "  --compare            also train the other mode, for the metrics only\n"
            "  --rank R             (default 8)\n"
            "  --targets, --layers, --positions  as above (LoRA default: all seven)\n"
            "  --steps N            optimiser steps (default 16)\n"
            "  --batch B            sequences per step (default 1)\n"
            "  --max-tokens T       longest training sequence (default 64)\n"
            "  --lr LR              peak learning rate (default 5e-3 LoRA, 5e-4 ReFT)\n"
            "  --seed S             (default 1)\n"
            "  --threads N          (default 2)\n"
            "  --device cpu|cuda    where training runs (default cpu; cuda: the GPU trainer,\n"
            "                       docs/training.md)\n"
            "  --max-eval N         evaluate at most N held-out sequences (default all)\n"
            "  --adapters-dir DIR   (default: <db dir>/adapters for sqlite, else ./adapters)\n",
            PGR_DEFAULT_MODEL, PGR_DEFAULT_DB);
}

enum {
    OPT_RANDOM = 256,
    OPT_SEED,
    OPT_METHOD,
    OPT_RANK,
    OPT_ALPHA,
    OPT_TARGETS,
    OPT_LAYERS,
    OPT_POSITIONS,
    OPT_MODE,
    OPT_MODEL,
    OPT_OUT,
    OPT_AUTHOR,
    OPT_CHANGED,
    OPT_PEFT,
    OPT_GGUF,
    OPT_DB,
    OPT_REGISTER,
    OPT_COMPARE,
    OPT_STEPS,
    OPT_BATCH,
    OPT_MAXTOK,
    OPT_LR,
    OPT_THREADS,
    OPT_ADIR,
    OPT_MAXEVAL,
    OPT_DRYRUN,
    OPT_DEVICE
};

static int int_arg(const char *name, const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "peergraph adapt: %s: '%s' not in %d..%d\n", name, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* --author / --changed */
static int run_train(const char *model_path, const char *db, const char *author,
                     pgr_adapt_args *args, const char *method, const char *mode)
{
    pgr_err err = {0};
    pgr_model *m = NULL;
    pgr_tokenizer *tok = NULL;
    pgr_store *s = NULL;
    char sha[65];
    int rc = 1;
    if (strcmp(method, "reft") == 0)
        method = "loreft";
    if (pgr_adapter_parse_method(method, &args->method, &err) != 0 ||
        pgr_adapter_parse_mode(mode, &args->mode, &err) != 0) {
        fprintf(stderr, "peergraph adapt: %s\n", err.msg);
        return 2;
    }
    args->db_url = db;
    args->log = stderr;
    if (pgr_model_load(model_path, &m, &err) != 0 || pgr_model_sha256(m, sha, &err) != 0 ||
        pgr_tok_load(pgr_model_gguf(m), &tok, &err) != 0 || pgr_store_open(db, &s, &err) != 0)
        goto cleanup;
    if (author) {
        pgr_id id;
        if (pgr_adapt_author(s, m, sha, tok, author, args, &id, &err) != 0)
            goto cleanup;
    } else {
        int n;
        if (pgr_adapt_changed(s, m, sha, tok, args, &n, &err) != 0)
            goto cleanup;
        if (args->dry_run)
            fprintf(stderr, "peergraph adapt: %d author%s to train (dry run)\n", n,
                    n == 1 ? "" : "s");
        else
            fprintf(stderr, "peergraph adapt: %d adapter%s trained\n", n, n == 1 ? "" : "s");
    }
    rc = 0;
cleanup:
    if (rc)
        fprintf(stderr, "peergraph adapt: %s\n", err.msg);
    pgr_store_close(s);
    pgr_tok_free(tok);
    pgr_model_free(m);
    return rc;
}

int cmd_adapt(int argc, char **argv)
{
    static const struct option opts[] = {{"random", no_argument, 0, OPT_RANDOM},
                                         {"seed", required_argument, 0, OPT_SEED},
                                         {"method", required_argument, 0, OPT_METHOD},
                                         {"rank", required_argument, 0, OPT_RANK},
                                         {"alpha", required_argument, 0, OPT_ALPHA},
                                         {"targets", required_argument, 0, OPT_TARGETS},
                                         {"layers", required_argument, 0, OPT_LAYERS},
                                         {"positions", required_argument, 0, OPT_POSITIONS},
                                         {"mode", required_argument, 0, OPT_MODE},
                                         {"model", required_argument, 0, OPT_MODEL},
                                         {"out", required_argument, 0, OPT_OUT},
                                         {"author", required_argument, 0, OPT_AUTHOR},
                                         {"changed", no_argument, 0, OPT_CHANGED},
                                         {"import-peft", required_argument, 0, OPT_PEFT},
                                         {"import-gguf", required_argument, 0, OPT_GGUF},
                                         {"db", required_argument, 0, OPT_DB},
                                         {"register", required_argument, 0, OPT_REGISTER},
                                         {"compare", no_argument, 0, OPT_COMPARE},
                                         {"steps", required_argument, 0, OPT_STEPS},
                                         {"batch", required_argument, 0, OPT_BATCH},
                                         {"max-tokens", required_argument, 0, OPT_MAXTOK},
                                         {"lr", required_argument, 0, OPT_LR},
                                         {"threads", required_argument, 0, OPT_THREADS},
                                         {"adapters-dir", required_argument, 0, OPT_ADIR},
                                         {"max-eval", required_argument, 0, OPT_MAXEVAL},
                                         {"dry-run", no_argument, 0, OPT_DRYRUN},
                                         {"device", required_argument, 0, OPT_DEVICE},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model_path = PGR_DEFAULT_MODEL, *out = NULL, *method = "lora", *targets = NULL,
               *layers = "all", *positions = "f7+l7", *mode = "prefill", *peft = NULL,
               *ggufp = NULL;
    int random = 0, train = 0, have_seed = 0, rank = 8, have_alpha = 0, changed = 0;
    const char *db = PGR_DEFAULT_DB, *author = NULL, *reg_author = NULL;
    pgr_adapt_args targs;
    pgr_adapt_args_default(&targs);
    unsigned long long seed = 0;
    double alpha = 0;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_RANDOM:
            random = 1;
            break;
        case OPT_SEED:
            errno = 0;
            seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "peergraph adapt: --seed: '%s' is not a number\n", optarg);
                return 2;
            }
            have_seed = 1;
            break;
        case OPT_METHOD:
            method = optarg;
            break;
        case OPT_RANK: {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > PGR_AD_MAX_RANK) {
                fprintf(stderr, "peergraph adapt: --rank: '%s' not in 1..%d\n", optarg,
                        PGR_AD_MAX_RANK);
                return 2;
            }
            rank = (int)v;
            break;
        }
        case OPT_ALPHA:
            alpha = strtod(optarg, &end);
            if (end == optarg || *end || !(alpha > -1e6 && alpha < 1e6)) {
                fprintf(stderr, "peergraph adapt: --alpha: '%s' is not a number\n", optarg);
                return 2;
            }
            have_alpha = 1;
            break;
        case OPT_TARGETS:
            targets = optarg;
            break;
        case OPT_LAYERS:
            layers = optarg;
            break;
        case OPT_POSITIONS:
            positions = optarg;
            break;
        case OPT_MODE:
            mode = optarg;
            break;
        case OPT_MODEL:
            model_path = optarg;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_AUTHOR:
            train = 1;
            author = optarg;
            break;
        case OPT_CHANGED:
            train = 1;
            changed = 1;
            break;
        case OPT_REGISTER:
            reg_author = optarg;
            break;
        case OPT_DB:
            db = optarg;
            break;
        case OPT_COMPARE:
            targs.compare = 1;
            break;
        case OPT_STEPS:
            if (int_arg("--steps", optarg, 1, 1000000, &targs.steps))
                return 2;
            break;
        case OPT_BATCH:
            if (int_arg("--batch", optarg, 1, 64, &targs.batch))
                return 2;
            break;
        case OPT_MAXTOK:
            if (int_arg("--max-tokens", optarg, 8, 8192, &targs.max_tok))
                return 2;
            break;
        case OPT_THREADS:
            if (int_arg("--threads", optarg, 1, 256, &targs.n_threads))
                return 2;
            break;
        case OPT_LR:
            targs.lr = (float)strtod(optarg, &end);
            if (end == optarg || *end || !(targs.lr > 0 && targs.lr < 1)) {
                fprintf(stderr, "peergraph adapt: --lr: '%s' not in (0, 1)\n", optarg);
                return 2;
            }
            break;
        case OPT_ADIR:
            targs.adapters_dir = optarg;
            break;
        case OPT_MAXEVAL:
            if (int_arg("--max-eval", optarg, 0, 1 << 30, &targs.max_eval))
                return 2;
            break;
        case OPT_DRYRUN:
            targs.dry_run = 1;
            break;
        case OPT_DEVICE:
            /* checked now: no device is exit 2 before the model is read */
            if (pgr_device_check("peergraph adapt", optarg))
                return 2;
            targs.device = optarg;
            break;
        case OPT_PEFT:
            peft = optarg;
            break;
        case OPT_GGUF:
            ggufp = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "peergraph adapt: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (train) {
        if (random || peft || ggufp || out || (author && changed)) {
            fprintf(stderr, "peergraph adapt: --author or --changed trains from the graph: "
                            "give one of them, without --random, --import-*, --out\n");
            return 2;
        }
        if (targs.dry_run && !changed) {
            fprintf(stderr, "peergraph adapt: --dry-run goes with --changed\n");
            return 2;
        }
        targs.rank = rank;
        targs.seed = have_seed ? (uint64_t)seed : 1;
        targs.targets = targets;
        targs.layers = strcmp(layers, "all") ? layers : NULL;
        targs.positions = positions;
        return run_train(model_path, db, author, &targs, method, mode);
    }
    if (targs.device) {
        fprintf(stderr, "peergraph adapt: --device goes with --author or --changed\n");
        return 2;
    }
    if (random + !!peft + !!ggufp != 1 || !out || (random && !have_seed)) {
        fprintf(stderr, "peergraph adapt: give exactly one of --random (with --seed), "
                        "--import-peft, --import-gguf, and --out\n");
        usage(stderr);
        return 2;
    }

    pgr_err err = {0};
    pgr_model *m = NULL;
    pgr_adapter *a = NULL;
    char sha[65];
    int rc = 1;
    if (pgr_model_load(model_path, &m, &err) != 0 || pgr_model_sha256(m, sha, &err) != 0) {
        fprintf(stderr, "peergraph adapt: %s\n", err.msg);
        goto cleanup;
    }
    if (random) {
        pgr_adapter_spec s;
        pgr_adapter_spec_default(&s, m);
        s.rank = rank;
        s.alpha = have_alpha ? (float)alpha : 2.0f * (float)rank;
        if (pgr_adapter_parse_method(method, &s.method, &err) != 0 ||
            pgr_adapter_parse_mode(mode, &s.mode, &err) != 0 ||
            pgr_adapter_parse_targets(targets                   ? targets
                                      : s.method == PGR_AD_LORA ? "q,v"
                                                                : "resid",
                                      &s.targets, &err) != 0 ||
            pgr_adapter_parse_layers(layers, pgr_model_config(m)->n_layer, &s, &err) != 0 ||
            pgr_adapter_parse_positions(positions, &s.pos_first, &s.pos_last, &err) != 0 ||
            pgr_adapter_new_random(&s, m, seed, &a, &err) != 0) {
            fprintf(stderr, "peergraph adapt: %s\n", err.msg);
            rc = 2;
            goto cleanup;
        }
        memcpy(a->base_sha256, sha, sizeof sha);
    } else if (peft ? pgr_adapter_import_peft(peft, m, sha, &a, &err)
                    : pgr_adapter_import_gguf(ggufp, m, sha, &a, &err)) {
        fprintf(stderr, "peergraph adapt: %s\n", err.msg);
        goto cleanup;
    }
    if (pgr_adapter_save(a, out, &err) != 0) {
        fprintf(stderr, "peergraph adapt: %s\n", err.msg);
        goto cleanup;
    }
    fprintf(stderr, "peergraph adapt: wrote %s (%s, rank %d, %d layers, %zu bytes of tensors)\n",
            out, pgr_adapter_method_name(a->spec.method), a->spec.rank, a->spec.n_layers, a->bytes);
    if (reg_author && register_adapter(db, reg_author, out, a, &err) != 0) {
        fprintf(stderr, "peergraph adapt: %s\n", err.msg);
        goto cleanup;
    }
    rc = 0;
cleanup:
    pgr_adapter_free(a);
    pgr_model_free(m);
    return rc;
}
