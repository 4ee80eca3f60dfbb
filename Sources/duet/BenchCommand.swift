import ArgumentParser
import DuetSupport
import Foundation
import Simulation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print their figures (build with -c release to measure).",
        subcommands: [BenchSimulate.self, BenchTrain.self, BenchPredict.self, BenchDispatch.self]
    )
}

struct BenchSimulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Jobs per second and peak memory of one replication on one thread."
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        /// Reference configuration R1: rate 0.2 batches/s (scv 1), batches of 4,
        /// 4 servers per station, service mean 0.8 s (scv 1), no batching, setup or cold starts.
        case r1
        /// R1 with batching, setup, cold starts and keep-alive at both stations.
        case batching
        /// R1's station five times in a chain, timed beside R1: issue 14 asks for at
        /// least 0.8 x R1's jobs x stations per second.
        case chain5
    }

    @Option(help: "Scenario: r1 (the reference configuration), batching (R1 with every mechanism on) or chain5 (five R1 stations in a chain, timed beside r1).")
    var scenario: Scenario = .r1
    @Option(help: "Jobs to simulate.")
    var jobs: Int = 20_000_000
    @Option(help: "Timed repetitions; the best is reported.")
    var repeats: Int = 3
    @Option(help: "Servers at every station instead of the scenario's 4, each station's load kept (its service time scaled): how the search for a free instance grows with the servers.")
    var servers: Int?
    @OptionGroup var summary: JSONSummaryOption

    func validate() throws {
        if jobs < 10 { throw ValidationError("--jobs must be at least 10") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
        if let servers, servers < 1 { throw ValidationError("--servers must be at least 1") }
    }

    /// A scenario's configuration, with `--servers` applied.
    func benchConfig(_ scenario: Scenario) -> TandemConfig {
        var config = Self.config(scenario)
        if let servers {
            for k in config.stations.indices {
                let scale = Double(servers) / Double(config.stations[k].servers)
                config.stations[k].servers = servers
                config.stations[k].service.mean *= scale
            }
        }
        return config
    }

    func run() throws {
        let output = summary.output
        let config = benchConfig(scenario)
        let (best, bestCPU, response) = try Self.time(config, jobs: jobs, repeats: repeats)
        let stations = config.stations.count
        #if DEBUG
        log("warning: debug build; measure with `swift build -c release`")
        #endif
        let jobStations = Double(jobs * stations) / best
        let peak = peakResidentMiB()
        output.line("scenario:          \(scenario.rawValue) (\(stations) stations, \(config.stations[0].servers) servers each)")
        output.line("jobs:              \(jobs)")
        output.line(String(format: "best time:         %.3f s (of %d)", best, repeats))
        output.line(String(format: "jobs per second:   %.2f million", Double(jobs) / best / 1e6))
        // This thread's CPU time: what a busy machine disturbs least.
        output.line(String(format: "jobs per CPU second: %.2f million", Double(jobs) / bestCPU / 1e6))
        output.line(String(format: "jobs x stations:   %.2f million per second", jobStations / 1e6))
        output.line(String(format: "peak memory:       %.1f MiB (max resident set)", peak))
        output.line(String(format: "meanResponse:      %.4f s", response))
        var object: [(String, JSON)] = [
            ("scenario", .string(scenario.rawValue)), ("stations", .integer(stations)),
            ("servers", .integer(config.stations[0].servers)), ("jobs", .integer(jobs)),
            ("repeats", .integer(repeats)), ("bestSeconds", .number(best)), ("bestCPUSeconds", .number(bestCPU)),
            ("jobsPerSecond", .number(Double(jobs) / best)), ("jobsPerCPUSecond", .number(Double(jobs) / bestCPU)),
            ("jobStationsPerSecond", .number(jobStations)), ("peakResidentMiB", .number(peak)),
            ("meanResponse", .number(response)),
        ]
        if scenario == .chain5 {
            let (r1Best, _, _) = try Self.time(benchConfig(.r1), jobs: jobs, repeats: repeats)
            let r1JobStations = Double(jobs * 2) / r1Best
            output.line(String(format: "r1 jobs x stations: %.2f million per second (best of %d)", r1JobStations / 1e6,
                               repeats))
            output.line(String(format: "chain5 / r1:       %.2f (target >= 0.8)", jobStations / r1JobStations))
            object += [("r1JobStationsPerSecond", .number(r1JobStations)),
                       ("chain5OverR1", .number(jobStations / r1JobStations))]
        }
        output.object(.object(object))
    }

    /// The best wall-clock and thread CPU times of `repeats` replications, and the
    /// last one's mean response.
    static func time(_ config: TandemConfig, jobs: Int, repeats: Int) throws
        -> (seconds: Double, cpuSeconds: Double, response: Double)
    {
        var best = Double.infinity
        var bestCPU = Double.infinity
        var response = 0.0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let cpuStart = threadCPUSeconds()
            guard case .success(let metrics) = Simulator.runReplication(config, replication: 0, jobs: jobs) else {
                throw ValidationError("the benchmark configuration was unstable")
            }
            bestCPU = min(bestCPU, threadCPUSeconds() - cpuStart)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            response = metrics[0]
        }
        return (best, bestCPU, response)
    }

    /// CPU time of the calling thread, seconds.
    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    static func config(_ scenario: Scenario) -> TandemConfig {
        let station = StationConfig(servers: 4, service: MomentSpec(mean: 0.8, scv: 1))
        var config = TandemConfig(arrivalRate: 0.2, arrivalScv: 1, batch: .deterministic(4),
                                  stations: [station, station], run: RunSettings(replications: 1, threads: 1))
        if scenario == .chain5 { config.stations = Array(repeating: station, count: 5) }
        if scenario == .batching {
            for i in 0..<2 {
                config.stations[i].maxBatch = 4
                config.stations[i].timeout = 0.5
                config.stations[i].setup = 0.05
                config.stations[i].coldStart = MomentSpec(mean: 1.0, scv: 1)
                config.stations[i].keepAlive = 10
            }
        }
        return config
    }
}

/// Peak resident set size of this process, from getrusage (KiB on Linux).
func peakResidentMiB() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
