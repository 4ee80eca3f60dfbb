// Where the metrics keep what the engine's loop updates for every job: per-station
// sums, totals, and the responses (listed, or counted for the percentiles), in
// memory of their own, written through pointers.
//
// Kept in arrays, every update inside the loop paid a copy-on-write check (a call
// into the runtime) per job and station, and the check made the compiler reload
// what it had in registers: about 5% of the bench scenarios' time and 8 to 11% of a
// sweep's with a precision target (README, "Performance"). The observers share a
// `MeasurementMemory` between copies until one takes memory of its own
// (`ownMemory`): the engine's pass does so when it starts and when it is copied
// (`TandemObserver.ownMemory`), and every change made outside the loop (merging,
// forgetting) does so first. So observers keep value semantics where anyone can see
// them, without a check per job.

import Histogram

/// Response values (histogram units) in growable memory of their own.
struct ResponseList {
    var values: UnsafeMutablePointer<UInt64>?
    var count = 0
    var capacity = 0

    @inline(__always)
    mutating func append(_ value: UInt64) {
        if count == capacity { grow() }
        values.unsafelyUnwrapped[count] = value
        count += 1
    }

    /// Doubles the room (at least 1,024 values); out of the loop.
    @inline(never)
    mutating func grow() {
        let room = max(1_024, 2 * capacity)
        let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: room)
        if let values {
            grown.moveInitialize(from: values, count: count)
            values.deallocate()
        }
        values = grown
        capacity = room
    }

    /// The values in order.
    var buffer: UnsafeBufferPointer<UInt64> { UnsafeBufferPointer(start: values, count: count) }

    /// The same values in memory of their own.
    func copy() -> ResponseList {
        guard let values, count > 0 else { return ResponseList() }
        let twin = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
        twin.initialize(from: values, count: count)
        return ResponseList(values: twin, count: count, capacity: count)
    }

    /// Frees the values; the list is empty afterwards.
    mutating func free() {
        values?.deallocate()
        self = ResponseList()
    }
}

/// What a row measures of the jobs that left the system and the batches that arrived.
struct RowTotals {
    var responseSum = 0.0
    var keptJobs = 0
    /// The kept batches: their gaps and drawn sizes (controls).
    var arrivals = ArrivalSums()

    /// Adds another stretch's totals.
    mutating func add(_ other: RowTotals) {
        responseSum += other.responseSum
        keptJobs += other.keptJobs
        arrivals.add(other.arrivals)
    }
}

/// `rows` rows of measurements: per-station sums (`stations` each), totals, and the
/// responses, as a list per row (a continued replication's stretches, one row each,
/// which must be able to take theirs out again) or counted for the percentiles (a
/// replication's accumulator, one row).
final class MeasurementMemory: @unchecked Sendable {
    let rows: Int
    let stations: Int
    /// Row r's sums for station k at `sums[r * stations + k]`.
    let sums: UnsafeMutablePointer<StationSums>
    let totals: UnsafeMutablePointer<RowTotals>
    let responses: UnsafeMutablePointer<ResponseList>
    /// Every row's responses counted (made with `countsResponses`), else nil.
    let counts: UnsafeMutablePointer<ResponseCounts>?

    convenience init(rows: Int, stations: Int, countsResponses: Bool = false) {
        self.init(rows: rows, stations: stations, counts: countsResponses ? ResponseCounts() : nil)
    }

    private init(rows: Int, stations: Int, counts: ResponseCounts?) {
        self.rows = rows
        self.stations = stations
        if let counts {
            self.counts = .allocate(capacity: 1)
            self.counts?.initialize(to: counts)
        } else {
            self.counts = nil
        }
        sums = .allocate(capacity: rows * stations)
        sums.initialize(repeating: StationSums(), count: rows * stations)
        totals = .allocate(capacity: rows)
        totals.initialize(repeating: RowTotals(), count: rows)
        responses = .allocate(capacity: rows)
        responses.initialize(repeating: ResponseList(), count: rows)
    }

    deinit {
        for row in 0..<rows { responses[row].free() }
        if let counts {
            counts.pointee.free()
            counts.deallocate()
        }
        sums.deallocate()
        totals.deallocate()
        responses.deallocate()
    }

    /// The same sums and responses in memory of their own.
    func copy() -> MeasurementMemory {
        let twin = MeasurementMemory(rows: rows, stations: stations, counts: counts?.pointee.copy())
        twin.sums.update(from: sums, count: rows * stations)
        twin.totals.update(from: totals, count: rows)
        for row in 0..<rows { twin.responses[row] = responses[row].copy() }
        return twin
    }

    /// Row `row`'s sums for station `station`.
    @inline(__always)
    func sums(row: Int, station: Int) -> UnsafeMutablePointer<StationSums> { sums + (row * stations + station) }

