#include "CICUShim.h"

#include <string.h>
#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>
#include <unicode/ucsdet.h>
#include <unicode/utypes.h>
#include <unicode/ubrk.h>
#include <unicode/unorm2.h>
#include <unicode/uchar.h>
#include <unicode/utf16.h>
#include <limits.h>
#include <stdlib.h>

int32_t msicu_charset_known(const char *label) {
    UErrorCode status = U_ZERO_ERROR;
    UConverter *cnv = ucnv_open(label, &status);
    if (U_FAILURE(status) || cnv == NULL) return 0;
    ucnv_close(cnv);
    return 1;
}

int32_t msicu_charset_canonical(const char *label, char *out, int32_t outCapacity) {
    UErrorCode status = U_ZERO_ERROR;
    UConverter *cnv = ucnv_open(label, &status);
    if (U_FAILURE(status) || cnv == NULL) return MSICU_UNKNOWN_CHARSET;
    const char *name = ucnv_getName(cnv, &status);
    int32_t rc = MSICU_FAILED;
    if (U_SUCCESS(status) && name != NULL && outCapacity > 0) {
        strncpy(out, name, (size_t)outCapacity - 1);
        out[outCapacity - 1] = 0;
        rc = MSICU_OK;
    }
    ucnv_close(cnv);
    return rc;
}

// Counts substitutions while delegating to ICU's standard "substitute" behaviour.
typedef struct {
    int32_t count;
} SubstCounter;

static void countingToUCallback(const void *context, UConverterToUnicodeArgs *args,
                                const char *codeUnits, int32_t length,
                                UConverterCallbackReason reason, UErrorCode *err) {
    if (reason == UCNV_ILLEGAL || reason == UCNV_UNASSIGNED || reason == UCNV_IRREGULAR) {
        ((SubstCounter *)context)->count += 1;
    }
    UCNV_TO_U_CALLBACK_SUBSTITUTE(NULL, args, codeUnits, length, reason, err);
}

int32_t msicu_convert_to_utf8(const char *label, const uint8_t *input, int32_t length,
                              uint8_t *output, int32_t outCapacity, int32_t *outLength,
                              int32_t *substitutions) {
    UErrorCode status = U_ZERO_ERROR;
    *outLength = 0;
    *substitutions = 0;
    UConverter *cnv = ucnv_open(label, &status);
    if (U_FAILURE(status) || cnv == NULL) return MSICU_UNKNOWN_CHARSET;
    SubstCounter counter = {0};
    ucnv_setToUCallBack(cnv, countingToUCallback, &counter, NULL, NULL, &status);
    if (U_FAILURE(status)) {
        ucnv_close(cnv);
        return MSICU_FAILED;
    }
    int32_t n = ucnv_toAlgorithmic(UCNV_UTF8, cnv, (char *)output, outCapacity,
                                   (const char *)input, length, &status);
    ucnv_close(cnv);
    *outLength = n;
    *substitutions = counter.count;
    if (status == U_BUFFER_OVERFLOW_ERROR) return MSICU_BUFFER_TOO_SMALL;
    if (U_FAILURE(status)) return MSICU_FAILED;
    return MSICU_OK;
}

int32_t msicu_detect_charset(const uint8_t *input, int32_t length, const char *declaredHint,
                             char *out, int32_t outCapacity, int32_t *confidence) {
    UErrorCode status = U_ZERO_ERROR;
    *confidence = 0;
    if (outCapacity <= 0) return MSICU_FAILED;
    UCharsetDetector *det = ucsdet_open(&status);
    if (U_FAILURE(status) || det == NULL) return MSICU_FAILED;
    int32_t n = length > 65536 ? 65536 : length;
    ucsdet_setText(det, (const char *)input, n, &status);
    if (declaredHint != NULL && declaredHint[0] != 0) {
        ucsdet_setDeclaredEncoding(det, declaredHint, -1, &status);
    }
    const UCharsetMatch *match = ucsdet_detect(det, &status);
    int32_t rc = MSICU_FAILED;
    if (U_SUCCESS(status) && match != NULL) {
        const char *name = ucsdet_getName(match, &status);
        int32_t conf = ucsdet_getConfidence(match, &status);
        if (U_SUCCESS(status) && name != NULL) {
            strncpy(out, name, (size_t)outCapacity - 1);
            out[outCapacity - 1] = 0;
            *confidence = conf;
            rc = MSICU_OK;
        }
    }
    ucsdet_close(det);
    return rc;
}

// MARK: - Word boundaries

struct MSICUWordBreaker {
    UBreakIterator *bi;
};

MSICUWordBreaker *msicu_wordbreaker_open(const char *locale) {
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_WORD, locale, NULL, 0, &status);
    if (U_FAILURE(status) || bi == NULL) return NULL;
    MSICUWordBreaker *b = (MSICUWordBreaker *)malloc(sizeof(MSICUWordBreaker));
    if (b == NULL) {
        ubrk_close(bi);
        return NULL;
    }
    b->bi = bi;
    return b;
}

void msicu_wordbreaker_close(MSICUWordBreaker *breaker) {
    if (breaker == NULL) return;
    ubrk_close(breaker->bi);
    free(breaker);
}

