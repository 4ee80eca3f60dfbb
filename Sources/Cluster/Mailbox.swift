// How other threads talk to a poll loop: they post events into a locked queue, and
// the first post after the loop last drained it also sends one wake-up message on an
// inproc PAIR whose other end the loop polls. The loop owns the receiving socket; the
// sending one is used only under the lock, so any thread may post (libzmq allows a
// socket to move between threads across a full memory barrier, which the lock gives).
//
// Posting never blocks on the loop and never allocates a socket, so task threads,
// signal handlers and `stop()` calls can all use it; one wake-up per drained batch
// keeps the inproc traffic at most one message per loop iteration.

import Foundation
import ZeroMQ

final class Mailbox<Event: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []
    private var signalled = false
    private var sender: Socket?
    /// The loop's end: poll it for `.readable`, then call `drain()`.
    let receiver: Socket

    /// Creates both ends in `context`. Call on the loop's thread.
    init(context: Context, name: String) throws {
        let endpoint = "inproc://duet.\(name).\(UUID().uuidString)"
        receiver = try context.makeSocket(.pair)
        try receiver.bind(endpoint)
        let sender = try context.makeSocket(.pair)
        try sender.connect(endpoint)
        self.sender = sender
    }

    /// Queues `event` and wakes the loop. After `close()` events are still queued (and
    /// ignored) but nobody is woken.
    func post(_ event: Event) {
        lock.withLock {
            events.append(event)
            if !signalled, let sender {
                signalled = true
                _ = try? sender.send([[UInt8(ascii: "!")]], dontWait: true)
            }
        }
    }

    /// The events posted since the last drain, oldest first. Loop thread only.
    func drain() -> [Event] {
        // Wake-ups first, then the events: a post that lands in between finds
        // `signalled` still set and its event is taken below.
        while (try? receiver.receive(dontWait: true)) != nil {}
        return lock.withLock {
            signalled = false
            defer { events.removeAll(keepingCapacity: true) }
            return events
        }
    }

    /// Closes both sockets (loop thread, before closing the context).
    func close() {
        lock.withLock {
            sender?.close()
            sender = nil
        }
        receiver.close()
    }
}

/// Threads that run closures (the worker's task slots). Never Swift's cooperative
/// pool: a task may run for hours. A job that returns true ends its thread: the job
/// was abandoned and `addThread` has already put another in its place.
final class ThreadPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Bool] = []
    private var head = 0
    private var stopping = false
    private let name: String
    private var started = 0

    init(threads: Int, name: String) {
        self.name = name
        for _ in 0..<max(1, threads) { addThread() }
    }

    /// One more thread (in place of one held by an abandoned job).
    func addThread() {
        let index = condition.withLock {
            started += 1
            return started
        }
        let thread = Thread { [self] in work() }
        thread.name = "\(name).\(index)"
        thread.stackSize = 8 << 20
        thread.start()
    }

    func submit(_ job: @escaping @Sendable () -> Bool) {
        condition.lock()
        jobs.append(job)
        condition.unlock()
        // Signalled after unlocking: a thread woken while the lock is still held would
        // block on it at once and need a second wake-up (`perf` of short tasks showed
        // as many lock hand-offs as signals). A thread that is not waiting yet finds
        // the job when it next takes the lock.
        condition.signal()
    }

    /// Lets the threads end once idle (jobs already queued still run).
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            if job() { return }
        }
    }
}
