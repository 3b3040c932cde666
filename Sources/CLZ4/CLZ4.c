#include "CLZ4.h"
#include <lz4.h>
#include <lz4hc.h>
#include <pthread.h>
#include <stddef.h>

/* LZ4-HC keeps ~256 KiB of match tables. LZ4_compress_HC allocates and zeroes them on every
   call (for a 2 KiB block part: 256 KiB of malloc, page faults and memset). Each thread
   keeps one stream instead, fast-reset per block (LZ4_resetStreamHC_fast: the tables' old
   entries fall outside the new block's window, so nothing is zeroed), freed when the thread
   exits. The output is the same bytes. */
static pthread_key_t hc_key;
static pthread_once_t hc_once = PTHREAD_ONCE_INIT;
static void hc_free(void *stream) { LZ4_freeStreamHC((LZ4_streamHC_t *)stream); }
static void hc_make_key(void) { (void)pthread_key_create(&hc_key, hc_free); }

static LZ4_streamHC_t *hc_stream(void) {
    (void)pthread_once(&hc_once, hc_make_key);
    LZ4_streamHC_t *stream = (LZ4_streamHC_t *)pthread_getspecific(hc_key);
    if (stream == NULL) {
        stream = LZ4_createStreamHC();
        if (stream == NULL) return NULL;
        if (pthread_setspecific(hc_key, stream) != 0) {
            LZ4_freeStreamHC(stream);
            return NULL;
        }
    }
    return stream;
}

int32_t mslz4_compress_bound(int32_t inputSize) { return LZ4_compressBound(inputSize); }

int32_t mslz4_compress(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t dstCapacity, int32_t level) {
    if (level <= 0) {
        return LZ4_compress_default((const char *)src, (char *)dst, srcSize, dstCapacity);
    }
    LZ4_streamHC_t *stream = hc_stream();
    if (stream == NULL) return LZ4_compress_HC((const char *)src, (char *)dst, srcSize, dstCapacity, level);
    LZ4_resetStreamHC_fast(stream, level);
    return LZ4_compress_HC_continue(stream, (const char *)src, (char *)dst, srcSize, dstCapacity);
}

int32_t mslz4_decompress(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t dstCapacity) {
    return LZ4_decompress_safe((const char *)src, (char *)dst, srcSize, dstCapacity);
}

int32_t mslz4_version(void) { return LZ4_versionNumber(); }

int32_t mslz4_decompress_partial(const uint8_t *src, int32_t srcSize, uint8_t *dst, int32_t targetSize, int32_t dstCapacity) {
    return LZ4_decompress_safe_partial((const char *)src, (char *)dst, srcSize, targetSize, dstCapacity);
}
