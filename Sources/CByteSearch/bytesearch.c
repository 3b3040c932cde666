#include "CByteSearch.h"
#include <stdatomic.h>
#include <string.h>

static inline uint8_t lower_ascii(uint8_t b) { return (b >= 'A' && b <= 'Z') ? (uint8_t)(b | 0x20) : b; }

static int equal_ci(const uint8_t *a, const uint8_t *lowered, size_t m) {
    for (size_t i = 0; i < m; i++) {
        if (lower_ascii(a[i]) != lowered[i]) return 0;
    }
    return 1;
}

// MARK: - Plain C

static ptrdiff_t find_scalar(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m, size_t from) {
    if (m > n) return -1;
    const uint8_t first = needle[0];
    size_t i = from;
    while (i + m <= n) {
        const uint8_t *p = memchr(hay + i, first, n - m + 1 - i);
        if (!p) return -1;
        size_t at = (size_t)(p - hay);
        if (memcmp(hay + at + 1, needle + 1, m - 1) == 0) return (ptrdiff_t)at;
        i = at + 1;
    }
    return -1;
}

static ptrdiff_t find_ci_scalar(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m, size_t from) {
    if (m > n) return -1;
    const uint8_t first = needle[0];
    for (size_t i = from; i + m <= n; i++) {
        if (lower_ascii(hay[i]) == first && equal_ci(hay + i + 1, needle + 1, m - 1)) return (ptrdiff_t)i;
    }
    return -1;
}

static int non_ascii_scalar(const uint8_t *p, size_t n, size_t from) {
    for (size_t i = from; i < n; i++) {
        if (p[i] >= 0x80) return 1;
    }
    return 0;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

// MARK: - SSE2 (every x86-64)

static ptrdiff_t find_sse2(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    if (m > n) return -1;
    const __m128i f = _mm_set1_epi8((char)needle[0]);
    const __m128i l = _mm_set1_epi8((char)needle[m - 1]);
    size_t i = 0;
    // Positions i..i+15 as starts: the last byte read is i + 15 + m - 1 < n.
    while (i + 16 + m - 1 <= n) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(hay + i));
        const __m128i b = _mm_loadu_si128((const __m128i *)(hay + i + m - 1));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, f), _mm_cmpeq_epi8(b, l)));
        while (mask) {
            unsigned j = (unsigned)__builtin_ctz(mask);
            if (m <= 2 || memcmp(hay + i + j + 1, needle + 1, m - 2) == 0) return (ptrdiff_t)(i + j);
            mask &= mask - 1;
        }
        i += 16;
    }
    return find_scalar(hay, n, needle, m, i);
}

static inline __m128i lower_sse2(__m128i v) {
    // Signed compares: bytes 0x80-0xFF are negative, outside 'A'..'Z' either way.
    const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
    return _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
}

static ptrdiff_t find_ci_sse2(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    if (m > n) return -1;
    const __m128i f = _mm_set1_epi8((char)needle[0]);
    const __m128i l = _mm_set1_epi8((char)needle[m - 1]);
    size_t i = 0;
    while (i + 16 + m - 1 <= n) {
        const __m128i a = lower_sse2(_mm_loadu_si128((const __m128i *)(hay + i)));
        const __m128i b = lower_sse2(_mm_loadu_si128((const __m128i *)(hay + i + m - 1)));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, f), _mm_cmpeq_epi8(b, l)));
        while (mask) {
            unsigned j = (unsigned)__builtin_ctz(mask);
            if (m <= 2 || equal_ci(hay + i + j + 1, needle + 1, m - 2)) return (ptrdiff_t)(i + j);
            mask &= mask - 1;
        }
        i += 16;
    }
    return find_ci_scalar(hay, n, needle, m, i);
}

static int non_ascii_sse2(const uint8_t *p, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        if (_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(p + i)))) return 1;
    }
    return non_ascii_scalar(p, n, i);
}

// MARK: - AVX2

