// The one way the tool catches Ctrl-C and kill: SIGINT and SIGTERM through dispatch
// signal sources, so the handler runs off the main thread as ordinary Swift code.

import Dispatch
import Foundation

/// Runs `handler` on SIGINT and SIGTERM (off the main thread) until cancelled. By
/// default a second signal exits at once with status 130; with `again: .handle` every
/// signal runs `handler` (for handlers that exit themselves or only ask work to stop).
/// Traps nest: a signal goes to the latest trap not yet cancelled, and with none it
/// exits with status 130, as an untrapped Ctrl-C would end the process.
final class SignalTrap: @unchecked Sendable {
    /// What a second signal does.
    enum Again { case exit, handle }

    fileprivate let signals: [Int32]
    private let again: Again
    private let handler: @Sendable (Int32) -> Void
    /// Whether a signal has come before (read and written under `SignalHub`'s lock).
    fileprivate var fired = false

    init(_ signals: [Int32] = [SIGINT, SIGTERM], again: Again = .exit,
         handler: @escaping @Sendable (Int32) -> Void) {
        self.signals = signals
        self.again = again
        self.handler = handler
        SignalHub.shared.register(self)
    }

    func cancel() {
        SignalHub.shared.unregister(self)
    }

    fileprivate func deliver(_ number: Int32, repeated: Bool) {
        if repeated, again == .exit { Foundation.exit(130) }
        handler(number)
    }
}

/// One dispatch source per signal for the whole process, made at the first trap that
/// asks for it and never cancelled. A source made after another for the same signal
/// was cancelled was never called on Linux, so Ctrl-C went unanswered in every phase
/// of `duet run` after the first (the search after the sweep, an adaptive sweep's
/// rounds after its start).
private final class SignalHub: @unchecked Sendable {
    static let shared = SignalHub()

    /// The queue the handlers run on: a serial queue of its own, which gets a thread
    /// even when work such as `concurrentPerform` holds every thread of the global
    /// queue (`duet sweep --threads N` on N cores did, and Ctrl-C went unanswered).
    private let queue = DispatchQueue(label: "duet.signal-trap")
    private let lock = NSLock()
    private var sources: [Int32: DispatchSourceSignal] = [:]
    /// Registered traps, the latest last.
    private var traps: [SignalTrap] = []

    func register(_ trap: SignalTrap) {
        lock.withLock {
            traps.append(trap)
            for number in trap.signals where sources[number] == nil {
                // Ignored, so that only the source sees it (the default would end the process).
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { [unowned self] in self.fire(number) }
                source.resume()
                sources[number] = source
            }
        }
    }

    func unregister(_ trap: SignalTrap) {
        lock.withLock { traps.removeAll { $0 === trap } }
    }

    private func fire(_ number: Int32) {
        let target = lock.withLock { () -> (trap: SignalTrap, repeated: Bool)? in
            guard let trap = traps.last(where: { $0.signals.contains(number) }) else { return nil }
            defer { trap.fired = true }
            return (trap, trap.fired)
        }
        guard let target else { Foundation.exit(130) }
        target.trap.deliver(number, repeated: target.repeated)
    }
}
