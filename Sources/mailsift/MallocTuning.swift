#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings for the bulk commands (index, reindex, compact).
enum MallocTuning {
    /// Asks glibc to grow (and, trimming on free, keep) each heap by `pad` bytes beyond a
    /// request. Bulk indexing frees and reallocates the same large amounts all the time (term
    /// lists, stored blocks, flush buffers); with glibc's default 128 KiB the freed tops went
    /// back to the kernel and came back as fresh pages: indexing LKML took 440,000 minor page
    /// faults and ~2.0 s of system time, against 266,000 and ~1.5 s with 32 MiB, for ~5-10 MiB
    /// more anonymous memory (docs/benchmarks.md). The writer's `malloc_trim` after a flush
    /// still returns a flushed buffer's memory.
    static func padHeaps(_ pad: Int) {
        #if canImport(Glibc)
        _ = mallopt(-2 /* M_TOP_PAD */, Int32(clamping: pad))
        #endif
    }
}

#if canImport(Glibc)
/// glibc's mallopt (malloc.h is not in the Glibc module; IndexWriter declares it the same way).
@_silgen_name("mallopt") private func mallopt(_ param: Int32, _ value: Int32) -> Int32
#endif
