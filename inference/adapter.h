#ifndef PEERGRAPH_ADAPTER_H
#define PEERGRAPH_ADAPTER_H
/* Per-researcher PreFT adapters (issue 7): LoRA, LoReFT and DiReFT, applied
 * through the model's hooks (inference/model.h) to a batch whose tokens come
 * from many sequences, each with its own adapter (or none) and mode.
 *
 *   pgr_adapter        one adapter's shapes and float32 tensors (read-only once
 *                      made: share it between threads and engines)
 *   pgr_adapter_set    per-engine: which adapter, mode and prompt length each
 *                      sequence id uses; makes the hooks for pgr_engine_set_hooks
 *   pgr_adapter_reg    the registry: a memory budget, loads on demand, LRU
 *                      eviction of adapters nobody holds
 *
 * Methods
 *   LoRA   at each target projection t of each chosen layer:
 *          out += scale * (in · A^T) · B^T, A (r, in_dim), B (out_dim, r),
 *          scale = alpha / r. Applied per adapter as one shrink (x·A^T over
 *          all of the adapter's tokens in the batch) then one expand (·B^T),
 *          Punica SGMV style, whether the tokens are prefill or decode.
 *          q/k B rows are in GGUF's RoPE-permuted row order (importers permute).
 *   LoReFT at the residual stream after each chosen layer, at chosen positions:
 *          h += R^T (W h + b - R h), R (r, dim) orthonormal rows, W (r, dim), b (r)
 *   DiReFT h += R^T (W h + b)   (R need not be orthonormal)
 *
 * Modes (exact semantics)
 *   PGR_AD_PREFILL  the adapter acts on every prompt position (pos < prompt_len),
 *                   including the last prompt token, whose logits give the first
 *                   generated token; the prompt's K/V enter the cache adapted;
 *                   generated tokens (pos >= prompt_len) use the base model alone.
 *   PGR_AD_ALL      the adapter acts on every token, prompt and generated.
 * ReFT positions: "f<p>+l<s>" selects prompt positions < min(p, L/2) and
 * >= L - min(s, L/2) (L = prompt_len, integer halves, as pyreft's f7+l7);
 * "all" selects every prompt position. In ALL mode ReFT also acts on every
 * generated token. LoRA ignores positions (every prompt token).
 *
 * File format (.pgad): safetensors layout: u64 LE header length, JSON header,
 * raw little-endian tensors. Header "__metadata__" (string values):
 *   format "peergraph-adapter", version "1", base_model_sha256 (hex sha256 of
 *   the GGUF file, "" for random models), method lora|loreft|direft,
 *   mode prefill|all, targets "q,v" (LoRA) or "resid" (ReFT), rank, alpha,
 *   layers "0,1,5", positions "f7+l7"|"all".
 * Tensors (F32, F16 or BF16 on read; we write F32):
 *   layers.N.<site>.lora_a (r, in)   layers.N.<site>.lora_b (out, r)
 *   layers.N.reft.R (r, dim)   layers.N.reft.W (r, dim)   layers.N.reft.b (r)
 * Every length, offset, dtype and shape from a file is checked; errors name
 * the file and the tensor or field. */
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"
#include "inference/model.h"

enum { PGR_AD_LORA = 0, PGR_AD_LOREFT = 1, PGR_AD_DIREFT = 2 };
enum { PGR_AD_PREFILL = 0, PGR_AD_ALL = 1 };
#define PGR_AD_MAX_LAYERS 256
#define PGR_AD_MAX_RANK 1024

typedef struct pgr_adapter_spec {
    int method;       /* PGR_AD_LORA | PGR_AD_LOREFT | PGR_AD_DIREFT */
    int mode;         /* default mode: PGR_AD_PREFILL | PGR_AD_ALL */
    int rank;         /* 1..PGR_AD_MAX_RANK */
    float alpha;      /* LoRA: scale = alpha / rank (ignored by ReFT) */
    uint32_t targets; /* bit (1u << PGR_SITE_*): LoRA q..down; ReFT must be RESID */
    int n_layers;     /* chosen layers, ascending, no repeats */
    int layers[PGR_AD_MAX_LAYERS];
    int pos_first; /* ReFT: p of f<p>+l<s>; -1 with pos_last -1 = all positions */
    int pos_last;  /* ReFT: s */
} pgr_adapter_spec;

/* A tensor owned by the adapter: (rows, cols) float32 row-major. */
typedef struct pgr_adapter_tensor {
    int rows, cols;
    float *data;
} pgr_adapter_tensor;

typedef struct pgr_adapter {
    pgr_adapter_spec spec;
    char base_sha256[65]; /* "" = not tied to a file (random models) */
    int n_layer, dim;     /* of the model it was made for */
    float scale;          /* LoRA alpha / rank */
    /* LoRA: lora_a/lora_b[layer * PGR_SITE_COUNT + site], data NULL when absent.
     * ReFT: reft_R/W/b[layer], data NULL at layers not chosen. */
    pgr_adapter_tensor *lora_a, *lora_b;
    pgr_adapter_tensor *reft_R, *reft_W, *reft_b;
    size_t bytes; /* memory held (for the registry budget), mapped tensors included */
    /* pgr_adapter_load maps the file (private, copy-on-write) and F32
     * tensors point into it instead of being copied; freed with the adapter.
     * NULL when every tensor is heap memory. */
    void *map;
    size_t map_len;
    uint64_t uid; /* unique in the process (device adapter caches key on it) */
} pgr_adapter;

