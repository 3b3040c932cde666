// CRC-32C with the processor's own instruction (SSE 4.2 `crc32`) where there is one: about
// 8× the table-driven Swift code, which matters because every index file is summed when it
// is written, opened, merged, verified and exported.
#ifndef CCRC32C_H
#define CCRC32C_H
#include <stddef.h>
#include <stdint.h>

/// 1 when `ms_crc32c_update` may be called (x86-64 with SSE 4.2), else 0.
int ms_crc32c_hardware(void);

/// Feeds `n` bytes at `p` into the CRC register `crc` (neither inverted on entry nor on exit:
/// the caller does the CRC-32C pre- and post-inversion). Call only when `ms_crc32c_hardware()`.
uint32_t ms_crc32c_update(uint32_t crc, const void *p, size_t n);

#endif