int32_t msicu_word_segments(MSICUWordBreaker *breaker, const uint16_t *text, int32_t length,
                            int32_t *starts, int32_t *ends, int32_t *statuses, int32_t capacity,
                            int32_t *consumed) {
    *consumed = 0;
    if (breaker == NULL || length < 0 || capacity <= 0) return -1;
    UErrorCode status = U_ZERO_ERROR;
    ubrk_setText(breaker->bi, (const UChar *)text, length, &status);
    if (U_FAILURE(status)) return -1;
    int32_t n = 0;
    int32_t start = ubrk_first(breaker->bi);
    int32_t end;
    while ((end = ubrk_next(breaker->bi)) != UBRK_DONE) {
        int32_t rule = ubrk_getRuleStatus(breaker->bi);
        if (rule >= UBRK_WORD_NONE_LIMIT) {
            starts[n] = start;
            ends[n] = end;
            statuses[n] = rule;
            n += 1;
            if (n == capacity) {
                *consumed = end;
                return n;
            }
        }
        start = end;
    }
    *consumed = length;
    return n;
}

// MARK: - Normalization

static int32_t finish(UErrorCode status, int32_t n) {
    if (status == U_BUFFER_OVERFLOW_ERROR) return -n;
    if (U_FAILURE(status)) return INT32_MIN;
    return n;
}

int32_t msicu_nfkc_casefold(const uint16_t *text, int32_t length, uint16_t *out, int32_t capacity) {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *norm = unorm2_getNFKCCasefoldInstance(&status);
    if (U_FAILURE(status)) return INT32_MIN;
    int32_t n = unorm2_normalize(norm, (const UChar *)text, length, (UChar *)out, capacity, &status);
    return finish(status, n);
}

static UChar32 baseLetter(UChar32 c, UChar32 *second) {
    *second = 0;
    switch (c) {
    case 0x00F8: case 0x00D8: return 'o';          // ø Ø
    case 0x0142: case 0x0141: return 'l';          // ł Ł
    case 0x0111: case 0x0110: return 'd';          // đ Đ
    case 0x00F0: case 0x00D0: return 'd';          // ð Ð
    case 0x0127: case 0x0126: return 'h';          // ħ Ħ
    case 0x0131: return 'i';                       // ı
    case 0x0167: case 0x0166: return 't';          // ŧ Ŧ
    case 0x00E6: case 0x00C6: *second = 'e'; return 'a';   // æ
    case 0x0153: case 0x0152: *second = 'e'; return 'o';   // œ
    case 0x00DF: *second = 's'; return 's';                // ß
    case 0x00FE: case 0x00DE: *second = 'h'; return 't';   // þ
    default: return c;
    }
}

int32_t msicu_fold_diacritics(const uint16_t *text, int32_t length, uint16_t *out, int32_t capacity) {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *nfd = unorm2_getNFDInstance(&status);
    const UNormalizer2 *nfc = unorm2_getNFCInstance(&status);
    if (U_FAILURE(status) || length < 0) return INT32_MIN;
    // NFD can grow the text; size the scratch buffers generously and retry once if needed.
    int32_t cap = length * 4 + 16;
    UChar *decomposed = (UChar *)malloc(sizeof(UChar) * (size_t)cap);
    UChar *stripped = (UChar *)malloc(sizeof(UChar) * (size_t)cap * 2);
    if (decomposed == NULL || stripped == NULL) {
        free(decomposed);
        free(stripped);
        return INT32_MIN;
    }
    int32_t dn = unorm2_normalize(nfd, (const UChar *)text, length, decomposed, cap, &status);
    if (U_FAILURE(status)) {
        free(decomposed);
        free(stripped);
        return INT32_MIN;
    }
    int32_t sn = 0;
    UBool baseFoldable = false;  // marks are diacritics only on these scripts' letters
    for (int32_t i = 0; i < dn;) {
        UChar32 c;
        U16_NEXT(decomposed, i, dn, c);
        if (u_charType(c) == U_NON_SPACING_MARK) {
            if (baseFoldable) continue;
        } else {
            // Latin, Greek, Cyrillic, Hebrew points, Arabic harakat: accents and vowel signs.
            // Thai, Indic and other scripts' marks are letters' vowels: kept.
            baseFoldable = c < 0x0700 || (c >= 0x1D00 && c < 0x2000) || (c >= 0x2C60 && c < 0x2C80)
                || (c >= 0xA640 && c < 0xA800) || (c >= 0xFB1D && c < 0xFB50);
        }
        UChar32 second;
        UChar32 base = baseLetter(c, &second);
        UBool err = false;
        U16_APPEND(stripped, sn, cap * 2, base, err);
        if (second != 0 && !err) U16_APPEND(stripped, sn, cap * 2, second, err);
        if (err) break;
    }
    status = U_ZERO_ERROR;
    int32_t n = unorm2_normalize(nfc, stripped, sn, (UChar *)out, capacity, &status);
    free(decomposed);
    free(stripped);
    return finish(status, n);
}

int32_t msicu_converter_count(void) { return ucnv_countAvailable(); }

const char *msicu_converter_name(int32_t index) {
    if (index < 0 || index >= ucnv_countAvailable()) return NULL;
    return ucnv_getAvailableName(index);
}

int32_t msicu_alias_count(const char *name) {
    UErrorCode status = U_ZERO_ERROR;
    uint16_t n = ucnv_countAliases(name, &status);
    return U_FAILURE(status) ? 0 : (int32_t)n;
}

const char *msicu_alias(const char *name, int32_t index) {
    UErrorCode status = U_ZERO_ERROR;
    if (index < 0 || index > 0xFFFF) return NULL;
    const char *alias = ucnv_getAlias(name, (uint16_t)index, &status);
    return U_FAILURE(status) ? NULL : alias;
}
