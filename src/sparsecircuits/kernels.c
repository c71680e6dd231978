/* Exact top-k selection for contiguous float32 CPU tensors: AbsTopK's rows and the weight
 * projection. Compiled and loaded by kernels.py, which documents the contract.
 *
 * Non-negative float32s order exactly like their bit patterns read as int32 ("keys"), so both
 * kernels find the k-th largest |x| by bisection on integers: each probe is one vectorised
 * count of the keys at or above it, and the search stops at the first probe with exactly k.
 *
 * Threads come from OpenMP. Built with -fopenmp after torch is loaded, this library binds to
 * torch's own libgomp, so its threads are torch's (already awake after the last matmul) rather
 * than a second pool competing with them for the same cores. threads == 1 never enters an
 * OpenMP region, which keeps forked children (whose thread pool is gone) safe. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#else /* no OpenMP: pragmas are ignored and these make the one "team" serial */
static int omp_get_thread_num(void) { return 0; }
static int omp_get_num_threads(void) { return 1; }
#endif

/* Runs `call` on a team of `threads`, each member taking its share by omp_get_thread_num(); with
 * threads <= 1, inline and outside any OpenMP region (safe in a forked child). */
#define ON_TEAM(threads, call)                                                                    \
    do {                                                                                          \
        if ((threads) <= 1) {                                                                     \
            call;                                                                                 \
        } else {                                                                                  \
            int team_size_ = (threads);                                                           \
            (void)team_size_; /* unused where OpenMP is not built in */                          \
            _Pragma("omp parallel num_threads(team_size_)") call;                                 \
        }                                                                                         \
    } while (0)

/* This thread's share [*i0, *i1) of n items. */
static void my_share(int64_t n, int64_t *i0, int64_t *i1) {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    *i0 = n * t / nt;
    *i1 = n * (t + 1) / nt;
}

#define ABS_MASK 0x7FFFFFFF /* clears the sign bit */
#define INF_KEY 0x7F800000  /* +inf: a protected entry's key, above every finite |w| */
#define BINADES 0x03000000  /* three binades of keys (the exponent field starts at bit 23) */
#define BLOCK (1 << 20)     /* int32 partial counts never overflow */

static int64_t count_ge(const int32_t *keys, int64_t n, int32_t probe) {
    int64_t total = 0;
    for (int64_t s = 0; s < n; s += BLOCK) {
        int64_t e = n - s < BLOCK ? n : s + BLOCK;
        int32_t c = 0; /* int32 lanes: the loop vectorises to compare + subtract */
        for (int64_t i = s; i < e; i++) c += keys[i] >= probe;
        total += c;
    }
    return total;
}

/* Bisection for the k largest of keys[0..n), from lo < hi with cnt = count(keys >= lo) >= k >
 * count(keys >= hi). Returns a cut: with *exact, exactly k keys are >= it (the search stops at the
 * first such probe); else it is the k-th largest key itself and more than k are >= it (ties). */
static int32_t bisect(const int32_t *keys, int64_t n, int64_t k, int32_t lo, int32_t hi, int64_t cnt,
                      int *exact) {
    while (cnt != k && hi - lo > 1) {
        int32_t mid = lo + ((hi - lo) >> 1);
        int64_t c = count_ge(keys, n, mid);
        int up = c >= k; /* branch-free: the direction is a coin flip */
        lo = up ? mid : lo;
        cnt = up ? c : cnt;
        hi = up ? hi : mid;
    }
    *exact = cnt == k;
    return lo;
}

/* Writes the keys of one row of float bit patterns and returns the cut for its k largest
 * (0 < k < n). The bracket starts three binades below the top key, which nearly always holds k
 * keys and saves ~5 probes; else at the smallest nonzero key; with fewer than k nonzeros (sparse
 * embeddings, ReLU) the cut is 0. */
static int32_t keys_cut(const int32_t *keys, int32_t n, int32_t k, int32_t top, int32_t binades,
                        int *exact);

