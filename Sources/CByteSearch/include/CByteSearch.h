// Substring search over bytes with the processor's vector instructions: the engine's IMAP
// substring path scans a segment's whole term text (megabytes) and stored message text for
// every BODY/TEXT/FROM… key, and memchr on the needle's first byte followed by memcmp stops
// at every occurrence of a common letter.
//
// The method (a "generic SIMD" filter): compare the needle's first and last bytes against 32
// (AVX2) or 16 (SSE2) consecutive positions at once, and check the rest of the needle only
// where both agree. Plain C loops on other processors. All functions read only
// `hay[0..<n]` and `needle[0..<m]`.
#ifndef CBYTESEARCH_H
#define CBYTESEARCH_H
#include <stddef.h>
#include <stdint.h>

/// The first offset of `needle` in `hay`, or -1. An empty needle is found at 0.
ptrdiff_t ms_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m);

/// The first offset where `hay`, with ASCII A-Z read as a-z, equals `needle`, or -1. Every byte
/// of `needle` must already be lowercase where it is an ASCII letter (other bytes, including
/// non-ASCII ones, must match exactly). An empty needle is found at 0.
ptrdiff_t ms_find_ascii_ci(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m);

/// 1 when any byte of `p[0..<n]` is 0x80 or above (not ASCII), else 0.
int ms_has_non_ascii(const uint8_t *p, size_t n);

/// Which implementation runs: 2 (AVX2), 1 (SSE2) or 0 (plain C). For tests and benchmarks.
int ms_bytesearch_level(void);

/// Forces an implementation (for tests: each must give the same answers); a level the
/// processor lacks is lowered to one it has. Returns the level now in use.
int ms_bytesearch_force_level(int level);

/// Bit k (0-63) set when byte k of `p[0..<64]` is a word byte of the ASCII word segmenter:
/// A-Z, a-z, '@', 0-9 or '_'. All 64 bytes must be readable. Inline, so Swift's importer
/// compiles it into the caller: SSE2 on x86-64 (every such processor has it), plain C elsewhere.
#if defined(__SSE2__)
#include <emmintrin.h>
static inline uint64_t ms_word_bits64(const uint8_t *p) {
    uint64_t out = 0;
    for (int k = 0; k < 4; k++) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        // x - lo + 0x80 < 0x80 + width, as signed bytes: lo <= x < lo + width, unsigned.
        const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
        const __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(folded, _mm_set1_epi8((char)(0x80 - 'a'))), _mm_set1_epi8((char)(0x80 + 26)));
        const __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0'))), _mm_set1_epi8((char)(0x80 + 10)));
        const __m128i at = _mm_cmpeq_epi8(v, _mm_set1_epi8('@'));
        const __m128i underscore = _mm_cmpeq_epi8(v, _mm_set1_epi8('_'));
        const __m128i word = _mm_or_si128(_mm_or_si128(letter, digit), _mm_or_si128(at, underscore));
        out |= (uint64_t)(uint16_t)_mm_movemask_epi8(word) << (16 * k);
    }
    return out;
}
#else
static inline uint64_t ms_word_bits64(const uint8_t *p) {
    uint64_t out = 0;
    for (int k = 0; k < 64; k++) {
        const uint8_t b = p[k], f = b | 0x20;
        if ((f >= 'a' && f <= 'z') || (b >= '0' && b <= '9') || b == '@' || b == '_') out |= (uint64_t)1 << k;
    }
    return out;
}
#endif

#endif
