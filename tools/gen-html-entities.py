#!/usr/bin/env python3
"""Generate Sources/MIME/HTMLEntities.swift from Python's html.entities.html5.

Usage: tools/gen-html-entities.py [output-path]
       (default: Sources/MIME/HTMLEntities.swift relative to the package root)

The table is emitted as one multi-line string literal (one entity per line,
sorted by the UTF-8 bytes of the name) rather than as a Swift array literal:
a 2231-element literal of tuples is slow for the type checker, whereas a
string literal compiles instantly and is parsed once, lazily, at first use.
"""

import html.entities
import os
import sys

HEADER = '''\
// GENERATED FILE - DO NOT EDIT.
// Produced by tools/gen-html-entities.py from Python {pyver}'s html.entities.html5
// (the WHATWG HTML named character reference list, {count} entries).

/// The HTML5 named character references, keyed by name without the leading
/// `&`. Names that require a semicolon include it (`"amp;"`); the {legacy}
/// legacy names that browsers also accept without one appear a second time
/// without it (`"amp"`), which is how the decoder tells them apart.
enum HTMLEntities {{
    /// Longest name, excluding the trailing `;`.
    static let maxNameLength = {maxlen}
    /// Longest name usable without a trailing `;` (the legacy set).
    static let maxLegacyNameLength = {maxlegacy}
    /// Number of entries in `source`.
    static let count = {count}

    /// Parsed once on first use; `static let` initialisation is thread-safe.
    static let table = HTMLEntityTable(source: source)

    /// `name codepoint [codepoint]` per line, hex code points, sorted by name bytes.
    static let source = """
{body}
    """
}}

/// Flat, allocation-free lookup structure: all names concatenated in one
/// byte array, binary-searched directly against slices of the input buffer.
struct HTMLEntityTable: Sendable {{
    private let names: [UInt8]
    /// `starts[i] ..< starts[i + 1]` is the i-th name in `names`.
    private let starts: [Int32]
    /// Two code points per entry; the second is 0 when the entity maps to one.
    private let values: [UInt32]

    var count: Int {{ values.count / 2 }}

    init(source: String) {{
        var names: [UInt8] = []
        var starts: [Int32] = [0]
        var values: [UInt32] = []
        names.reserveCapacity(16 * 1024)
        for line in source.utf8.split(separator: UInt8(ascii: "\\n")) {{
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count >= 2 else {{ continue }}
            names.append(contentsOf: fields[0])
            starts.append(Int32(names.count))
            var cps: [UInt32] = []
            for field in fields.dropFirst() {{
                cps.append(UInt32(String(decoding: field, as: UTF8.self), radix: 16) ?? 0xFFFD)
            }}
            values.append(cps.first ?? 0xFFFD)
            values.append(cps.count > 1 ? cps[1] : 0)
        }}
        self.names = names
        self.starts = starts
        self.values = values
    }}

    /// Looks up `input[lower ..< upper]` (a name without `&`, including `;`
    /// if the caller wants a semicolon-terminated match).
    func lookup(_ input: UnsafeBufferPointer<UInt8>, _ lower: Int, _ upper: Int) -> (UInt32, UInt32)? {{
        guard lower >= 0, lower <= upper, upper <= input.count else {{ return nil }}
        var lo = 0
        var hi = count
        while lo < hi {{
            let mid = lo + (hi - lo) / 2
            let order = compare(input, lower, upper, entry: mid)
            if order == 0 {{ return (values[2 * mid], values[2 * mid + 1]) }}
            if order < 0 {{ hi = mid }} else {{ lo = mid + 1 }}
        }}
        return nil
    }}

    /// Name at `index`, for tests and diagnostics.
    func name(at index: Int) -> [UInt8] {{
        Array(names[Int(starts[index]) ..< Int(starts[index + 1])])
    }}

    /// Lexicographic byte comparison of the key against entry `index`:
    /// negative if the key sorts first, 0 if equal, positive otherwise.
    private func compare(_ input: UnsafeBufferPointer<UInt8>, _ lower: Int, _ upper: Int, entry index: Int) -> Int {{
        let start = Int(starts[index])
        let end = Int(starts[index + 1])
        let keyLength = upper - lower
        let nameLength = end - start
        let common = min(keyLength, nameLength)
        var k = 0
        while k < common {{
            let a = input[lower + k]
            let b = names[start + k]
            if a != b {{ return a < b ? -1 : 1 }}
            k += 1
        }}
        return keyLength - nameLength
    }}
}}
'''


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', 'Sources', 'MIME', 'HTMLEntities.swift')
    table = html.entities.html5
    entries = sorted(table.items(), key=lambda kv: kv[0].encode('utf-8'))
    lines = []
    for name, value in entries:
        assert name.isascii() and name.rstrip(';').isalnum(), name
        assert 1 <= len(value) <= 2, name
        cps = ' '.join('%X' % ord(ch) for ch in value)
        lines.append('    %s %s' % (name, cps))
    legacy = [k for k in table if not k.endswith(';')]
    text = HEADER.format(
        pyver='%d.%d' % sys.version_info[:2],
        count=len(entries),
        legacy=len(legacy),
        maxlen=max(len(k.rstrip(';')) for k in table),
        maxlegacy=max(len(k) for k in legacy),
        body='\n'.join(lines),
    )
    with open(out, 'w', encoding='utf-8') as f:
        f.write(text)
    print('wrote %s (%d entries)' % (out, len(entries)))


if __name__ == '__main__':
    main()
