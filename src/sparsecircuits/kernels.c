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

#include <stdint.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#else /* no OpenMP: pragmas are ignored and these make the one "team" serial */
static int omp_get_thread_num(void) { return 0; }
static int omp_get_num_threads(void) { return 1; }
#endif

#define ABS_MASK 0x7FFFFFFF /* clears the sign bit */
#define INF_KEY 0x7F800000  /* +inf: a protected entry's key, above every finite |w| */
#define BINADES 0x03000000  /* three binades of keys (the exponent field starts at bit 23) */
#define BLOCK (1 << 20)     /* int32 partial counts never overflow */

static int32_t count_ge(const int32_t *keys, int64_t n, int32_t probe) {
    int32_t c = 0; /* int32 lanes: the loop vectorises to compare + subtract */
    for (int64_t i = 0; i < n; i++) c += keys[i] >= probe;
    return c;
}

static int64_t count_ge_long(const int32_t *keys, int64_t n, int32_t probe) {
    int64_t c = 0;
    for (int64_t s = 0; s < n; s += BLOCK) c += count_ge(keys + s, n - s < BLOCK ? n - s : BLOCK, probe);
    return c;
}

/* ---------------------------------------------------------------------------------------------
 * AbsTopK: y = x with all but the k largest |x| of each row zeroed, mask = kept (0/1). */

static void abs_topk_row(const float *x, float *y, uint8_t *mask, int32_t n, int32_t k, int32_t *keys) {
    const int32_t *bits = (const int32_t *)x;
    int32_t top = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t v = bits[i] & ABS_MASK;
        keys[i] = v;
        top = v > top ? v : top;
    }
    /* Invariant: count(keys >= lo) >= k > count(keys >= hi). lo starts three binades below the
     * top, which nearly always holds k entries and saves ~5 probes; else at the smallest nonzero
     * key; with at most k nonzeros (sparse embeddings, ReLU) the answer is all of them plus the
     * first zeros (lo = 0, no search). */
    int32_t hi = top + 1;
    int32_t lo = top - BINADES > 1 ? top - BINADES : 1;
    int32_t cnt = count_ge(keys, n, lo);
    if (cnt < k) {
        lo = 1;
        cnt = count_ge(keys, n, lo);
        if (cnt <= k) lo = 0;
    }
    int32_t cut = (lo > 0 && cnt == k) ? lo : -1; /* a probe with exactly k keys at or above it */
    while (cut < 0 && lo > 0 && hi - lo > 1) {
        int32_t mid = lo + ((hi - lo) >> 1);
        cnt = count_ge(keys, n, mid);
        if (cnt == k) cut = mid;
        else if (cnt > k) lo = mid;
        else hi = mid;
    }
    if (cut >= 0) {
        for (int32_t i = 0; i < n; i++) {
            int keep = keys[i] >= cut;
            mask[i] = (uint8_t)keep;
            y[i] = keep ? x[i] : 0.0f;
        }
        return;
    }
    /* lo is the k-th largest key and ties straddle it: keep the first ones */
    int32_t ties = k;
    for (int32_t i = 0; i < n; i++) ties -= keys[i] > lo;
    for (int32_t i = 0; i < n; i++) {
        int keep = keys[i] > lo;
        if (keys[i] == lo && ties > 0) {
            keep = 1;
            ties--;
        }
        mask[i] = (uint8_t)keep;
        y[i] = keep ? x[i] : 0.0f;
    }
}

