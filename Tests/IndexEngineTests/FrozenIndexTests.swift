import Catalog
import Foundation
import IndexEngine
import Query
import Testing

/// A small index written by version 1 of every format (corpus/samples, user
/// frozen@example.org) is kept under Frozen/v1 and must stay readable: a format change that
/// breaks it needs a version step and a reader for the old version (docs/format.md, History).
@Suite struct FrozenIndexTests {
    @Test func version1IndexStillReads() throws {
        let frozen = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Frozen/v1")
        // Work on a copy: opening the catalog (SQLite WAL) writes beside it.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("mailsift-frozen-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: frozen, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let dir = try UserDirectory(dataRoot: copy.path, user: "frozen@example.org")
        let reader = try IndexReader(directory: dir)
        #expect(reader.manifest.generation == 1)
        #expect(reader.documentCount == 9)
        let catalog = try Catalog(path: dir.catalogPath)
        #expect(try catalog.meta("user") == "frozen@example.org")
        let hits = try SimpleSearch("\"maintenance window\"").run(reader: reader, catalog: catalog)
        #expect(hits.count == 1)
        #expect(try SimpleSearch("会議").run(reader: reader, catalog: catalog).first?.subject == "会議の資料")
        #expect(try SimpleSearch("anna.rossi@example.org").run(reader: reader, catalog: catalog).count == 1)
    }
}
