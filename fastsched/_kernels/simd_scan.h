/* The full scan of the common case, four nodes at a time with AVX2, chosen at run
 * time (the build stays portable: other CPUs take the scalar Cython path).
 *
 * Columns are float64 copies of the cluster's int64 columns (exact: every value
 * is below 2^53, checked by the caller). Per node, exactly as the scalar path:
 *   feasible  = no static bit, and demand <= free on cpu, memory, storage, pods;
 *   fit       = floor((wc*sc + wm*sm) / den), LeastAllocated per resource
 *               sc = floor((a - q) * 100 / a) when q <= a, else 0 (resources with
 *               a == 0 skipped). The float division is exact here: a < 2^46, and a
 *               non-integer quotient lies at least 1/a from the next integer;
 *   balanced  = trunc((1 - |fc - fm| / 2) * 100), fc = min((u + want) / a, 1), the
 *               same IEEE operations, in the same order, as Go's;
 *   total     = base + w_fit * fit + w_ba * balanced (+ extra, the plugins that
 *               normalize over the feasible nodes, computed by the caller).
 * The best node is the lowest row among the maximal totals.
 */
#ifndef FASTSCHED_SIMD_SCAN_H
#define FASTSCHED_SIMD_SCAN_H

#include <stdint.h>

typedef struct {
    const double *a0, *a1;              /* allocatable cpu, memory */
    const double *f0, *f1, *f2, *f3;    /* free cpu, memory, ephemeral-storage, pods */
    const double *u0, *u1;              /* requested cpu, memory (real) */
    const double *z0, *z1;              /* requested cpu, memory (scoring variant) */
    const uint8_t *mask;                /* static failure bits, or NULL */
    const double *extra;                /* per-node score to add (normalized plugins), or NULL */
    const int32_t *extra_dom;           /* or: a per-domain score, domain of each node */
    const double *extra_table;          /* (index dom + 1: entry 0 for nodes without one) */
} fs_columns;

typedef struct {
    double d0, d1, d2, d3;              /* demands; -inf where not requested */
    double want_cpu, want_mem;          /* real request (BalancedAllocation) */
    double nz_cpu, nz_mem;              /* scoring request (LeastAllocated) */
    double w_cpu, w_mem, w_fit, w_ba, base;
    int ba_skip;                        /* BalancedAllocation scores 0 */
    int ba_two;                         /* it reads cpu and memory (else: 100) */
} fs_spec;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FS_HAVE_SIMD 1

static int fs_simd_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