void sc_abs_topk(const float *x, float *y, uint8_t *mask, int64_t rows, int32_t n, int32_t k,
                 int32_t threads) {
    if (threads <= 1) {
        int32_t *keys = malloc((size_t)n * sizeof(int32_t));
        for (int64_t r = 0; r < rows; r++) abs_topk_row(x + r * n, y + r * n, mask + r * n, n, k, keys);
        free(keys);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        int32_t *keys = malloc((size_t)n * sizeof(int32_t));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) abs_topk_row(x + r * n, y + r * n, mask + r * n, n, k, keys);
        free(keys);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Projection: keep the entries of w whose key is at least the k-th largest key, where each row's
 * j largest entries (the first index wins a tie, as argmax does) have key +inf. */

/* Keys of rows r0..r1; returns the largest key below +inf. */
static int32_t row_keys(const int32_t *w, int32_t *keys, int64_t r0, int64_t r1, int64_t cols, int32_t j) {
    int32_t top_finite = 0;
    int32_t *top_val = malloc((size_t)(j + 1) * sizeof(int32_t)); /* row's j largest, descending */
    int64_t *top_at = malloc((size_t)(j + 1) * sizeof(int64_t));
    for (int64_t r = r0; r < r1; r++) {
        const int32_t *row_w = w + r * cols;
        int32_t *row = keys + r * cols;
        int32_t filled = 0;
        for (int64_t i = 0; i < cols; i++) {
            int32_t v = row_w[i] & ABS_MASK;
            row[i] = v;
            if (j > 0 && (filled < j || v > top_val[j - 1])) { /* strictly: an earlier equal stays */
                int32_t p = filled < j ? filled : j - 1;
                while (p > 0 && top_val[p - 1] < v) {
                    top_val[p] = top_val[p - 1];
                    top_at[p] = top_at[p - 1];
                    p--;
                }
                top_val[p] = v;
                top_at[p] = i;
                if (filled < j) filled++;
            }
        }
        for (int32_t q = 0; q < filled; q++) row[top_at[q]] = INF_KEY;
        for (int64_t i = 0; i < cols; i++) top_finite = row[i] < INF_KEY && row[i] > top_finite ? row[i] : top_finite;
    }
    free(top_val);
    free(top_at);
    return top_finite;
}

/* The team's total count of keys >= probe; every thread returns it. */
static int64_t team_count(const int32_t *keys, int64_t n, int32_t probe, int64_t *partial) {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    partial[t * 8] = count_ge_long(keys + n * t / nt, n * (t + 1) / nt - n * t / nt, probe);
#pragma omp barrier
    int64_t total = 0;
    for (int i = 0; i < nt; i++) total += partial[i * 8];
#pragma omp barrier /* nobody writes the next partial before all have read this one */
    return total;
}

/* One thread's share of the projection; the team runs it together (every thread reaches the same
 * decisions from the same totals). */
static void project_team(float *w, int32_t *keys, int64_t n, int64_t cols, int32_t j, int64_t k,
                         int64_t *partial, int32_t *top_finite) {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t rows = n / cols;
    top_finite[t * 16] = row_keys((const int32_t *)w, keys, rows * t / nt, rows * (t + 1) / nt, cols, j);
#pragma omp barrier
    int32_t top = 0;
    for (int i = 0; i < nt; i++) top = top_finite[i * 16] > top ? top_finite[i * 16] : top;
    /* Invariant: count(keys >= lo) >= k > count(keys >= hi); stop at a probe with exactly k. */
    int32_t cut;
    int64_t cnt = team_count(keys, n, INF_KEY, partial);
    if (cnt >= k) { /* the protected entries fill the budget: keep exactly them */
        cut = INF_KEY;
    } else {
        int32_t hi = top + 1;
        int32_t lo = top - 8 * (BINADES / 3) > 1 ? top - 8 * (BINADES / 3) : 1; /* eight binades */
        cnt = team_count(keys, n, lo, partial);
        if (cnt < k) {
            lo = 1;
            cnt = team_count(keys, n, lo, partial);
            if (cnt < k) lo = 0; /* fewer than k nonzeros: keep them all */
        }
        cut = lo;
        while (cnt != k && lo > 0 && hi - lo > 1) { /* else lo is the k-th largest: ties kept */
            int32_t mid = lo + ((hi - lo) >> 1);
            cnt = team_count(keys, n, mid, partial);
            if (cnt >= k) lo = cut = mid;
            else hi = mid;
        }
    }
    for (int64_t i = n * t / nt; i < n * (t + 1) / nt; i++) w[i] = keys[i] >= cut ? w[i] : 0.0f;
}

void sc_project(float *w, int32_t *keys, int64_t n, int64_t cols, int32_t j, int64_t k, int32_t threads) {
    int64_t partial[8 * 64]; /* one cache line per thread */
    int32_t top_finite[16 * 64];
    if (threads > 64) threads = 64;
    if (threads <= 1) {
        project_team(w, keys, n, cols, j, k, partial, top_finite);
        return;
    }
#pragma omp parallel num_threads(threads)
    project_team(w, keys, n, cols, j, k, partial, top_finite);
}