/* ---- specs ------------------------------------------------------------------ */
/* Defaults: LoRA, prefill, rank 8, alpha 16, targets q,v, all layers, f7+l7. */
void pgr_adapter_spec_default(pgr_adapter_spec *s, const pgr_model *m);
/* Parsers for command-line / header strings. Return 0 or -1 with err naming `what`. */
int pgr_adapter_parse_method(const char *s, int *method, pgr_err *err);
int pgr_adapter_parse_mode(const char *s, int *mode, pgr_err *err);
int pgr_adapter_parse_targets(const char *s, uint32_t *targets, pgr_err *err); /* "q,k,v,..." */
/* "all", "0,3,5", "0-7,12" against n_layer. */
int pgr_adapter_parse_layers(const char *s, int n_layer, pgr_adapter_spec *spec, pgr_err *err);
int pgr_adapter_parse_positions(const char *s, int *first, int *last, pgr_err *err);
const char *pgr_adapter_method_name(int method); /* "lora" ... */
const char *pgr_adapter_mode_name(int mode);     /* "prefill" | "all" */
/* Checks a spec against a model (layers in range, targets fit the method). */
int pgr_adapter_spec_check(const pgr_adapter_spec *s, const pgr_model *m, pgr_err *err);

/* ---- making, freeing, files --------------------------------------------------- */
/* A zero adapter of this shape (LoRA A = B = 0, ReFT R = W = b = 0). */
int pgr_adapter_new(const pgr_adapter_spec *s, const pgr_model *m, pgr_adapter **out, pgr_err *err);
/* For the file loader (adapter_file.c): alloc = 0 sets every tensor's shape
 * with data = pgr_adapter_unset_, a placeholder the loader must replace
 * (by a pointer into a->map or a malloc'd copy) before the adapter is used;
 * pgr_adapter_free never frees the placeholder. alloc = 1 is pgr_adapter_new. */
int pgr_adapter_new_ex(const pgr_adapter_spec *s, const pgr_model *m, int alloc, pgr_adapter **out,
                       pgr_err *err);
extern float pgr_adapter_unset_[1];
/* Random, deterministic in seed: LoRA A ~ U(-1/sqrt(in), 1/sqrt(in)) and
 * B ~ U(-0.05, 0.05) (non-zero, so it changes outputs); ReFT R with orthonormal
 * rows (Gram-Schmidt), W, b small uniform. */
int pgr_adapter_new_random(const pgr_adapter_spec *s, const pgr_model *m, uint64_t seed,
                           pgr_adapter **out, pgr_err *err);
void pgr_adapter_free(pgr_adapter *a); /* NULL is fine */
/* Rows of t made orthonormal in place (modified Gram-Schmidt in double; a
 * zero row becomes a unit vector). rows <= cols. LoReFT's R after each
 * training step (inference/train.c) and at random init. */
void pgr_adapter_orthonormalise(pgr_adapter_tensor *t);

/* sha256 hex of the model's GGUF file ("" for random models): the base-model
 * identity stored in adapter files. Reads the whole file (~0.2 s for 100 MB):
 * compute once per model and keep it. */
int pgr_model_sha256(const pgr_model *m, char out[65], pgr_err *err);

int pgr_adapter_save(const pgr_adapter *a, const char *path, pgr_err *err);
/* Parses an adapter file from memory (name for messages) and validates it
 * against the model: shapes, layer indices, and base_sha256 == model_sha256
 * when model_sha256 is non-NULL and non-empty. */
int pgr_adapter_parse(const void *data, size_t len, const char *name, const pgr_model *m,
                      const char *model_sha256, pgr_adapter **out, pgr_err *err);
int pgr_adapter_load(const char *path, const pgr_model *m, const char *model_sha256,
                     pgr_adapter **out, pgr_err *err);

/* ---- safetensors (shared by our format and the PEFT importer) ----------------- */
typedef struct pgr_st_tensor {
    char name[256];
    int dtype; /* PGR_KT_F32 | PGR_KT_F16 | PGR_KT_BF16 */
    int n_dims;
    int64_t shape[4];
    const uint8_t *data; /* inside the caller's buffer */
    size_t nbytes;
} pgr_st_tensor;
typedef struct pgr_st_file {
    size_t n_tensors;
    pgr_st_tensor *tensors; /* malloc'd */
    char *metadata_json;    /* malloc'd JSON text of "__metadata__" or NULL */
} pgr_st_file;
/* Parses a safetensors buffer: header length within the buffer (and < 100 MB),
 * JSON well-formed, dtypes F32/F16/BF16 only, offsets in order within the
 * data section, nbytes == product(shape) * elem size, no overlap. */
