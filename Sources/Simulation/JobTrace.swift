// A record of every job and invocation of one replication: for small runs, tests
// and debugging (it grows with the run, unlike `MetricsAccumulator`).

/// One job's passage through one station.
public struct StationVisit: Sendable, Equatable {
    public var enter: Double
    public var release: Double
    public var dispatch: Double
    public var completion: Double
}

public struct InvocationRecord: Sendable, Equatable {
    /// 1 ... N.
    public var station: Int
    /// The jobs' numbers, in FCFS order.
    public var firstJob: Int
    public var jobs: Int
    public var dispatch: Double
    public var completion: Double
    public var cold: Bool
}

public struct JobTraceRecorder: TandemObserver {
    /// Indexed by job number; `visits[job][0]` is station 1.
    public private(set) var arrivals: [Double] = []
    public private(set) var visits: [[StationVisit?]] = []
    public private(set) var invocations: [InvocationRecord] = []
    /// Job numbers in the order they left the system.
    public private(set) var departures: [Int] = []

    public init() {}

    /// Plain values: nothing shared with a copy.
    public mutating func ownMemory() {}

    public mutating func stationJob(station: Int, job: Int, enter: Double, release: Double, dispatch: Double,
                                    completion: Double) {
        while visits.count <= job { visits.append([]); arrivals.append(.nan) }
        while visits[job].count <= station { visits[job].append(nil) }
        visits[job][station] = StationVisit(enter: enter, release: release, dispatch: dispatch, completion: completion)
        if station == 0 { arrivals[job] = enter }
    }

    public mutating func invocation(station: Int, firstJob: Int, jobs: Int, dispatch: Double, completion: Double,
                                    cold: Bool, service: Double) {
        invocations.append(InvocationRecord(station: station + 1, firstJob: firstJob, jobs: jobs, dispatch: dispatch,
                                            completion: completion, cold: cold))
    }

    public mutating func jobCompleted(job: Int, arrival: Double, completion: Double) {
        departures.append(job)
    }

    /// The invocations of one station (1 ... N), in dispatch order.
    public func invocations(atStation station: Int) -> [InvocationRecord] {
        invocations.filter { $0.station == station }
    }
}

extension Simulator {
    /// Simulates one replication of `jobs` jobs and records everything.
    public static func trace(_ config: TandemConfig, jobs: Int, replication: Int = 0)
        -> (outcome: ReplicationOutcome, trace: JobTraceRecorder)
    {
        trace(config, jobs: jobs, replication: replication, splitSlots: nil)
    }

    /// The same with the stations' slot search chosen (`TandemEngine.splitSlots`), and
    /// maxBatch-1 stations' jobs through their buffers or not (`bufferEveryJob`).
    static func trace(_ config: TandemConfig, jobs: Int, replication: Int = 0, splitSlots: Bool?,
                      bufferEveryJob: Bool = false) -> (outcome: ReplicationOutcome, trace: JobTraceRecorder)
    {
        var recorder = JobTraceRecorder()
        let engine = TandemEngine(config: config, replication: replication, splitSlots: splitSlots,
                                  bufferEveryJob: bufferEveryJob)
        let result = engine.run(jobs: jobs, firstKeptJob: 0, observer: &recorder)
        return (result.outcome, recorder)
    }
}
