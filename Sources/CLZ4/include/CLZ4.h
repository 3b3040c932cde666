// Plain-C face of liblz4 for the index's stored-text blocks (IndexFormat).
#ifndef CLZ4_H
#define CLZ4_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/// Worst-case compressed size of `inputSize` bytes (0 when too large for LZ4).
int32_t mslz4_compress_bound(int32_t inputSize);
/// LZ4 block compression; `level` 0 = fast, 1...12 = LZ4-HC. Returns compressed size or 0 on error.
int32_t mslz4_compress(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t dstCapacity, int32_t level);
/// Safe decompression (never reads or writes out of bounds). Returns decompressed size or < 0 on corrupt input.
int32_t mslz4_decompress(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t dstCapacity);
/// Safe decompression of a block's first `targetSize` bytes at least (it may write more, up to
/// `dstCapacity`, the block's full size). Returns the bytes decoded, or < 0 on corrupt input.
int32_t mslz4_decompress_partial(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t targetSize, int32_t dstCapacity);
/// The linked library's version number (e.g. 10904).
int32_t mslz4_version(void);
#ifdef __cplusplus
}
#endif
#endif
