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

/// The converters ICU has: how many, and the `index`th's canonical name (NULL past the end).
int32_t msicu_converter_count(void);
const char *msicu_converter_name(int32_t index);

/// The aliases of converter `name`: how many, and the `index`th (NULL past the end).
int32_t msicu_alias_count(const char *name);
const char *msicu_alias(const char *name, int32_t index);

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

// MARK: - Word boundaries (UAX #29, ICU dictionaries for CJK, Thai, Khmer, Lao, Burmese)

/// An opaque word-break iterator; one per thread (not thread-safe). NULL on failure.
typedef struct MSICUWordBreaker MSICUWordBreaker;
MSICUWordBreaker *msicu_wordbreaker_open(const char *locale);
void msicu_wordbreaker_close(MSICUWordBreaker *breaker);

/// Word segments of UTF-16 `text`: for each segment whose rule status is not "none"
/// (a letter, number, kana or ideographic word), its [start, end) in UTF-16 units and its
/// status (100s number, 200s letter, 300s kana, 400s ideographic). Returns the number of
/// segments written (at most `capacity`; call again on the rest of the text when full), or
/// -1 on error. `*consumed` is the UTF-16 offset up to which the text was examined.
int32_t msicu_word_segments(MSICUWordBreaker *breaker, const uint16_t *text, int32_t length,
                            int32_t *starts, int32_t *ends, int32_t *statuses, int32_t capacity,
                            int32_t *consumed);

// MARK: - Normalization

/// NFKC_Casefold (UTS #46-style identifier folding: compatibility forms, case, default
/// ignorables removed) of UTF-16 `text` into `out`. Returns the output length, or the
/// length needed (negated) when `capacity` is too small, or INT32_MIN on error.
int32_t msicu_nfkc_casefold(const uint16_t *text, int32_t length, uint16_t *out, int32_t capacity);

/// Diacritic folding: NFD, then combining marks (general category Mn) on Latin, Greek,
/// Cyrillic, Hebrew and Arabic letters removed (other scripts' marks are vowels), then a few
/// letters that are not decomposable mapped to their base (ø→o, ł→l, đ→d, ħ→h, ı→i, ŧ→t,
/// æ→ae, œ→oe, ß→ss, þ→th, ð→d), then NFC. Same conventions as msicu_nfkc_casefold.
int32_t msicu_fold_diacritics(const uint16_t *text, int32_t length, uint16_t *out, int32_t capacity);

#ifdef __cplusplus
}
#endif
#endif
