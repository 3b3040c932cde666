#include "CLZ4.h"
#include <lz4.h>
#include <lz4hc.h>

int32_t mslz4_compress_bound(int32_t inputSize) { return LZ4_compressBound(inputSize); }

int32_t mslz4_compress(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t dstCapacity, int32_t level) {
    if (level <= 0) {
        return LZ4_compress_default((const char *)src, (char *)dst, srcSize, dstCapacity);
    }
    return LZ4_compress_HC((const char *)src, (char *)dst, srcSize, dstCapacity, level);
}

int32_t mslz4_decompress(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t dstCapacity) {
    return LZ4_decompress_safe((const char *)src, (char *)dst, srcSize, dstCapacity);
}

int32_t mslz4_version(void) { return LZ4_versionNumber(); }

int32_t mslz4_decompress_partial(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t targetSize, int32_t dstCapacity) {
    return LZ4_decompress_safe_partial((const char *)src, (char *)dst, srcSize, targetSize, dstCapacity);
}
