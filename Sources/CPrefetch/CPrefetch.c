// Header-only target: the function is static inline in include/CPrefetch.h.