__attribute__((target("avx2")))
static int64_t fs_simd_best(int64_t n, const fs_columns *c, const fs_spec *s, double *best_total)
{
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
    const __m256d hundred = _mm256_set1_pd(100.0), half = _mm256_set1_pd(2.0);
    const __m256d minus1 = _mm256_set1_pd(-1.0);
    const __m256d sign = _mm256_set1_pd(-0.0);
    const __m256d d0 = _mm256_set1_pd(s->d0), d1 = _mm256_set1_pd(s->d1);
    const __m256d d2 = _mm256_set1_pd(s->d2), d3 = _mm256_set1_pd(s->d3);
    const __m256d wc = _mm256_set1_pd(s->w_cpu), wm = _mm256_set1_pd(s->w_mem);
    const __m256d zc = _mm256_set1_pd(s->nz_cpu), zm = _mm256_set1_pd(s->nz_mem);
    const __m256d qc_want = _mm256_set1_pd(s->want_cpu), qm_want = _mm256_set1_pd(s->want_mem);
    const __m256d wfit = _mm256_set1_pd(s->w_fit), wba = _mm256_set1_pd(s->w_ba);
    const __m256d base = _mm256_set1_pd(s->base);
    const int floor_mode = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
    const int trunc_mode = _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC;
    __m256d best = minus1;
    __m256i best_row = _mm256_set1_epi64x(-1);
    __m256i row = _mm256_set_epi64x(3, 2, 1, 0);
    const __m256i four = _mm256_set1_epi64x(4);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d ac = _mm256_loadu_pd(c->a0 + i), am = _mm256_loadu_pd(c->a1 + i);
        /* feasibility */
        __m256d ok = _mm256_and_pd(_mm256_cmp_pd(d0, _mm256_loadu_pd(c->f0 + i), _CMP_LE_OQ),
                                   _mm256_cmp_pd(d1, _mm256_loadu_pd(c->f1 + i), _CMP_LE_OQ));
        ok = _mm256_and_pd(ok, _mm256_cmp_pd(d2, _mm256_loadu_pd(c->f2 + i), _CMP_LE_OQ));
        ok = _mm256_and_pd(ok, _mm256_cmp_pd(d3, _mm256_loadu_pd(c->f3 + i), _CMP_LE_OQ));
        if (c->mask) {
            uint32_t m4;
            __builtin_memcpy(&m4, c->mask + i, 4);
            __m256i bits = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128((int)m4));
            __m256i clean = _mm256_cmpeq_epi64(bits, _mm256_setzero_si256());
            ok = _mm256_and_pd(ok, _mm256_castsi256_pd(clean));
        }
        /* LeastAllocated on cpu and memory, scoring variant */
        __m256d has_c = _mm256_cmp_pd(ac, zero, _CMP_GT_OQ);
        __m256d has_m = _mm256_cmp_pd(am, zero, _CMP_GT_OQ);
        __m256d qc = _mm256_add_pd(_mm256_loadu_pd(c->z0 + i), zc);
        __m256d qm = _mm256_add_pd(_mm256_loadu_pd(c->z1 + i), zm);
        __m256d sc = _mm256_round_pd(_mm256_div_pd(_mm256_mul_pd(_mm256_sub_pd(ac, qc), hundred), ac), floor_mode);
        __m256d sm = _mm256_round_pd(_mm256_div_pd(_mm256_mul_pd(_mm256_sub_pd(am, qm), hundred), am), floor_mode);
        sc = _mm256_and_pd(sc, _mm256_and_pd(has_c, _mm256_cmp_pd(qc, ac, _CMP_LE_OQ)));
        sm = _mm256_and_pd(sm, _mm256_and_pd(has_m, _mm256_cmp_pd(qm, am, _CMP_LE_OQ)));
        __m256d den = _mm256_add_pd(_mm256_and_pd(wc, has_c), _mm256_and_pd(wm, has_m));
        __m256d num = _mm256_add_pd(_mm256_mul_pd(sc, wc), _mm256_mul_pd(sm, wm));
        __m256d has_den = _mm256_cmp_pd(den, zero, _CMP_GT_OQ);
        __m256d fit = _mm256_round_pd(_mm256_div_pd(num, _mm256_blendv_pd(one, den, has_den)), floor_mode);
        fit = _mm256_and_pd(fit, has_den);
        /* BalancedAllocation on cpu and memory, real requests */
        __m256d ba;
        if (s->ba_skip) {
            ba = zero;
        } else if (!s->ba_two) {
            ba = hundred;
        } else {
            __m256d fc = _mm256_min_pd(_mm256_div_pd(_mm256_add_pd(_mm256_loadu_pd(c->u0 + i), qc_want), ac), one);
            __m256d fm = _mm256_min_pd(_mm256_div_pd(_mm256_add_pd(_mm256_loadu_pd(c->u1 + i), qm_want), am), one);
            __m256d std = _mm256_andnot_pd(sign, _mm256_div_pd(_mm256_sub_pd(fc, fm), half));
            ba = _mm256_round_pd(_mm256_mul_pd(_mm256_sub_pd(one, std), hundred), trunc_mode);
            /* one fraction or none: std 0, score 100 */
            ba = _mm256_blendv_pd(hundred, ba, _mm256_and_pd(has_c, has_m));
        }
        __m256d total = _mm256_add_pd(base, _mm256_add_pd(_mm256_mul_pd(wfit, fit), _mm256_mul_pd(wba, ba)));
        if (c->extra)
            total = _mm256_add_pd(total, _mm256_loadu_pd(c->extra + i));
        if (c->extra_dom) {
            __m128i dom = _mm_add_epi32(_mm_loadu_si128((const __m128i *)(c->extra_dom + i)),
                                        _mm_set1_epi32(1));
            total = _mm256_add_pd(total, _mm256_i32gather_pd(c->extra_table, dom, 8));
        }
        total = _mm256_blendv_pd(minus1, total, ok);
        /* strictly greater keeps each lane's first (lowest-row) maximum */
        __m256d better = _mm256_cmp_pd(total, best, _CMP_GT_OQ);
        best = _mm256_blendv_pd(best, total, better);
        best_row = _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(best_row),
                                                        _mm256_castsi256_pd(row), better));
        row = _mm256_add_epi64(row, four);
    }
    double lane_best[4];
    int64_t lane_row[4];
    _mm256_storeu_pd(lane_best, best);
    _mm256_storeu_si256((__m256i *)lane_row, best_row);
    double top = -1.0;
    int64_t top_row = -1;
    for (int k = 0; k < 4; k++) {
        if (lane_row[k] >= 0 && (lane_best[k] > top || (lane_best[k] == top && lane_row[k] < top_row))) {
            top = lane_best[k];
            top_row = lane_row[k];
        }
    }
    *best_total = top;
    return top_row;     /* the caller scans rows [n - n % 4, n) itself */
}
#else
#define FS_HAVE_SIMD 0
static int fs_simd_available(void) { return 0; }
static int64_t fs_simd_best(int64_t n, const fs_columns *c, const fs_spec *s, double *best_total)
{
    (void)n; (void)c; (void)s; *best_total = -1.0;
    return -1;
}
#endif

#endif
