// swift-tools-version: 6.0
// Duet: fast, accurate surrogates of serverless batch tandems.
//
// Dependencies point one way: C modules, thin wrappers, domain logic, the tool.
// System libraries (libzmq, OpenBLAS) are added as `.systemLibrary` targets with a
// module map and `shim.h` under Sources/C*/; `scripts/install-deps.sh` installs
// their Debian packages.
import PackageDescription

let package = Package(
    name: "duet",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "duet", targets: ["duet"]),
        .library(name: "Simulation", targets: ["Simulation"]),
        .library(name: "Surrogate", targets: ["Surrogate"]),
        .library(name: "Search", targets: ["Search"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Hummingbird's own event loops; `duet serve` runs Swift concurrency on them.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
    ],
    targets: [
        // One home for helpers every layer needs (SHA-256 and hex, SplitMix64); below everything else.
        .target(name: "DuetSupport", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The tandem model of MODEL.md: configuration, random streams, engine, statistics.
        .target(
            name: "Simulation",
            dependencies: [
                "DuetSupport",
                "HiddenMarkovKernels",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "CSV", package: "CSV.swift"),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // OpenBLAS through its CBLAS header (apt: libopenblas-dev).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // libzmq through zmq.h (apt: libzmq3-dev), and a thin, safe Swift layer over it.
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // The analytical baseline: a two-moment decomposition (Whitt's QNA, Allen-Cunneen).
        .target(name: "Analytic", dependencies: ["Simulation"]),
        // Designs (Sobol, Latin hypercube), sweep specs, search spaces and ASHA, and `duet plan`'s
        // grid and ranking over a surrogate (`PlanSearch`); pure logic.
        .target(name: "Search", dependencies: ["DuetSupport", "Simulation", "Surrogate"]),
        // One-row dense layers in C, in the widest vectors the CPU has (chosen at run time).
        .target(name: "DenseKernels"),
        // Baum-Welch's expectation step in C for fitting arrival traces, optimised in
        // every configuration (debug builds run the fit's tests).
        .target(name: "HiddenMarkovKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // Features, the MLP over BLAS, training, model files.
        .target(
            name: "Surrogate",
            dependencies: ["DuetSupport", "Simulation", "Analytic", "CBLAS", "DenseKernels"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // Wire messages and the coordinator's and worker's bookkeeping as pure state
        // machines: no sockets, no files, time injected.
        .target(name: "ClusterCore", dependencies: ["DuetSupport"]),
        // The generic task layer: the I/O shells that drive ClusterCore over ZeroMQ, the
        // SQLite journal, local clusters, the worker node. It knows no simulator and no
        // surrogate: task kinds are registered by the targets above.
        .target(
            name: "Cluster",
            dependencies: ["DuetSupport", "ClusterCore", "ZeroMQ", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "GRDBSQLite", package: "GRDB.swift"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        // Sweeps: the runner (in process, or through an executor), its sidecar, and on a
        // cluster the `sweep-point` task, the spec blob and the cluster executor.
        .target(name: "Sweeps", dependencies: ["DuetSupport", "ClusterCore", "Cluster", "Simulation", "Analytic", "Search"]),
        // Searches: the hyperparameter search runner (in process, or as `train-trial` tasks on
        // a cluster), its files (`trials.json`, `trials.csv`) and its report.
        .target(name: "Searches", dependencies: ["DuetSupport", "ClusterCore", "Cluster", "Simulation", "Search", "Surrogate"]),
        // Long work built on the rest: trace validation, the `duet run` pipeline's reports.
        .target(name: "Pipeline", dependencies: ["DuetSupport", "Simulation", "Analytic", "Search", "Surrogate", "Searches", "Sweeps"]),
        // `duet serve`: the surrogate over HTTP (Hummingbird), its routes, auth, limits and
        // Prometheus metrics; the command only parses flags and runs it.
        .target(
            name: "Serve",
            dependencies: [
                "DuetSupport", "Simulation", "Search", "Surrogate",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command-line tool: parses, validates and calls the libraries.
        .executableTarget(
            name: "duet",
            dependencies: [
                "DuetSupport", "Simulation", "Analytic", "Search", "Surrogate", "Cluster", "Sweeps", "Searches", "Pipeline", "Serve",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SimulationTests", dependencies: ["DuetSupport", "Simulation"]),
        .testTarget(name: "SearchTests", dependencies: ["DuetSupport", "Search"]),
        .testTarget(name: "AnalyticTests", dependencies: ["Analytic"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "ClusterCoreTests", dependencies: ["DuetSupport", "ClusterCore"]),
        .testTarget(name: "ClusterTests", dependencies: ["DuetSupport", "Cluster", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "SweepsTests", dependencies: ["Search", "Sweeps"]),
        .testTarget(name: "SearchesTests", dependencies: ["Cluster", "ClusterCore", "Search", "Searches", "Sweeps"]),
        .testTarget(name: "PipelineTests", dependencies: ["DuetSupport", "Pipeline", "Sweeps"]),
        .testTarget(name: "SurrogateTests", dependencies: ["Surrogate", "DenseKernels"]),
        .testTarget(
            name: "ServeTests",
            dependencies: ["Serve", "Search", "Surrogate", "Simulation",
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // Runs the built `duet` binary end to end.
        .testTarget(name: "duetTests", dependencies: ["duet"]),
    ]
)

// libFuzzer targets for the input readers (README, "Fuzzing"): only with DUET_FUZZ=1,
// as `make fuzz` builds them with -sanitize=fuzzer (libFuzzer's driver runs from the
// target's own entry point), so a plain build never sees them.
if Context.environment["DUET_FUZZ"] != nil {
    package.products.append(.executable(name: "duet-fuzz", targets: ["DuetFuzz"]))
    package.targets += [
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(
            name: "DuetFuzz",
            dependencies: ["CLibFuzzer", "ClusterCore", "Simulation", "Search", "Surrogate", "Searches"],
            path: "Fuzz/DuetFuzz"),
    ]
}
