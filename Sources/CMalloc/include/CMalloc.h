// glibc allocator settings for Swift (malloc.h is not in the Glibc module): see tuneAllocator
// in Sources/mailsift/main.swift.
#ifndef CMALLOC_H
#define CMALLOC_H
void ms_tune_malloc(int mmap_threshold, int trim_threshold, int top_pad);
#endif
