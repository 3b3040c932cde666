import Foundation
@testable import FuzzTargets
import IndexEngine
import Testing
import TestSupport

/// Every fuzz target on its built-in seeds and on every input the fuzzers ever found
/// (tools/fuzz/regressions/TARGET/): each must return, not trap. The inputs are replayed
/// without sanitizers here; tools/fuzz/run.sh replays them under AddressSanitizer.
@Suite(.serialized) struct FuzzRegressionTests {
    static let regressions = repositoryRoot.appendingPathComponent("tools/fuzz/regressions").path

    @Test(arguments: FuzzTargets.names)
    func seedsAndFoundInputsRun(_ target: String) throws {
        let seeds = FuzzTargets.seeds(target)
        #expect(!seeds.isEmpty, "target \(target) has no built-in seeds")
        for seed in seeds { #expect(FuzzTargets.run(target, seed)) }
        let dir = Self.regressions + "/" + target
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else { continue }
            #expect(FuzzTargets.run(target, Array(data)), "\(target)/\(name)")
        }
    }

    /// The targets see what they should: the sample index answers, a damaged segment is refused.
    @Test func targetsReachTheirCode() throws {
        let engine = try #require(State.engine)
        let hits = try engine.search(.text(.text, "scrub", .words), options: .init())
        #expect(hits.total == 1)
        #expect(try engine.search(.text(.text, "spin_lock", .words), options: .init()).total == 1)
        let seed = try #require(State.segment)
        #expect(seed.documentCount == UInt32(SampleMail.messages.count))
        #expect(try SegmentBytes.exercise(seed.files, documentCount: seed.documentCount) > 50)
        var damaged = seed.files
        damaged[0] = Array(damaged[0].prefix(10))
        #expect(throws: (any Error).self) { try SegmentBytes.exercise(damaged, documentCount: seed.documentCount) }
        let http = try #require(State.http)
        #expect(http.respondBlocking(Array("GET /health\nAuthorization: Bearer fuzz-token\n\n".utf8)) == 200)
        #expect(http.respondBlocking(Array("GET /v1/users/fuzz/status\n\n".utf8)) == 401)
        #expect(http.respondBlocking(Array("GET /v1/users/fuzz/status\nAuthorization: Bearer fuzz-token\n\n".utf8)) == 200)
    }
}
