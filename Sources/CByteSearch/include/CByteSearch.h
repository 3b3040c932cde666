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

#endif
