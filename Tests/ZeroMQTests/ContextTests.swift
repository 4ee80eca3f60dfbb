import Foundation
import Testing

@testable import ZeroMQ

@Suite struct ContextTests {
    @Test func versionIsThe43Series() {
        let version = ZMQVersion.current
        #expect(version >= ZMQVersion(major: 4, minor: 3, patch: 0))
        #expect("\(version)".hasPrefix("4."))
    }

    @Test func shutdownWakesBlockedCallsWithETERM() throws {
        let context = try Context()
        let pull = try context.makeSocket(.pull)
        try pull.bind(uniqueInproc("shutdown"))
        context.shutdown()
        let error = try #require(throws: ZMQError.self) { try pull.receive() }
        #expect(error.isContextTerminated)
        #expect(error.message == "Context was terminated")
        pull.close()
        context.close()
    }

    @Test func closeWaitsForASocketClosedOnAnotherThread() throws {
        let context = try Context()
        let outcome = WorkerOutcome()
        let thread = Thread {
            // The socket lives and dies on this thread.
            var sawETERM = false
            if let pull = try? context.makeSocket(.pull) {
                do {
                    try pull.bind(uniqueInproc("worker"))
                    _ = try pull.receive()
                } catch {
                    sawETERM = (error as? ZMQError)?.isContextTerminated == true
                }
                pull.close()
            }
            outcome.finish(sawETERM: sawETERM)
        }
        thread.start()
        Thread.sleep(forTimeInterval: 0.05)
        context.close()  // wakes the worker with ETERM, returns once it closed its socket
        #expect(context.isClosed)
        #expect(outcome.wait())
        let error = try #require(throws: ZMQError.self) { try context.makeSocket(.pair) }
        #expect(error.errno == ZMQError.contextTerminated)
        context.close()  // idempotent
    }
}

private final class WorkerOutcome: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var sawETERM = false

    func finish(sawETERM: Bool) {
        self.sawETERM = sawETERM
        done.signal()
    }

    func wait() -> Bool {
        done.wait()
        return sawETERM
    }
}