static int32_t row_cut(const int32_t *bits, int32_t *keys, int32_t n, int32_t k, int *exact) {
    int32_t top = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t v = bits[i] & ABS_MASK;
        keys[i] = v;
        top = v > top ? v : top;
    }
    return keys_cut(keys, n, k, top, BINADES, exact);
}

/* The same for bf16 bit patterns. bf16 is float32's top half, so its 15 magnitude bits order the
 * values as float32's keys do: the kept set and the tie order are exactly those of the fp32 row.
 * Kept narrow, the bisection needs up to 16 fewer probes than on widened keys (torch profiler,
 * bf16 zoo-sparse step: AbsTopK 169 -> 124 ms per 5 steps). */
static int32_t row_cut_bf16(const uint16_t *bits, int32_t *keys, int32_t n, int32_t k, int *exact) {
    int32_t top = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t v = bits[i] & 0x7FFF;
        keys[i] = v;
        top = v > top ? v : top;
    }
    return keys_cut(keys, n, k, top, BINADES >> 16, exact);
}

static int32_t keys_cut(const int32_t *keys, int32_t n, int32_t k, int32_t top, int32_t binades,
                        int *exact) {
    int32_t lo = top - binades > 1 ? top - binades : 1;
    int64_t cnt = count_ge(keys, n, lo);
    if (cnt < k) {
        lo = 1;
        cnt = count_ge(keys, n, lo);
        if (cnt < k) {
            *exact = 0;
            return 0;
        }
    }
    return bisect(keys, n, k, lo, top + 1, cnt, exact);
}

