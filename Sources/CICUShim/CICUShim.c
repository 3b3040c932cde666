#include "CICUShim.h"

#include <string.h>
#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>
#include <unicode/ucsdet.h>
#include <unicode/utypes.h>

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
