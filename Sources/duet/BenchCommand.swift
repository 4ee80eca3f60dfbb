import ArgumentParser
import Foundation
import Simulation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print their figures (build with -c release to measure).",
        subcommands: [BenchSimulate.self, BenchTrain.self, BenchDispatch.self]
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
    }

    @Option(help: "Scenario: r1 (the reference configuration) or batching (R1 with every mechanism on).")
    var scenario: Scenario = .r1
    @Option(help: "Jobs to simulate.")
    var jobs: Int = 20_000_000
    @Option(help: "Timed repetitions; the best is reported.")
    var repeats: Int = 3

    func run() throws {
        let config = Self.config(scenario)
        var best = Double.infinity
        var response = 0.0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            guard case .success(let metrics) = Simulator.runReplication(config, replication: 0, jobs: jobs) else {
                throw ValidationError("the benchmark configuration was unstable")
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            response = metrics[0]
        }
        #if DEBUG
        print("warning: debug build; measure with `swift build -c release`")
        #endif
        print("scenario:          \(scenario.rawValue)")
        print("jobs:              \(jobs)")
        print(String(format: "best time:         %.3f s (of %d)", best, max(1, repeats)))
        print(String(format: "jobs per second:   %.2f million", Double(jobs) / best / 1e6))
        print(String(format: "peak memory:       %.1f MiB (max resident set)", peakResidentMiB()))
        print(String(format: "meanResponse:      %.4f s", response))
    }

    static func config(_ scenario: Scenario) -> TandemConfig {
        let station = StationConfig(servers: 4, service: MomentSpec(mean: 0.8, scv: 1))
        var config = TandemConfig(arrivalRate: 0.2, arrivalScv: 1, batch: .deterministic(4),
                                  stations: [station, station], run: RunSettings(replications: 1, threads: 1))
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
