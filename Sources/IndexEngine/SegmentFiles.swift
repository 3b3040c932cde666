/// The files of one segment: `<name>.<kind>`, all immutable once written.
public enum SegmentFiles {
    /// In the order the manifest lists their sizes.
    public static let kinds = ["terms", "docs", "pos", "stored", "values"]

    public static func path(_ directory: String, _ segment: String, _ kind: String) -> String {
        "\(directory)/\(segment).\(kind)"
    }

    public static func deletionsPath(_ directory: String, _ segment: String, generation: UInt64) -> String {
        "\(directory)/\(segment).del-\(generation)"
    }

    public static func name(number: UInt64) -> String { "seg_" + String(number, radix: 16) }

    /// Names written by `name(number:)` only: nothing from a corrupt manifest becomes an odd path.
    public static func isValidName(_ name: String) -> Bool {
        name.hasPrefix("seg_") && name.count <= 24 && name.dropFirst(4).allSatisfy { $0.isHexDigit && $0.isLowercase || $0.isNumber }
    }
}