int pgr_st_parse(const void *data, size_t len, const char *name, pgr_st_file *out, pgr_err *err);
void pgr_st_free(pgr_st_file *f);
const pgr_st_tensor *pgr_st_find(const pgr_st_file *f, const char *name);

/* ---- importers ----------------------------------------------------------------- */
/* PEFT LoRA directory (adapter_config.json + adapter_model.safetensors):
 * r, lora_alpha, target_modules (q_proj.. down_proj), tensors
 * base_model.model.model.layers.N.{self_attn,mlp}.X_proj.lora_{A,B}.weight.
 * q/k B rows are permuted as llama.cpp's convert script permutes q/k. */
int pgr_adapter_import_peft(const char *dir, const pgr_model *m, const char *model_sha256,
                            pgr_adapter **out, pgr_err *err);
/* llama.cpp GGUF LoRA (general.type = adapter, adapter.lora.alpha,
 * blk.N.attn_q.weight.lora_a / lora_b). Already in GGUF row order. */
int pgr_adapter_import_gguf(const char *path, const pgr_model *m, const char *model_sha256,
                            pgr_adapter **out, pgr_err *err);

/* ---- applying: the per-engine adapter set ---------------------------------------- */
typedef struct pgr_adapter_set pgr_adapter_set;

/* For sequence ids 0..max_seqs-1 (those of the engine's pgr_kv). */
int pgr_adapter_set_new(const pgr_model *m, int max_seqs, pgr_adapter_set **out, pgr_err *err);
void pgr_adapter_set_free(pgr_adapter_set *s);
/* Sequence seq uses adapter a (NULL = base) in mode, with a prompt of
 * prompt_len tokens (positions 0..prompt_len-1). The adapter is borrowed:
 * keep it alive (registry reference) until unbind. Bind before the first
 * forward of the sequence; rebinding a running sequence is allowed only to
 * grow prompt_len before its prompt has been fully forwarded. */
int pgr_adapter_set_bind(pgr_adapter_set *s, int seq, const pgr_adapter *a, int mode,
                         int prompt_len, pgr_err *err);
void pgr_adapter_set_unbind(pgr_adapter_set *s, int seq);
/* Hooks to install with pgr_engine_set_hooks (user = s). */
void pgr_adapter_set_hooks(pgr_adapter_set *s, pgr_hooks *out);
/* 1 if some token of the batch is adapted (else the scheduler may run the
 * batch with no hooks: the base model only). */
int pgr_adapter_set_active(const pgr_adapter_set *s, const pgr_batch *b);
/* Fills a scheduler's adapter callbacks (inference/sched.h pgr_sched_adapt:
 * bind, unbind, active, hooks, user) to use this set, the scheduler's
 * PGR_SCHED_MODE_* mapped to PGR_AD_*. */
struct pgr_sched_adapt;
void pgr_adapter_set_sched(pgr_adapter_set *s, struct pgr_sched_adapt *out);
/* For backends that apply adapters themselves (kernels/cuda): the set whose
 * hooks these are (filled by pgr_adapter_set_hooks), or NULL for other hooks;
 * and sequence seq's binding: its adapter (NULL = base) with mode and prompt
 * length. */
const pgr_adapter_set *pgr_adapter_set_of_hooks(const pgr_hooks *h);
const pgr_adapter *pgr_adapter_set_binding(const pgr_adapter_set *s, int seq, int *mode,
                                           int *prompt_len);
/* Does adapter a (in mode, prompt of prompt_len) act at position pos? For ReFT
 * this applies the positions rule; for LoRA it is the mode rule. */
int pgr_adapter_acts_at(const pgr_adapter *a, int mode, int prompt_len, int pos);

/* ---- registry ------------------------------------------------------------------ */
typedef struct pgr_adapter_reg pgr_adapter_reg;

/* budget_bytes: adapters kept loaded (in use ones may exceed it until released). */
int pgr_adapter_reg_new(const pgr_model *m, const char *model_sha256, size_t budget_bytes,
                        pgr_adapter_reg **out, pgr_err *err);
void pgr_adapter_reg_free(pgr_adapter_reg *r); /* all references must be released */
/* Returns adapter `path` (loading it if needed) with a reference held. Waits
 * only for a load of this same path by another thread; loads of different
 * paths run in parallel, outside the registry lock. A failed load is not
 * cached (the next acquire retries). Thread-safe. */
int pgr_adapter_reg_acquire(pgr_adapter_reg *r, const char *path, const pgr_adapter **out,
                            pgr_err *err);
void pgr_adapter_reg_release(pgr_adapter_reg *r, const pgr_adapter *a);
/* Stats for tests and /metrics. */
typedef struct pgr_adapter_reg_stats {
    size_t bytes, n_loaded, loads, hits, evictions;
} pgr_adapter_reg_stats;
void pgr_adapter_reg_stats_get(pgr_adapter_reg *r, pgr_adapter_reg_stats *out);

#endif
