// A cache prefetch hint for Swift (no intrinsic there): the indexer's term table asks for the
// bucket of a term a few tokens ahead, so its cache miss overlaps the work on the current one.
#ifndef CPREFETCH_H
#define CPREFETCH_H
static inline void ms_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
#endif
