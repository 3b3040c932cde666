// Plain-C face of the system ICU (see docs/architecture.md, "ICU from Swift").
// Only plain C types cross this boundary; <unicode/*.h> is included by the .c file alone,
// so Foundation's bundled ICU headers never meet the system ones in a Swift module.
#ifndef CICUSHIM_H
#define CICUSHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes shared by the shim functions.
enum {
    MSICU_OK = 0,
    MSICU_UNKNOWN_CHARSET = 1,   // ICU has no converter of that name
    MSICU_BUFFER_TOO_SMALL = 2,  // *outLength holds the size needed
    MSICU_FAILED = 3,            // any other ICU error
};

/// 1 when ICU can open a converter for `label` (any alias ICU knows), else 0.
int32_t msicu_charset_known(const char *label);

/// ICU's canonical name for `label` into `out` (NUL-terminated); returns MSICU_OK or MSICU_UNKNOWN_CHARSET.
int32_t msicu_charset_canonical(const char *label, char *out, int32_t outCapacity);

/// Converts `length` bytes in charset `label` into UTF-8. Unmappable or malformed input becomes
/// U+FFFD; `*substitutions` counts them (approximately: one per callback). On
/// MSICU_BUFFER_TOO_SMALL, `*outLength` is the size needed; call again with a larger buffer.
int32_t msicu_convert_to_utf8(const char *label, const uint8_t *input, int32_t length,
                              uint8_t *output, int32_t outCapacity, int32_t *outLength,
                              int32_t *substitutions);

/// ICU charset detection (ucsdet) over at most the first 64 KiB: the best guess's name into
/// `out` and its confidence (0-100). Returns MSICU_OK or MSICU_FAILED (no guess).
int32_t msicu_detect_charset(const uint8_t *input, int32_t length, const char *declaredHint,
                             char *out, int32_t outCapacity, int32_t *confidence);

#ifdef __cplusplus
}
#endif
#endif
