// A coordinator and N workers on this machine, as child processes of the same `duet`
// binary (`duet sweep --local N`, `duet bench dispatch`). They talk over an `ipc://`
// socket in a private temporary directory (mode 0700), so no other user can reach
// them and no CURVE keys are needed. (`duet bench dispatch --curve` gives them a
// loopback tcp:// endpoint and keys instead, to measure what CURVE costs.)
//
// The children are told the parent's pid (`--parent-pid`) and exit by themselves when
// it goes away, even on SIGKILL; `stop()` asks them to leave (SIGTERM: workers give
// their tasks back, the coordinator commits), waits, and kills what is left.

import Foundation

public struct LocalClusterOptions: Sendable {
    /// The `duet` executable to start (this one: `LocalCluster.currentExecutable`).
    public var executable: String
    public var workers: Int
    public var slots = 1
    public var prefetch = 0
    public var journalPath: String
    /// Where the children's stderr goes (appended); nil discards it.
    public var logPath: String?
    public var heartbeatMilliseconds: Int?
    /// Extra arguments for the coordinator (`--batch 512`).
    public var coordinatorArguments: [String] = []
    /// An endpoint instead of the private ipc:// socket (a loopback tcp:// one; port 0:
    /// any free port, which the coordinator names when it listens), with the
    /// coordinator's and the workers' `--keys` directories for CURVE when set.
    public var endpoint: String?
    public var coordinatorKeys: String?
    public var workerKeys: String?

    public init(executable: String, workers: Int, journalPath: String, logPath: String?) {
        self.executable = executable
        self.workers = workers
        self.journalPath = journalPath
        self.logPath = logPath
    }
}

public struct LocalClusterError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

public final class LocalCluster: @unchecked Sendable {
    public let options: LocalClusterOptions
    /// The coordinator's endpoint (an ipc:// path unless the options give one; with
    /// port 0, the port it bound once `start()` returns).
    public var endpoint: String { lock.withLock { boundEndpoint } }
    private var boundEndpoint: String
    private let directory: String
    private let lock = NSLock()
    private var coordinator: Process?
    private var workers: [Process] = []
    private var stopped = false
    private var log: FileHandle?

