/* peergraph generate: one prompt, tokens streamed to stdout as they come.
 *
 * --logits-out FILE writes the logits of the prompt's last position (the
 * distribution the first generated token is drawn from) as n_vocab float32
 * values, little-endian, nothing else: the file size tells n_vocab. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inference/model.h"
#include "inference/sample.h"
#include "inference/tokenizer.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peergraph generate --prompt TEXT [options]\n"
            "  --model PATH         GGUF model (default %s)\n"
            "  --prompt TEXT        the prompt (required)\n"
            "  --chat               wrap the prompt as a ChatML user turn (default system prompt)\n"
            "  --system TEXT        system prompt for --chat\n"
            "  --max-tokens N       tokens to generate (default 128)\n"
            "  --temperature T      0 = greedy (default 0)\n"
            "  --top-k K            (default 40; with temperature > 0)\n"
            "  --top-p P            (default 0.95)\n"
            "  --min-p P            (default 0.05)\n"
            "  --repeat-penalty R   (default 1.0 = off)\n"
            "  --seed S             RNG seed (default 0)\n"
            "  --stop STR           stop when STR appears (repeatable)\n"
            "  --threads N          CPU threads (default 2)\n"
            "  --device cpu|cuda    where the engine runs (default cpu)\n"
            "  --logits-out FILE    write the prompt's last-position logits (float32 LE)\n"
            "  --print-ids          print generated token ids (one line) instead of text\n"
            "  --verbose            timings on stderr\n",
            PGR_DEFAULT_MODEL);
}

int pgr_device_check(const char *prog, const char *device)
{
    pgr_err err = {0};
    if (pgr_device_usable(device, NULL, 0, &err) == 0)
        return 0;
    fprintf(stderr, "%s: --device %s: %s\n", prog, device, err.msg);
    return -1;
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "peergraph generate: %s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

enum { OPT_SYSTEM = 256, OPT_MAXTOK, OPT_TEMP, OPT_TOPK, OPT_TOPP, OPT_MINP, OPT_REP, OPT_SEED,
       OPT_STOP, OPT_THREADS, OPT_LOGITS, OPT_IDS, OPT_VERBOSE, OPT_CHAT, OPT_MODEL, OPT_PROMPT,
       OPT_DEVICE };

int cmd_generate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, OPT_MODEL},      {"prompt", required_argument, 0, OPT_PROMPT},
        {"chat", no_argument, 0, OPT_CHAT},              {"system", required_argument, 0, OPT_SYSTEM},
        {"max-tokens", required_argument, 0, OPT_MAXTOK}, {"temperature", required_argument, 0, OPT_TEMP},
        {"top-k", required_argument, 0, OPT_TOPK},       {"top-p", required_argument, 0, OPT_TOPP},
        {"min-p", required_argument, 0, OPT_MINP},       {"repeat-penalty", required_argument, 0, OPT_REP},
        {"seed", required_argument, 0, OPT_SEED},        {"stop", required_argument, 0, OPT_STOP},
        {"threads", required_argument, 0, OPT_THREADS},  {"logits-out", required_argument, 0, OPT_LOGITS},
        {"print-ids", no_argument, 0, OPT_IDS},          {"verbose", no_argument, 0, OPT_VERBOSE},
        {"device", required_argument, 0, OPT_DEVICE},
        {"help", no_argument, 0, 'h'},                   {0, 0, 0, 0}};
    const char *model_path = PGR_DEFAULT_MODEL, *prompt = NULL, *system = NULL, *logits_out = NULL;
    const char *device = "cpu";
    int chat = 0, max_tokens = 128, threads = 2, print_ids = 0, verbose = 0;
    const char *stops[16];
    size_t n_stops = 0;
    pgr_sample_cfg scfg;
    pgr_sample_defaults(&scfg);
    double v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_MODEL: model_path = optarg; break;
        case OPT_PROMPT: prompt = optarg; break;
        case OPT_CHAT: chat = 1; break;
        case OPT_SYSTEM: system = optarg; break;
        case OPT_MAXTOK: if (parse_num("--max-tokens", optarg, 0, 1 << 20, &v)) return 2; max_tokens = (int)v; break;
        case OPT_TEMP: if (parse_num("--temperature", optarg, 0, 100, &v)) return 2; scfg.temperature = (float)v; break;
        case OPT_TOPK: if (parse_num("--top-k", optarg, 0, 1 << 24, &v)) return 2; scfg.top_k = (int)v; break;
        case OPT_TOPP: if (parse_num("--top-p", optarg, 0, 1, &v)) return 2; scfg.top_p = (float)v; break;
        case OPT_MINP: if (parse_num("--min-p", optarg, 0, 1, &v)) return 2; scfg.min_p = (float)v; break;
        case OPT_REP: if (parse_num("--repeat-penalty", optarg, 0.01, 100, &v)) return 2; scfg.repeat_penalty = (float)v; break;
        case OPT_SEED: if (parse_num("--seed", optarg, 0, 1.8e19, &v)) return 2; scfg.seed = (uint64_t)v; break;
        case OPT_STOP:
            if (n_stops == sizeof stops / sizeof *stops) {
                fprintf(stderr, "peergraph generate: at most 16 --stop strings\n");
                return 2;
            }
            stops[n_stops++] = optarg;
            break;
        case OPT_THREADS: if (parse_num("--threads", optarg, 1, 256, &v)) return 2; threads = (int)v; break;
        case OPT_LOGITS: logits_out = optarg; break;
        case OPT_IDS: print_ids = 1; break;
        case OPT_VERBOSE: verbose = 1; break;
        case OPT_DEVICE:
            if (pgr_device_check("peergraph generate", optarg))
                return 2;
            device = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!prompt || optind != argc) {
        usage(stderr);
        return 2;
    }

    int rc = 1;
    pgr_err err = {0};
    pgr_model *m = NULL;
    pgr_tokenizer *tok = NULL;
    pgr_engine *e = NULL;
    pgr_kv *kv = NULL;
    pgr_sampler *smp = NULL;
    pgr_tokvec ids = {0};
    float *logits = NULL;
    int32_t *tokens = NULL, *seqs = NULL, *poss = NULL;
    pgr_sb out = {0};
    pgr_utf8_stream u8 = {0};
    pgr_stopper stop;
    pgr_stop_init(&stop, stops, n_stops);

    if (pgr_model_load(model_path, &m, &err) || pgr_tok_load(pgr_model_gguf(m), &tok, &err))
        goto cleanup;
    if (chat ? pgr_tok_chat_encode(tok, system, prompt, &ids, &err)
             : pgr_tok_encode(tok, prompt, strlen(prompt), PGR_TOK_ADD_BOS, &ids, &err))
        goto cleanup;
    if (ids.n == 0) {
        pgr_errf(&err, PGR_EINVAL, "the prompt encodes to no tokens");
        goto cleanup;
    }
    const pgr_model_cfg *cfg = pgr_model_config(m);
    size_t total = ids.n + (size_t)max_tokens;
    if (total > (size_t)cfg->ctx_len) {
        pgr_errf(&err, PGR_EINVAL, "prompt (%zu tokens) + --max-tokens %d exceed the context of %d",
                 ids.n, max_tokens, cfg->ctx_len);
        goto cleanup;
    }
    const int bs = 16;
    if (pgr_engine_new_on(m, device, threads, &e, &err) ||
        pgr_kv_new(m, (int)((total + bs - 1) / bs), bs, 1, &kv, &err))
        goto cleanup;
    int seq = pgr_kv_seq_open(kv, &err);
    smp = pgr_sampler_new(&scfg, cfg->vocab);
    logits = malloc((size_t)cfg->vocab * sizeof(float));
    tokens = malloc(total * sizeof(int32_t));
    seqs = malloc(ids.n * sizeof(int32_t));
    poss = malloc(ids.n * sizeof(int32_t));
    if (seq < 0 || !smp || !logits || !tokens || !seqs || !poss) {
        pgr_errf(&err, PGR_ENOMEM, "out of memory");
        goto cleanup;
    }
    memcpy(tokens, ids.v, ids.n * sizeof(int32_t));
    for (size_t i = 0; i < ids.n; i++)
        seqs[i] = seq, poss[i] = (int32_t)i;
    uint64_t t0 = pgr_now_us();
    pgr_batch b = {(int)ids.n, tokens, seqs, poss, NULL};
    if (pgr_forward(e, kv, &b, logits, &err))
        goto cleanup;
    uint64_t t1 = pgr_now_us();
    if (logits_out) {
        FILE *f = fopen(logits_out, "wb");
        if (!f || fwrite(logits, sizeof(float), (size_t)cfg->vocab, f) != (size_t)cfg->vocab ||
            fclose(f) != 0) {
            pgr_errf(&err, PGR_EIO, "%s: cannot write logits: %s", logits_out, strerror(errno));
            goto cleanup;
        }
    }
    size_t n = ids.n;
    int generated = 0;
    while (generated < max_tokens) {
        int32_t next = pgr_sample(smp, logits, tokens, n);
        tokens[n++] = next;
        generated++;
        if (pgr_tok_is_eog(tok, next))
            break;
        if (print_ids) {
            printf("%s%d", generated > 1 ? " " : "", next);
        } else {
            size_t plen;
            const char *piece = pgr_tok_piece(tok, next, 0, &plen);
            pgr_sb_reset(&out);
            pgr_utf8_stream_feed(&u8, piece ? piece : "", piece ? plen : 0, &out);
            const char *show;
            size_t slen;
            pgr_stop_feed(&stop, out.data ? out.data : "", out.len, &show, &slen);
            fwrite(show, 1, slen, stdout);
            if (stop.stopped)
                break;
        }
        fflush(stdout);
        if (generated == max_tokens)
            break;
        int32_t s1 = seq, p1 = (int32_t)(n - 1);
        pgr_batch b1 = {1, &tokens[n - 1], &s1, &p1, NULL};
        if (pgr_forward(e, kv, &b1, logits, &err))
            goto cleanup;
    }
    if (!print_ids && !stop.stopped) {
        const char *show;
        size_t slen;
        pgr_sb_reset(&out);
        pgr_utf8_stream_flush(&u8, &out);
        pgr_stop_feed(&stop, out.data ? out.data : "", out.len, &show, &slen);
        fwrite(show, 1, slen, stdout);
        pgr_stop_finish(&stop, &show, &slen);
        fwrite(show, 1, slen, stdout);
    }
    printf("\n");
    fflush(stdout);
    uint64_t t2 = pgr_now_us();
    if (verbose)
        fprintf(stderr, "prompt %zu tokens in %.1f ms (%.1f tok/s); %d generated in %.1f ms (%.1f tok/s); %d threads, %s, %s\n",
                ids.n, (double)(t1 - t0) / 1e3, (double)ids.n * 1e6 / (double)(t1 - t0 + 1), generated,
                (double)(t2 - t1) / 1e3, generated * 1e6 / (double)(t2 - t1 + 1), threads,
                pgr_kernels_cpu_isa(), pgr_engine_device(e));
    rc = 0;
cleanup:
    if (rc)
        fprintf(stderr, "peergraph generate: %s\n", err.msg);
    pgr_stop_free(&stop);
    pgr_sb_free(&out);
    free(logits), free(tokens), free(seqs), free(poss);
    pgr_tokvec_free(&ids);
    pgr_sampler_free(smp);
    pgr_kv_free(kv);
    pgr_engine_free(e);
    pgr_tok_free(tok);
    pgr_model_free(m);
    return rc;
}
