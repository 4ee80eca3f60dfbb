// Where the metrics keep what the engine's loop updates for every job: per-station
// sums and response lists in memory of their own, written through pointers.
//
// Kept in arrays, every update inside the loop paid a copy-on-write check (a call
// into the runtime) per job and station, and the check made the compiler reload
// what it had in registers: about 5% of the bench scenarios' time and 8 to 11% of a
// sweep's with a precision target (README, "Performance"). The observers share a `MeasurementMemory` between copies until
// one takes memory of its own (`ownMemory`): the engine's pass does so when it
// starts and when it is copied (`TandemObserver.ownMemory`), and every change made
// outside the loop (merging, forgetting) does so first. So observers keep value
// semantics where anyone can see them, without a check per job.

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

/// `rows` rows of measurements: per-station sums (`stations` each), totals and a
/// response list. A replication's accumulator has one row; a continued replication
/// one per stretch.
final class MeasurementMemory: @unchecked Sendable {
    let rows: Int
    let stations: Int
    /// Row r's sums for station k at `sums[r * stations + k]`.
    let sums: UnsafeMutablePointer<StationSums>
    let totals: UnsafeMutablePointer<RowTotals>
    let responses: UnsafeMutablePointer<ResponseList>

    init(rows: Int, stations: Int) {
        self.rows = rows
        self.stations = stations
        sums = .allocate(capacity: rows * stations)
        sums.initialize(repeating: StationSums(), count: rows * stations)
        totals = .allocate(capacity: rows)
        totals.initialize(repeating: RowTotals(), count: rows)
        responses = .allocate(capacity: rows)
        responses.initialize(repeating: ResponseList(), count: rows)
    }

    deinit {
        for row in 0..<rows { responses[row].free() }
        sums.deallocate()
        totals.deallocate()
        responses.deallocate()
    }

    /// The same sums and responses in memory of their own.
    func copy() -> MeasurementMemory {
        let twin = MeasurementMemory(rows: rows, stations: stations)
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
