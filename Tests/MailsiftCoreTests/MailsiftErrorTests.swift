import MailsiftCore
import Testing

@Suite struct MailsiftErrorTests {
    @Test func describesCodeMessageAndCause() {
        let plain = MailsiftError(.corrupt, "segment 3: bad checksum")
        #expect(plain.description == "corrupt: segment 3: bad checksum")
        let caused = MailsiftError(.io, "cannot read x", cause: Underlying("No such file"))
        #expect(caused.description == "io: cannot read x (No such file)")
        #expect(MailsiftError.Code("custom") == MailsiftError.Code("custom"))
        #expect(MailsiftError.Code.formatTooNew != .formatTooOld)
    }
}