__attribute__((target("avx2")))
static ptrdiff_t find_avx2(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    if (m > n) return -1;
    const __m256i f = _mm256_set1_epi8((char)needle[0]);
    const __m256i l = _mm256_set1_epi8((char)needle[m - 1]);
    size_t i = 0;
    while (i + 32 + m - 1 <= n) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)(hay + i));
        const __m256i b = _mm256_loadu_si256((const __m256i *)(hay + i + m - 1));
        unsigned mask = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, f), _mm256_cmpeq_epi8(b, l)));
        while (mask) {
            unsigned j = (unsigned)__builtin_ctz(mask);
            if (m <= 2 || memcmp(hay + i + j + 1, needle + 1, m - 2) == 0) return (ptrdiff_t)(i + j);
            mask &= mask - 1;
        }
        i += 32;
    }
    return find_scalar(hay, n, needle, m, i);
}

__attribute__((target("avx2")))
static inline __m256i lower_avx2(__m256i v) {
    const __m256i upper = _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8('A' - 1)), _mm256_cmpgt_epi8(_mm256_set1_epi8('Z' + 1), v));
    return _mm256_or_si256(v, _mm256_and_si256(upper, _mm256_set1_epi8(0x20)));
}

__attribute__((target("avx2")))
static ptrdiff_t find_ci_avx2(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    if (m > n) return -1;
    const __m256i f = _mm256_set1_epi8((char)needle[0]);
    const __m256i l = _mm256_set1_epi8((char)needle[m - 1]);
    size_t i = 0;
    while (i + 32 + m - 1 <= n) {
        const __m256i a = lower_avx2(_mm256_loadu_si256((const __m256i *)(hay + i)));
        const __m256i b = lower_avx2(_mm256_loadu_si256((const __m256i *)(hay + i + m - 1)));
        unsigned mask = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, f), _mm256_cmpeq_epi8(b, l)));
        while (mask) {
            unsigned j = (unsigned)__builtin_ctz(mask);
            if (m <= 2 || equal_ci(hay + i + j + 1, needle + 1, m - 2)) return (ptrdiff_t)(i + j);
            mask &= mask - 1;
        }
        i += 32;
    }
    return find_ci_scalar(hay, n, needle, m, i);
}

__attribute__((target("avx2")))
static int non_ascii_avx2(const uint8_t *p, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (_mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(p + i)))) return 1;
    }
    return non_ascii_scalar(p, n, i);
}

static int has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    // AVX needs the OS to save the YMM registers (OSXSAVE, and XCR0 bits 1 and 2).
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_AVX2) != 0;
}

static int max_level(void) { return has_avx2() ? 2 : 1; }
#else
static int max_level(void) { return 0; }
#endif

// 0, 1 or 2; -1 until first use (every thread that races to set it computes the same value).
static _Atomic int level = -1;

static inline int current_level(void) {
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    if (l < 0) {
        l = max_level();
        atomic_store_explicit(&level, l, memory_order_relaxed);
    }
    return l;
}

int ms_bytesearch_level(void) { return current_level(); }

int ms_bytesearch_force_level(int want) {
    int top = max_level();
    int l = want < 0 ? 0 : (want > top ? top : want);
    atomic_store_explicit(&level, l, memory_order_relaxed);
    return l;
}

ptrdiff_t ms_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    if (m == 0) return 0;
    if (m > n || !hay || !needle) return -1;
#if defined(__x86_64__)
    switch (current_level()) {
    case 2: return find_avx2(hay, n, needle, m);
    case 1: return find_sse2(hay, n, needle, m);
    default: break;
    }
#endif
    return find_scalar(hay, n, needle, m, 0);
}

ptrdiff_t ms_find_ascii_ci(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    if (m == 0) return 0;
    if (m > n || !hay || !needle) return -1;
#if defined(__x86_64__)
    switch (current_level()) {
    case 2: return find_ci_avx2(hay, n, needle, m);
    case 1: return find_ci_sse2(hay, n, needle, m);
    default: break;
    }
#endif
    return find_ci_scalar(hay, n, needle, m, 0);
}

int ms_has_non_ascii(const uint8_t *p, size_t n) {
    if (!p) return 0;
#if defined(__x86_64__)
    switch (current_level()) {
    case 2: return non_ascii_avx2(p, n);
    case 1: return non_ascii_sse2(p, n);
    default: break;
    }
#endif
    return non_ascii_scalar(p, n, 0);
}
