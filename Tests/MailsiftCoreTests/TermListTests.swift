import MailsiftCore
import Testing

/// A term list made from its three arrays is the list they describe; arrays that describe
/// none (ends out of order or past the bytes, a position missing) give an empty list.
@Suite struct TermListTests {
    @Test func fromArraysEqualsAppended() {
        var appended = TermList()
        appended.append("mail", position: 0)
        appended.append("", position: 1)
        appended.append("été", position: 7)
        let made = TermList(bytes: Array("mailété".utf8), ends: [4, 4, 9], positions: [0, 1, 7])
        #expect(made.count == 3)
        #expect((0..<3).map { made.term($0) } == (0..<3).map { appended.term($0) })
        #expect(made.positions == appended.positions && made.ends == appended.ends && made.bytes == appended.bytes)
    }

    @Test func inconsistentArraysGiveAnEmptyList() {
        #expect(TermList(bytes: [0x61, 0x62], ends: [2, 1], positions: [0, 1]).isEmpty)  // ends decrease
        #expect(TermList(bytes: [0x61], ends: [2], positions: [0]).isEmpty)              // past the bytes
        #expect(TermList(bytes: [0x61, 0x62], ends: [1, 2], positions: [0]).isEmpty)     // a position missing
        #expect(TermList(bytes: [0x61, 0x62, 0x63], ends: [1], positions: [0]).isEmpty)  // stray bytes after the last term
        #expect(TermList(bytes: [0x61], ends: [], positions: []).isEmpty)
        #expect(TermList(bytes: [], ends: [], positions: []).isEmpty)
    }
}
