// The one way the tool catches Ctrl-C and kill: SIGINT and SIGTERM through dispatch
// signal sources, so the handler runs off the main thread as ordinary Swift code.

import Dispatch
import Foundation

/// Runs `handler` on SIGINT and SIGTERM (off the main thread). By default a second
/// signal exits at once with status 130; with `again: .handle` every signal runs
/// `handler` (for handlers that exit themselves or only ask work to stop).
final class SignalTrap: @unchecked Sendable {
    /// What a second signal does.
    enum Again { case exit, handle }

    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var fired = false

    /// The queue the handlers run on: a serial queue of its own, which gets a thread
    /// even when work such as `concurrentPerform` holds every thread of the global
    /// queue (`duet sweep --threads N` on N cores did, and Ctrl-C went unanswered).
    private static let queue = DispatchQueue(label: "duet.signal-trap")

    init(_ signals: [Int32] = [SIGINT, SIGTERM], again: Again = .exit,
         handler: @escaping @Sendable (Int32) -> Void) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: Self.queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                let repeated = self.lock.withLock { () -> Bool in
                    defer { self.fired = true }
                    return self.fired
                }
                if repeated, again == .exit { Foundation.exit(130) }
                handler(number)
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        sources.forEach { $0.cancel() }
        sources.removeAll()
    }
}
