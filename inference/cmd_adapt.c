/* peergraph adapt: create adapters. --random makes well-formed random ones of
 * any shape (tests, benchmarks); --import-peft DIR / --import-gguf FILE convert
 * other tools' LoRA files to ours. Training from the graph (--author,
 * --changed; issue 9) is not built yet and answers exit 2. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inference/adapter.h"
#include "inference/model.h"

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
            "  --author ID, --changed   train from the graph (issue 9: not built yet)\n",
            PGR_DEFAULT_MODEL);
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
    OPT_GGUF
};

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
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model_path = PGR_DEFAULT_MODEL, *out = NULL, *method = "lora", *targets = NULL,
               *layers = "all", *positions = "f7+l7", *mode = "prefill", *peft = NULL,
               *ggufp = NULL;
    int random = 0, train = 0, have_seed = 0, rank = 8, have_alpha = 0;
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
        case OPT_CHANGED:
            train = 1;
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
    if (train && !random && !peft && !ggufp) {
        fprintf(stderr, "peergraph adapt: training from the graph (--author/--changed, issue 9) "
                        "is not built yet; use --random for a random adapter\n");
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
    rc = 0;
cleanup:
    pgr_adapter_free(a);
    pgr_model_free(m);
    return rc;
}