    /// Row `row`'s sums for each station.
    func stationSums(row: Int) -> [StationSums] {
        Array(UnsafeBufferPointer(start: sums + row * stations, count: stations))
    }

    /// A kept job of row `row` left the system after `response` seconds.
    @inline(__always)
    func addResponse(_ response: Double, row: Int) {
        totals[row].responseSum += response
        totals[row].keptJobs += 1
        responses[row].append(PercentileMethod.histogramValue(seconds: response))
    }

    /// Forgets row `row`: zero sums and totals, no responses.
    func clear(row: Int) {
        (sums + row * stations).update(repeating: StationSums(), count: stations)
        totals[row] = RowTotals()
        responses[row].free()
    }
}

/// Response values counted slot by slot in the percentile histogram's own layout (HDR,
/// three significant digits: `PercentileMethod`), with the exact smallest non-zero and
/// largest value. The engine's loop adds one to a slot; `histogram()` hands the
/// counts to the library's `Histogram` once, when percentiles are asked for, so that
/// they are the library's to the bit. `Histogram.record` for every job (its range
/// check, a copy-on-write check and its running totals) was 6% of the two-station
/// reference run's profile.
struct ResponseCounts {
    /// 2,048 sub-buckets a bucket (three significant digits), the upper 1,024 of each
    /// bucket after the first in slots of their own, lowest discernible value 1.
    static let halfMagnitude = 10
    static let subBucketMask: UInt64 = (1 << (halfMagnitude + 1)) - 1
    /// Slots up to the largest value recorded (`PercentileMethod.highestTrackable` - 1).
    static let length = slot(of: PercentileMethod.highestTrackable - 1) + 1

    let slots: UnsafeMutablePointer<UInt64>
    var total: UInt64 = 0
    var minNonZero = UInt64.max
    var max: UInt64 = 0

    init() {
        slots = .allocate(capacity: Self.length)
        slots.initialize(repeating: 0, count: Self.length)
    }

    /// The slot of `value`: the library's `countsIndexForValue` for this layout.
    @inline(__always)
    static func slot(of value: UInt64) -> Int {
        let bucket = 64 - (halfMagnitude + 1) - (value | subBucketMask).leadingZeroBitCount
        return ((bucket + 1) << halfMagnitude) + Int(value >> UInt64(bucket)) - (1 << halfMagnitude)
    }

    /// The lowest value of slot `slot` (the library's `valueFromIndex`).
    static func lowestValue(ofSlot slot: Int) -> UInt64 {
        var bucket = (slot >> halfMagnitude) - 1
        var subBucket = (slot & ((1 << halfMagnitude) - 1)) + (1 << halfMagnitude)
        if bucket < 0 {
            subBucket -= 1 << halfMagnitude
            bucket = 0
        }
        return UInt64(subBucket) << UInt64(bucket)
    }

    @inline(__always)
    mutating func record(_ value: UInt64) {
        slots[Self.slot(of: value)] += 1
        total += 1
        if value > max { max = value }
        if value != 0 && value < minNonZero { minNonZero = value }
    }

    /// The library's histogram of the same values: the same counts slot by slot, the
    /// same total and extremes (its percentiles clamp to them), so the same
    /// percentiles. The extremes' slots record the extremes themselves; any other
    /// slot's values are recorded as its lowest value, which falls in the same slot.
    func histogram() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(highestTrackableValue: PercentileMethod.highestTrackable,
                                          numberOfSignificantValueDigits: .three)
        guard total > 0 else { return histogram }
        let maxSlot = Self.slot(of: max)
        let minSlot = minNonZero == .max ? -1 : Self.slot(of: minNonZero)
        for slot in 0..<Self.length where slots[slot] > 0 {
            var count = slots[slot]
            var recorded = true
            if slot == maxSlot {
                recorded = histogram.record(max, count: 1) && recorded
                count -= 1
            }
            if count > 0 {
                let value = slot == minSlot ? minNonZero : (slot == maxSlot ? max : Self.lowestValue(ofSlot: slot))
                recorded = histogram.record(value, count: count) && recorded
            }
            precondition(recorded, "ResponseCounts: slot \(slot) is outside the histogram's range")
        }
        return histogram
    }

    /// The same counts in memory of their own.
    func copy() -> ResponseCounts {
        let twin = UnsafeMutablePointer<UInt64>.allocate(capacity: Self.length)
        twin.initialize(from: slots, count: Self.length)
        return ResponseCounts(slots: twin, total: total, minNonZero: minNonZero, max: max)
    }

    private init(slots: UnsafeMutablePointer<UInt64>, total: UInt64, minNonZero: UInt64, max: UInt64) {
        self.slots = slots
        self.total = total
        self.minNonZero = minNonZero
        self.max = max
    }

    /// Frees the slots; unusable afterwards.
    func free() { slots.deallocate() }
}