/* Whether each key is among the row's k largest, the first ones winning a tie at the cut. */
#define FOR_KEPT(keys, n, k, cut, exact, KEEP)                                                    \
    do {                                                                                          \
        if (exact) {                                                                              \
            for (int32_t i = 0; i < (n); i++) {                                                   \
                int keep = (keys)[i] >= (cut);                                                    \
                KEEP;                                                                             \
            }                                                                                     \
        } else {                                                                                  \
            int32_t ties = (k);                                                                   \
            for (int32_t i = 0; i < (n); i++) ties -= (keys)[i] > (cut);                          \
            for (int32_t i = 0; i < (n); i++) {                                                   \
                int keep = (keys)[i] > (cut) || ((keys)[i] == (cut) && ties-- > 0);               \
                KEEP;                                                                             \
            }                                                                                     \
        }                                                                                         \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * AbsTopK: y = x with all but the k largest |x| of each row zeroed, mask = kept (0/1). */

static void abs_topk_row(const float *x, float *y, uint8_t *mask, int32_t n, int32_t k, int32_t *keys) {
    int exact;
    int32_t cut = row_cut((const int32_t *)x, keys, n, k, &exact);
    FOR_KEPT(keys, n, k, cut, exact, (mask[i] = (uint8_t)keep, y[i] = keep ? x[i] : 0.0f));
}

static void abs_topk_share(const float *x, float *y, uint8_t *mask, int64_t rows, int32_t n, int32_t k) {
    int64_t r0, r1;
    my_share(rows, &r0, &r1);
    int32_t *keys = malloc((size_t)n * sizeof(int32_t));
    for (int64_t r = r0; r < r1; r++) abs_topk_row(x + r * n, y + r * n, mask + r * n, n, k, keys);
    free(keys);
}

void sc_abs_topk(const float *x, float *y, uint8_t *mask, int64_t rows, int32_t n, int32_t k,
                 int32_t threads) {
    ON_TEAM(threads, abs_topk_share(x, y, mask, rows, n, k));
}

/* bf16 in and out (CPU autocast training): no widening copy before the selection, and the next
 * bf16 matmul reads y as it is. */
static void abs_topk_row_bf16(const uint16_t *x, uint16_t *y, uint8_t *mask, int32_t n, int32_t k,
                              int32_t *keys) {
    int exact;
    int32_t cut = row_cut_bf16(x, keys, n, k, &exact);
    FOR_KEPT(keys, n, k, cut, exact, (mask[i] = (uint8_t)keep, y[i] = keep ? x[i] : 0));
}

static void abs_topk_share_bf16(const uint16_t *x, uint16_t *y, uint8_t *mask, int64_t rows,
                                int32_t n, int32_t k) {
    int64_t r0, r1;
    my_share(rows, &r0, &r1);
    int32_t *keys = malloc((size_t)n * sizeof(int32_t));
    for (int64_t r = r0; r < r1; r++)
        abs_topk_row_bf16(x + r * n, y + r * n, mask + r * n, n, k, keys);
    free(keys);
}

void sc_abs_topk_bf16(const uint16_t *x, uint16_t *y, uint8_t *mask, int64_t rows, int32_t n,
                      int32_t k, int32_t threads) {
    ON_TEAM(threads, abs_topk_share_bf16(x, y, mask, rows, n, k));
}

/* AbsTopK's backward: out = grad where kept, else 0 (one pass; torch's grad * mask first widens
 * the mask to float32). */
static void mask_grad_share(const float *grad, const uint8_t *mask, float *out, int64_t n) {
    int64_t i0, i1;
    my_share(n, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) out[i] = mask[i] ? grad[i] : 0.0f;
}

void sc_mask_grad(const float *grad, const uint8_t *mask, float *out, int64_t n, int32_t threads) {
    ON_TEAM(threads, mask_grad_share(grad, mask, out, n));
}

static void mask_grad_share_bf16(const uint16_t *grad, const uint8_t *mask, uint16_t *out, int64_t n) {
    int64_t i0, i1;
    my_share(n, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) out[i] = mask[i] ? grad[i] : 0;
}

void sc_mask_grad_bf16(const uint16_t *grad, const uint8_t *mask, uint16_t *out, int64_t n,
                       int32_t threads) {
    ON_TEAM(threads, mask_grad_share_bf16(grad, mask, out, n));
}

/* ---------------------------------------------------------------------------------------------
 * Projection: keep the entries of w whose key is at least the k-th largest key, where each row's
 * j largest entries (the first index wins a tie, as argmax does: AbsTopK's rule) have key +inf.
 *
 * The global k-th largest: a strided sample of the keys brackets it (a few sigmas of the sample
 * rank either side), two counts confirm the bracket, and the keys inside it (a few percent) are
 * gathered and searched alone. That is about four passes over the tensor instead of ~22 probes. */

#define SAMPLE 4096

typedef struct { /* what the team shares; one cache line per thread where each writes its own */
    int64_t partial[64][8];
    int32_t *cand;
    int32_t cut;
} team_t;

/* Keys of rows r0..r1, each row's j largest raised to +inf (0 < j < cols). */
static void row_keys(const int32_t *w, int32_t *keys, int64_t r0, int64_t r1, int32_t cols, int32_t j) {
    for (int64_t r = r0; r < r1; r++) {
        int32_t *row = keys + r * cols;
        int exact;
        int32_t cut = row_cut(w + r * cols, row, cols, j, &exact);
        FOR_KEPT(row, cols, j, cut, exact, row[i] = keep ? INF_KEY : row[i]);
    }
}

/* The team's total count of keys >= probe; *mine gets this thread's share of it. */
static int64_t team_count(const int32_t *keys, int64_t n, int32_t probe, team_t *team, int64_t *mine) {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t i0, i1;
    my_share(n, &i0, &i1);
    *mine = team->partial[t][0] = count_ge(keys + i0, i1 - i0, probe);
#pragma omp barrier
    int64_t total = 0;
    for (int i = 0; i < nt; i++) total += team->partial[i][0];
#pragma omp barrier /* nobody writes the next partial before all have read this one */
    return total;
}

/* The k-th largest key (0 < k < n), found by the whole team; every thread returns it. */
static int32_t team_kth(const int32_t *keys, int64_t n, int64_t k, team_t *team) {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t i0, i1;
    my_share(n, &i0, &i1);
    /* Invariant: count(keys >= lo) = c_lo >= k > c_hi = count(keys >= hi); m_* this thread's. */
    int32_t lo = 0, hi = INF_KEY + 1, probes[2];
    int64_t c_lo = n, c_hi = 0, m_lo = i1 - i0, m_hi = 0, c, m;
    int np = 0;
    probes[np++] = INF_KEY; /* the protected entries may fill the budget alone */
    if (n > 4 * SAMPLE) { /* every thread draws the same sample and the same two probes */
        int32_t sample[SAMPLE];
        int64_t stride = n / SAMPLE; /* one key per stride, at a scrambled offset: no column bias */
        for (int64_t i = 0; i < SAMPLE; i++) sample[i] = keys[i * stride + (i * 2654435761u) % stride];
        double rank = (double)k * SAMPLE / n, margin = 4.0 * sqrt(rank + 1.0) + 4.0;
        int exact;
        if (rank - margin >= 1)
            probes[np - 1] = bisect(sample, SAMPLE, (int64_t)(rank - margin), 0, INF_KEY + 1, SAMPLE, &exact);
        if (rank + margin < SAMPLE)
            probes[np++] = bisect(sample, SAMPLE, (int64_t)(rank + margin), 0, INF_KEY + 1, SAMPLE, &exact);
    }
    for (int p = 0; p < np; p++) {
        if (probes[p] <= lo || probes[p] >= hi) continue;
        c = team_count(keys, n, probes[p], team, &m);
        if (c >= k) lo = probes[p], c_lo = c, m_lo = m;
        else hi = probes[p], c_hi = c, m_hi = m;
    }
    if (c_lo == k) return lo;
    /* Gather the keys in [lo, hi), each thread's share at its offset, and search them alone. The
     * copy is branch-free: every key is written and the offset moves past the ones in range, so
     * each share has one slot of slack, which is then set to -1, below every probe. */
    team->partial[t][0] = m_lo - m_hi + 1;
#pragma omp barrier
    int64_t at = 0, size = 0;
    for (int i = 0; i < nt; i++) {
        at += i < t ? team->partial[i][0] : 0;
        size += team->partial[i][0];
    }
#pragma omp single
    team->cand = malloc((size_t)size * sizeof(int32_t));
    for (int64_t i = i0; i < i1; i++) {
        team->cand[at] = keys[i];
        at += keys[i] >= lo && keys[i] < hi;
    }
    team->cand[at] = -1;
#pragma omp barrier
#pragma omp single
    {
        int exact;
        team->cut = bisect(team->cand, size, k - c_hi, lo, hi, c_lo - c_hi, &exact);
        free(team->cand);
    }
    return team->cut;
}

static void project_share(float *w, int32_t *keys, int64_t n, int32_t cols, int32_t j, int64_t k, team_t *team) {
    int64_t i0, i1, r0, r1;
    my_share(n, &i0, &i1);
    my_share(n / cols, &r0, &r1);
    if (j > 0) {
        row_keys((const int32_t *)w, keys, r0, r1, cols, j);
    } else {
        const int32_t *bits = (const int32_t *)w;
        for (int64_t i = i0; i < i1; i++) keys[i] = bits[i] & ABS_MASK;
    }
#pragma omp barrier
    int32_t cut = team_kth(keys, n, k, team);
    for (int64_t i = i0; i < i1; i++) w[i] = keys[i] >= cut ? w[i] : 0.0f;
}

/* keys: scratch of n int32. 0 <= j < cols (j = cols keeps everything: the caller returns). */
void sc_project(float *w, int32_t *keys, int64_t n, int32_t cols, int32_t j, int64_t k, int32_t threads) {
    team_t team;
    ON_TEAM(threads < 64 ? threads : 64, project_share(w, keys, n, cols, j, k, &team));
}

/* ---------------------------------------------------------------------------------------------
 * Sparse-weight products for frozen models: y[n, j] = sum_p values[p] * x[n, indices[p]] over
 * row j's entries p in [indptr[j], indptr[j+1]) of a CSR matrix [d_out, d_in]; x [n_tok, d_in]
 * and y [n_tok, d_out] row-major. The same kernel gives the activation gradient, from the CSR of
 * the transposed matrix.
 *
 * Why this layout: with tokens along the vector lanes each stored weight is one broadcast and
 * one vectorised multiply-add over a block of TOK tokens, so the work is 2 * nnz * n_tok flops
 * at full SIMD width. Each thread transposes its block of x into a d_in x TOK buffer (contiguous
 * per input feature, so a weight's column is one aligned run) and owns the rows of y it writes:
 * no two threads touch one output and every sum runs in CSR order, so results do not depend on
 * the thread count. */

#define TOK 32 /* tokens per block: two 16-float vectors per accumulator */

/* GCC/clang vector extension: 16 floats, lowered to whatever SIMD -march=native has; as locals
 * the accumulators stay in registers (plain float[32] arrays went through the stack: 3x slower). */
typedef float v16 __attribute__((vector_size(64)));

/* d[m * ds + i] = s[i * ss + m] for a 16 x 16 tile. With AVX-512, in registers (64 shuffles);
 * the scalar transposes were 3/4 of the kernel's time at 1/64 density. */
#ifdef __AVX512F__
#include <immintrin.h>
static void transpose16(const float *s, int64_t ss, float *d, int64_t ds) {
    __m512 r[16], t[16], u[4][4];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(s + i * ss);
    for (int i = 0; i < 16; i += 2) { /* per 128-bit lane: pairs of rows interleaved */
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 4; g++) { /* u[g][c], lane k: column 4k + c of rows 4g .. 4g + 3 */
        __m512d lo0 = _mm512_castps_pd(t[4 * g]), hi0 = _mm512_castps_pd(t[4 * g + 1]);
        __m512d lo1 = _mm512_castps_pd(t[4 * g + 2]), hi1 = _mm512_castps_pd(t[4 * g + 3]);
        u[g][0] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo0, lo1));
        u[g][1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo0, lo1));
        u[g][2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi0, hi1));
        u[g][3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi0, hi1));
    }
    for (int c = 0; c < 4; c++) { /* gather lane k of u[0..3][c]: column 4k + c, all 16 rows */
        __m512 x = _mm512_shuffle_f32x4(u[0][c], u[1][c], 0x44), y = _mm512_shuffle_f32x4(u[0][c], u[1][c], 0xEE);
        __m512 z = _mm512_shuffle_f32x4(u[2][c], u[3][c], 0x44), w = _mm512_shuffle_f32x4(u[2][c], u[3][c], 0xEE);
        _mm512_storeu_ps(d + (0 + c) * ds, _mm512_shuffle_f32x4(x, z, 0x88));
        _mm512_storeu_ps(d + (4 + c) * ds, _mm512_shuffle_f32x4(x, z, 0xDD));
        _mm512_storeu_ps(d + (8 + c) * ds, _mm512_shuffle_f32x4(y, w, 0x88));
        _mm512_storeu_ps(d + (12 + c) * ds, _mm512_shuffle_f32x4(y, w, 0xDD));
    }
}
#else
static void transpose16(const float *s, int64_t ss, float *d, int64_t ds) {
    for (int i = 0; i < 16; i++)
        for (int m = 0; m < 16; m++) d[m * ds + i] = s[i * ss + m];
}
#endif

