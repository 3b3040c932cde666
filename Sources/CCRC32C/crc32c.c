#include "CCRC32C.h"
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

int ms_crc32c_hardware(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}

__attribute__((target("sse4.2")))
uint32_t ms_crc32c_update(uint32_t crc, const void *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    uint64_t c = crc;
    // Three independent streams over thirds of each 24 KiB stretch would hide the
    // instruction's latency further; one stream already runs at ~8 bytes per 3 cycles.
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        c = _mm_crc32_u64(c, v);
        s += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n > 0) {
        c32 = _mm_crc32_u8(c32, *s);
        s++;
        n--;
    }
    return c32;
}
#else
int ms_crc32c_hardware(void) { return 0; }
uint32_t ms_crc32c_update(uint32_t crc, const void *p, size_t n) { (void)p; (void)n; return crc; }
#endif
