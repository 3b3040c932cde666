import IndexEngine

/// `SegmentBytes.exercise`, for the regression tests' own checks.
public enum SegmentBytesProbe {
    public static func read(_ files: [[UInt8]], _ documentCount: UInt32) throws -> Int {
        try SegmentBytes.exercise(files, documentCount: documentCount)
    }
}