static void spmm_block(const float *x, int64_t n0, int32_t nb, int32_t d_in, const int32_t *indptr,
                       const int32_t *indices, const float *values, int32_t d_out, float *y,
                       float *buf, v16 *out) {
    /* buf[i * TOK + t] = x[n0 + t, i]: whole 16 x 16 tiles in registers, the rest (a last block
     * of fewer than TOK tokens, zero-padded; d_in % 16 features) one by one. */
    int32_t i16 = d_in - d_in % 16;
    for (int32_t t0 = 0; t0 < TOK; t0 += 16) {
        if (t0 + 16 <= nb) {
            for (int32_t i = 0; i < i16; i += 16)
                transpose16(x + (n0 + t0) * (int64_t)d_in + i, d_in, buf + (int64_t)i * TOK + t0, TOK);
            for (int32_t t = t0; t < t0 + 16; t++)
                for (int32_t i = i16; i < d_in; i++) buf[(int64_t)i * TOK + t] = x[(n0 + t) * (int64_t)d_in + i];
        } else {
            for (int32_t t = t0; t < t0 + 16; t++)
                for (int32_t i = 0; i < d_in; i++)
                    buf[(int64_t)i * TOK + t] = t < nb ? x[(n0 + t) * (int64_t)d_in + i] : 0.0f;
        }
    }
    const v16 *cols = (const v16 *)buf; /* column i of the block: cols[2 i], cols[2 i + 1] */
    for (int32_t j = 0; j < d_out; j++) {
        v16 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}; /* two chains: the FMA latency is hidden */
        int32_t p = indptr[j], end = indptr[j + 1];
        for (; p + 1 < end; p += 2) {
            const v16 *u = cols + 2 * (int64_t)indices[p], *v = cols + 2 * (int64_t)indices[p + 1];
            float wu = values[p], wv = values[p + 1];
            a0 += wu * u[0];
            a1 += wu * u[1];
            b0 += wv * v[0];
            b1 += wv * v[1];
        }
        if (p < end) {
            const v16 *u = cols + 2 * (int64_t)indices[p];
            a0 += values[p] * u[0];
            a1 += values[p] * u[1];
        }
        out[2 * (int64_t)j] = a0 + b0;
        out[2 * (int64_t)j + 1] = a1 + b1;
    }
    /* Back to y's rows, the same way. (Writing y column by column straight from the
     * accumulators was 3x slower: rows d_out * 4 bytes apart, often a multiple of 4 KiB, all
     * fall in one cache set.) */
    const float *o = (const float *)out;
    int32_t j16 = d_out - d_out % 16;
    for (int32_t t0 = 0; t0 < nb; t0 += 16) {
        if (t0 + 16 <= nb) {
            for (int32_t j = 0; j < j16; j += 16)
                transpose16(o + (int64_t)j * TOK + t0, TOK, y + (n0 + t0) * (int64_t)d_out + j, d_out);
            for (int32_t t = t0; t < t0 + 16; t++)
                for (int32_t j = j16; j < d_out; j++) y[(n0 + t) * (int64_t)d_out + j] = o[(int64_t)j * TOK + t];
        } else {
            for (int32_t t = t0; t < nb; t++)
                for (int32_t j = 0; j < d_out; j++) y[(n0 + t) * (int64_t)d_out + j] = o[(int64_t)j * TOK + t];
        }
    }
}

static void spmm_share(const float *x, int64_t n_tok, int32_t d_in, const int32_t *indptr,
                       const int32_t *indices, const float *values, int32_t d_out, float *y) {
    int64_t blocks = (n_tok + TOK - 1) / TOK, b0, b1;
    my_share(blocks, &b0, &b1);
    float *buf = aligned_alloc(64, (size_t)d_in * TOK * sizeof(float));
    v16 *out = aligned_alloc(64, (size_t)d_out * TOK * sizeof(float));
    for (int64_t blk = b0; blk < b1; blk++) {
        int64_t n0 = blk * TOK;
        int32_t nb = n_tok - n0 < TOK ? (int32_t)(n_tok - n0) : TOK;
        spmm_block(x, n0, nb, d_in, indptr, indices, values, d_out, y, buf, out);
    }
    free(out);
    free(buf);
}

void sc_spmm(const float *x, int64_t n_tok, int32_t d_in, const int32_t *indptr,
             const int32_t *indices, const float *values, int32_t d_out, float *y, int32_t threads) {
    ON_TEAM(threads, spmm_share(x, n_tok, d_in, indptr, indices, values, d_out, y));
}