    /// The running executable's path.
    public static var currentExecutable: String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    public init(options: LocalClusterOptions) throws {
        self.options = options
        let base = FileManager.default.temporaryDirectory.path
        directory = (base as NSString).appendingPathComponent("duet-local-\(getpid())-\(UUID().uuidString.prefix(8))")
        guard mkdir(directory, 0o700) == 0 else {
            throw LocalClusterError("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        boundEndpoint = options.endpoint ?? "ipc://" + (directory as NSString).appendingPathComponent("coordinator.sock")
    }

    deinit { stop(grace: 0) }

    public var coordinatorPID: Int32? { lock.withLock { coordinator?.processIdentifier } }
    public var workerPIDs: [Int32] { lock.withLock { workers.map(\.processIdentifier) } }

    /// Starts the coordinator, waits until it listens (up to `timeout` seconds), then
    /// starts the workers.
    public func start(timeout: Double = 30) throws {
        if let logPath = options.logPath {
            if !FileManager.default.fileExists(atPath: logPath) {
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            log = FileHandle(forWritingAtPath: logPath)
            _ = try? log?.seekToEnd()
        }
        let parent = String(getpid())
        var arguments = ["coordinator", "--bind", endpoint, "--journal", options.journalPath, "--parent-pid", parent]
        if let heartbeat = options.heartbeatMilliseconds { arguments += ["--heartbeat-ms", String(heartbeat)] }
        if let keys = options.coordinatorKeys { arguments += ["--keys", keys] }
        arguments += options.coordinatorArguments
        let stdout = Pipe()
        let coordinator = try spawn(arguments, stdout: stdout)
        lock.withLock { self.coordinator = coordinator }

        // Its first stdout line says it listens: "listening on ENDPOINT".
        let listening = DispatchSemaphore(value: 0)
        let reader = stdout.fileHandleForReading
        let firstLine = FirstLine()
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                buffer.append(data)
                if let newline = buffer.firstIndex(of: 0x0A) {
                    firstLine.set(String(decoding: buffer[..<newline], as: UTF8.self))
                    listening.signal()
                    // Keep draining (and discarding) so the child never blocks on a full pipe.
                    while !reader.availableData.isEmpty {}
                    return
                }
            }
            listening.signal()
        }
        func startWorkers() throws {
            for _ in 0..<options.workers {
                var arguments = ["worker", "--coordinator", endpoint, "--slots", String(options.slots), "--parent-pid", parent]
                if options.prefetch > 0 { arguments += ["--prefetch", String(options.prefetch)] }
                if let keys = options.workerKeys { arguments += ["--keys", keys] }
                let worker = try spawn(arguments, stdout: nil)
                lock.withLock { workers.append(worker) }
            }
        }
        // The workers start meanwhile (they retry until the coordinator listens): their
        // start-up overlaps the coordinator's. On port 0 they need the port it binds.
        let anyPort = endpoint.hasSuffix(":0")
        if !anyPort { try startWorkers() }
        let deadline = Date().addingTimeInterval(timeout)
        while listening.wait(timeout: .now() + 0.05) == .timedOut {
            if !coordinator.isRunning { break }
            if Date() > deadline {
                stop(grace: 0)
                throw LocalClusterError("the local coordinator did not start listening within \(Int(timeout)) s\(logHint)")
            }
        }
        if !coordinator.isRunning {
            coordinator.waitUntilExit()
            let status = coordinator.terminationStatus
            stop(grace: 0)
            throw LocalClusterError("the local coordinator exited with status \(status) while starting\(logHint)")
        }
        if anyPort {
            let prefix = "listening on "
            guard let line = firstLine.value, line.hasPrefix(prefix), let bound = line.dropFirst(prefix.count)
                .split(separator: " ").first
            else {
                stop(grace: 0)
                throw LocalClusterError("the local coordinator did not say which port it bound\(logHint)")
            }
            lock.withLock { boundEndpoint = String(bound) }
            try startWorkers()
        }
    }

    private var logHint: String { options.logPath.map { "; see \($0)" } ?? "" }

    /// Nil while every process runs; otherwise what went wrong (the coordinator exited,
    /// or every worker did).
    public func health() -> String? {
        lock.withLock {
            guard !stopped else { return nil }
            if let coordinator, !coordinator.isRunning {
                return "the local coordinator exited (status \(coordinator.terminationStatus))\(logHint)"
            }
            if !workers.isEmpty, workers.allSatisfy({ !$0.isRunning }) {
                return "every local worker exited (status \(workers.map { String($0.terminationStatus) }.joined(separator: ", ")))\(logHint)"
            }
            return nil
        }
    }

    /// Asks every child to leave (SIGTERM; the workers first, so that their goodbye
    /// reaches the coordinator and they need not linger), waits up to `grace` seconds
    /// for each group, kills what is left and reaps it. Idempotent; callable from any
    /// thread (a signal handler).
    public func stop(grace: Double = 5) {
        let (workers, coordinator) = lock.withLock { () -> ([Process], Process?) in
            if stopped { return ([], nil) }
            stopped = true
            return (self.workers, self.coordinator)
        }
        Self.terminate(workers, grace: grace)
        Self.terminate(coordinator.map { [$0] } ?? [], grace: grace)
        try? log?.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func terminate(_ processes: [Process], grace: Double) {
        let running = processes.filter(\.isRunning)
        for process in running { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline, running.contains(where: \.isRunning) { usleep(2_000) }
        for process in running where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for process in running { process.waitUntilExit() }
    }

    private func spawn(_ arguments: [String], stdout: Pipe?) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: options.executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout ?? FileHandle.nullDevice
        process.standardError = log ?? FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw LocalClusterError("cannot start \(options.executable) \(arguments.first ?? ""): \(error.localizedDescription)")
        }
        return process
    }

    /// Resident and peak resident memory of a process, in bytes (Linux `/proc`).
    public static func memory(pid: Int32) -> (resident: Int, peak: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Int? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return nil }
            let digits = line.split(separator: " ").compactMap { Int($0) }.first
            return digits.map { $0 * 1024 }
        }
        guard let resident = field("VmRSS"), let peak = field("VmHWM") else { return nil }
        return (resident, peak)
    }
}

/// The coordinator's first stdout line, handed from the thread that reads it.
private final class FirstLine: @unchecked Sendable {
    private let lock = NSLock()
    private var line: String?

    func set(_ text: String) { lock.withLock { line = text } }
    var value: String? { lock.withLock { line } }
}
