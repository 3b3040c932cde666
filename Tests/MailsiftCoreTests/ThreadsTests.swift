import Foundation
import MailsiftCore
import Testing

@Suite struct ThreadsTests {
    @Test func startThreadRunsTheBody() {
        let ran = DispatchSemaphore(value: 0)
        #expect(startThread(name: "mailsift-test-thread-with-a-long-name", stackSize: 1 << 20) { ran.signal() })
        #expect(ran.wait(timeout: .now() + 60) == .success)
    }

    /// A thread the system cannot create (a stack larger than the address space) is reported,
    /// and its body never runs.
    @Test func startThreadReportsFailure() {
        let ran = Locked(false)
        #expect(!startThread(stackSize: 1 << 62) { ran.withLock { $0 = true } })
        Thread.sleep(forTimeInterval: 0.05)
        #expect(ran.withLock { $0 } == false)
    }
}
