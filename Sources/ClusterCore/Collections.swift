// Small fixed-shape containers the state machines use: a ring-buffer deque and a
// sliding-window rate counter. Both stay the size of their peak content, not of the
// number of events that went through them.

/// A FIFO queue on a growable ring buffer: O(1) append and popFirst.
struct Deque<Element: Sendable>: Sendable {
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }
    /// Slots allocated (for footprint checks).
    var capacity: Int { storage.count }

    var first: Element? { count == 0 ? nil : storage[head] }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) % storage.count] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        if count == 0 { head = 0 }
        return element
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
        count = 0
    }

    /// The elements front to back.
    var elements: [Element] { (0..<count).map { storage[(head + $0) % storage.count]! } }

    private mutating func grow() {
        let old = elements
        storage = Array(repeating: nil, count: max(8, storage.count * 2))
        for (i, element) in old.enumerated() { storage[i] = element }
        head = 0
    }
}

/// Events per second over a sliding window, in a fixed number of buckets.
struct RateWindow: Sendable {
    let window: Double
    let width: Double
    private var stamps: [Int]
    private var counts: [Int]
    private var start: Double?

    /// `start`: when counting began (a run's creation); nil to start at the first event.
    init(window: Double, buckets: Int = 30, start: Double? = nil) {
        self.window = max(window, 1e-9)
        self.width = self.window / Double(buckets)
        self.start = start
        stamps = Array(repeating: Int.min, count: buckets)
        counts = Array(repeating: 0, count: buckets)
    }

    private func bucket(_ now: Double) -> Int { Int((now / width).rounded(.down)) }

    mutating func record(_ now: Double, count: Int = 1) {
        if start == nil { start = now }
        let b = bucket(now)
        let slot = ((b % stamps.count) + stamps.count) % stamps.count
        if stamps[slot] != b {
            stamps[slot] = b
            counts[slot] = 0
        }
        counts[slot] += count
    }

    /// Events per second over the last `window` seconds (over the time since `start`
    /// when that is shorter, so a fresh run is not underestimated).
    func rate(_ now: Double) -> Double {
        guard let start else { return 0 }
        let b = bucket(now)
        var total = 0
        for i in stamps.indices where stamps[i] <= b && stamps[i] > b - stamps.count { total += counts[i] }
        let span = min(window, max(now - start, width))
        return Double(total) / span
    }
}
