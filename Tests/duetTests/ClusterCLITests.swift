// The cluster end to end with real processes of the built binary on loopback and
// ipc://: local sweeps against the in-process one, workers and the coordinator killed
// with SIGKILL mid-run, garbage on the wire, the CURVE allow-list, and `duet status`.
// Every test bounds its waits and kills its children on the way out.

import Foundation
import Testing
import ZeroMQ

/// A child `duet` process whose stdout and stderr go to files.
final class DuetProcess: @unchecked Sendable {
    let process = Process()
    let arguments: [String]
    private let outURL: URL
    private let errURL: URL

    init(_ arguments: [String], in directory: URL, name: String) throws {
        let binary = try #require(DuetBinary.url, "the duet executable was not found next to the test bundle")
        self.arguments = arguments
        outURL = directory.appendingPathComponent("\(name).out")
        errURL = directory.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = DuetBinary.packageRoot
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }
    var summary: String { "duet \(arguments.joined(separator: " "))\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }

    func signal(_ number: Int32) { if process.isRunning { kill(pid, number) } }

    /// The exit status, or nil if it still runs after `timeout` seconds.
    func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL if still running, and reap.
    func kill9() {
        signal(SIGKILL)
        process.waitUntilExit()
    }
}

/// True once `condition` holds, polling every 50 ms for up to `timeout` seconds.
func eventually(_ timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

@Suite("Cluster CLI", .serialized)
struct ClusterCLITests {
    let scratch: URL

    init() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("duet-cluster-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    func cleanUp() { try? FileManager.default.removeItem(at: scratch) }

    /// examples/small-sweep.yaml with `jobs` per replication (its base is inline, so the
    /// copy works anywhere).
    func spec(jobs: Int) throws -> String {
        let text = try String(contentsOf: DuetBinary.packageRoot.appendingPathComponent("examples/small-sweep.yaml"), encoding: .utf8)
        let path = self.path("sweep-\(jobs).yaml")
        try text.replacingOccurrences(of: "jobs: 5000,", with: "jobs: \(jobs),").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The in-process sweep of `spec`'s first `points` points.
    func reference(_ spec: String, points: Int) throws -> Data {
        let out = path("reference-\(UUID().uuidString.prefix(6)).csv")
        let run = try DuetBinary.run(["sweep", spec, "--points", String(points), "--out", out])
        #expect(run.status == 0, "\(run.summary)")
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    /// Starts a coordinator and returns it with its endpoint (from its first stdout line).
    ///
    /// Heartbeats every 250 ms with a liveness of 20 intervals (5 s, both ways: the
    /// workers take it from WELCOME), unless `extra` sets `--liveness`. On a loaded
    /// machine a process can go unscheduled for most of a second; with the default 3
    /// intervals (0.75 s) such a pause has a live worker declared lost, and every loss
    /// counts as a failed attempt even when the worker comes back still holding the
    /// task, so three pauses fail a task outright (a search trial missing from
    /// trials.json, a sweep point failed, an extra lost worker in the counters). A
    /// worker killed for good is still declared lost, 5 s after its last heartbeat.
    func coordinator(bind: String = "tcp://127.0.0.1:0", journal: String, extra: [String] = [], name: String = "coordinator")
        throws -> (DuetProcess, String)
    {
        let liveness = extra.contains("--liveness") ? [] : ["--liveness", "20"]
        let process = try DuetProcess(
            ["coordinator", "--bind", bind, "--journal", journal, "--heartbeat-ms", "250"] + liveness + extra, in: scratch,
            name: name)
        var endpoint: String?
        _ = eventually(15) {
            if let line = process.stdout.split(separator: "\n").first, line.hasPrefix("listening on ") {
                endpoint = String(line.dropFirst("listening on ".count))
            }
            return endpoint != nil || !process.process.isRunning
        }
        guard let endpoint else {
            process.kill9()
            throw CoordinatorDidNotStart(summary: process.summary)
        }
        return (process, endpoint)
    }

    struct CoordinatorDidNotStart: Error, CustomStringConvertible {
        var summary: String
        var description: String { "the coordinator did not print its endpoint:\n\(summary)" }
    }

    func worker(_ endpoint: String, name: String, extra: [String] = []) throws -> DuetProcess {
        try DuetProcess(["worker", "--coordinator", endpoint, "--slots", "1"] + extra, in: scratch, name: name)
    }

    /// `duet status --json` as a dictionary (nil when it fails).
    func status(_ endpoint: String, extra: [String] = []) throws -> [String: Any]? {
        let run = try DuetBinary.run(["status", "--coordinator", endpoint, "--json"] + extra)
        guard run.status == 0 else { return nil }
        return try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
    }

    static func runs(_ status: [String: Any]?) -> [[String: Any]] { status?["runs"] as? [[String: Any]] ?? [] }
    static func done(_ status: [String: Any]?) -> Int {
        runs(status).reduce(0) { $0 + (($1["done"] as? NSNumber)?.intValue ?? 0) }
    }
    /// Tasks a worker holds right now, over every run.
    static func leased(_ status: [String: Any]?) -> Int {
        runs(status).reduce(0) { $0 + (($1["leased"] as? NSNumber)?.intValue ?? 0) }
    }

    // MARK: Local sweeps

    @Test("sweep --local 2 writes the same bytes as the in-process sweep, and cleans up")
    func localSweepMatchesInProcess() throws {
        defer { cleanUp() }
        let spec = DuetBinary.packageRoot.appendingPathComponent("examples/small-sweep.yaml").path
        let expected = try reference(spec, points: 10)
        let out = path("local.csv")
        let run = try DuetBinary.run(["sweep", spec, "--points", "10", "--out", out, "--local", "2"])
        #expect(run.status == 0, "\(run.summary)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == expected)
        #expect(run.stdout.contains("2 local workers"), "\(run.summary)")
        for leftover in [".journal", ".cluster.log"] {
            #expect(!FileManager.default.fileExists(atPath: out + leftover), "\(out + leftover) left behind")
        }
        // Run again: nothing left to do, the file is unchanged.
        let again = try DuetBinary.run(["sweep", spec, "--points", "10", "--out", out, "--local", "2"])
        #expect(again.status == 0, "\(again.summary)")
        #expect(again.stderr.contains("10 of 10 points already done"), "\(again.summary)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == expected)
    }

    // MARK: Failures

    @Test("a worker killed with SIGKILL mid-task: the run completes, each row exactly once")
    func workerKilledMidTask() throws {
        defer { cleanUp() }
        // Points of about 1.5 s each (debug build, idle machine): long enough that the
        // status polls below see the victim holding one. With 50,000 jobs a point took
        // 0.2 s, and on an idle machine the polls could miss every one of them.
        let spec = try spec(jobs: 400_000)
        let points = 8
        let expected = try reference(spec, points: points)
        let journal = path("journal.sqlite")
        let (coordinator, endpoint) = try coordinator(journal: journal)
        defer { coordinator.kill9() }
        let victim = try worker(endpoint, name: "victim")
        defer { victim.kill9() }
        let survivor = try worker(endpoint, name: "survivor")
        defer { survivor.kill9() }
        let out = path("out.csv")
        let sweep = try DuetProcess(["sweep", spec, "--points", String(points), "--out", out, "--coordinator", endpoint],
                                    in: scratch, name: "sweep")
        defer { sweep.kill9() }

        // Kill the victim while it holds a task, after a few points are done.
        let holding = try eventually(40) {
            let status = try self.status(endpoint)
            let workers = status?["workers"] as? [[String: Any]] ?? []
            let victimBusy = workers.contains {
                ($0["pid"] as? NSNumber)?.int32Value == victim.pid && !(($0["running"] as? [Any]) ?? []).isEmpty
            }
            return victimBusy && Self.done(status) >= 2
        }
        #expect(holding, "the victim never held a task:\n\(victim.summary)")
        victim.kill9()

        // Generous: at a load average of 15 on 2 cores a point took 12-25 s, and the
        // survivor alone ran the last six in about 75 s. The wait ends when the sweep does.
        #expect(sweep.wait(timeout: 300) == 0, "\(sweep.summary)\n\(coordinator.summary)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == expected, "\(sweep.summary)")
        let status = try #require(try self.status(endpoint))
        let counters = try #require(status["counters"] as? [String: Any])
        #expect((counters["lostWorkers"] as? NSNumber)?.intValue == 1, "\(status)")
        #expect((counters["results"] as? NSNumber)?.intValue == points, "\(status)")
        #expect(Self.done(status) == points)
    }

    @Test("the coordinator killed with SIGKILL and restarted on its journal: the run completes, no duplicate rows")
    func coordinatorKilledAndRestarted() throws {
        defer { cleanUp() }
        let spec = try spec(jobs: 50000)
        let points = 8
        let expected = try reference(spec, points: points)
        let journal = path("journal.sqlite")
        let bind = "ipc://" + path("coordinator.sock")
        var (coordinator, endpoint) = try coordinator(bind: bind, journal: journal)
        defer { coordinator.kill9() }
        let first = try worker(endpoint, name: "worker1")
        defer { first.kill9() }
        let second = try worker(endpoint, name: "worker2")
        defer { second.kill9() }
        let out = path("out.csv")
        let sweep = try DuetProcess(["sweep", spec, "--points", String(points), "--out", out, "--coordinator", endpoint],
                                    in: scratch, name: "sweep")
        defer { sweep.kill9() }

        // Kill it mid-run: some points done, and (at most half done) surely some not, so
        // the restarted coordinator has a run to recover even on a loaded machine.
        let started = try eventually(40) { (2...points / 2).contains(Self.done(try self.status(endpoint))) }
        #expect(started, "\(coordinator.summary)")
        coordinator.kill9()
        usleep(300_000)
        (coordinator, endpoint) = try self.coordinator(bind: bind, journal: journal, name: "coordinator2")

        // Generous: at a load average of 15 on 2 cores a point took 12-25 s, and the
        // survivor alone ran the last six in about 75 s. The wait ends when the sweep does.
        #expect(sweep.wait(timeout: 300) == 0, "\(sweep.summary)\n\(coordinator.summary)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == expected, "\(sweep.summary)")
        #expect(coordinator.stderr.contains("recovered"), "\(coordinator.summary)")
        // The journal holds each result once.
        let fromJournal = try DuetBinary.run(["status", "--journal", journal, "--json"])
        #expect(fromJournal.status == 0, "\(fromJournal.summary)")
        let status = try #require(try JSONSerialization.jsonObject(with: Data(fromJournal.stdout.utf8)) as? [String: Any])
        #expect(status["source"] as? String == "journal")
        let run = try #require(Self.runs(status).first)
        #expect((run["done"] as? NSNumber)?.intValue == points, "\(status)")
        #expect(run["phase"] as? String == "completed", "\(status)")
    }

    @Test("garbage and truncated frames are dropped and counted; the coordinator keeps serving")
    func garbageFrames() throws {
        defer { cleanUp() }
        let (coordinator, endpoint) = try coordinator(journal: path("journal.sqlite"))
        defer { coordinator.kill9() }
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        try socket.connect(endpoint)
        func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
        let garbage: [[[UInt8]]] = [
            [bytes("hello")],  // not a Duet envelope
            [bytes("DUET/1"), bytes("RESULT")],  // truncated: no header
            [bytes("DUET/1"), bytes("RESULT"), bytes("{\"run\": 1, \"ind")],  // truncated JSON
            [bytes("DUET/1"), bytes("HELLO"), bytes("{\"slots\": \"many\"}")],  // malformed field
            [bytes("DUET/2"), bytes("HELLO"), bytes("{}")],  // another version
            [bytes("DUET/1"), bytes("FROBNICATE"), bytes("{}")],  // unknown type
            [bytes("DUET/1"), bytes("hello!"), bytes("{}")],  // bad type
            [(0..<64).map { UInt8($0 * 37 % 256) }, [0xFF, 0x00], [], [1, 2, 3], [4]],  // binary noise, 5 frames
            [bytes("DUET/1"), bytes("STATUS"), bytes("[1,2")],  // a client type, malformed
            [bytes("DUET/1"), bytes("HEARTBEAT"), [UInt8](repeating: 0x20, count: (1 << 20) + 1)],  // header over 1 MiB
        ]
        for message in garbage { try socket.send(message) }

        let counted = try eventually(10) {
            let status = try self.status(endpoint)
            let dropped = (status?["counters"] as? [String: Any])?["dropped"] as? [String: Any] ?? [:]
            return dropped.values.reduce(0) { $0 + (($1 as? NSNumber)?.intValue ?? 0) } == garbage.count
        }
        #expect(counted, "\(coordinator.summary)")
        let status = try #require(try self.status(endpoint))
        let dropped = try #require((status["counters"] as? [String: Any])?["dropped"] as? [String: Any])
        for kind in ["badEnvelope", "malformed", "unknownVersion", "unknownType", "oversized"] {
            #expect(((dropped[kind] as? NSNumber)?.intValue ?? 0) > 0, "\(kind) in \(dropped)")
        }
        // Still serving: a worker joins and runs a small sweep.
        let worker = try worker(endpoint, name: "worker")
        defer { worker.kill9() }
        let spec = DuetBinary.packageRoot.appendingPathComponent("examples/small-sweep.yaml").path
        let run = try DuetBinary.run(["sweep", spec, "--points", "3", "--out", path("out.csv"), "--coordinator", endpoint])
        #expect(run.status == 0, "\(run.summary)\n\(coordinator.summary)")
        #expect(coordinator.stderr.contains("dropped a message"), "\(coordinator.summary)")
        #expect(coordinator.process.isRunning)
        let human = try DuetBinary.run(["status", "--coordinator", endpoint])
        #expect(human.stdout.contains("\(garbage.count) dropped"), "\(human.summary)")
    }

    // MARK: Security

    @Test("a worker whose key is not on the allow-list gets no task; an allowed one does")
    func allowList() throws {
        defer { cleanUp() }
        func keys(_ directory: String, _ name: String) throws {
            let run = try DuetBinary.run(["keys", "generate", "--out", path(directory), "--name", name])
            #expect(run.status == 0, "\(run.summary)")
        }
        try keys("coordinator", "coordinator")
        try keys("worker", "worker")
        try keys("intruder", "intruder")
        try keys("client", "client")
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: path("coordinator/allowed"), withIntermediateDirectories: true)
        for (from, to) in [("worker/worker.pub", "coordinator/allowed/worker.pub"),
                           ("client/client.pub", "coordinator/allowed/client.pub"),
                           ("coordinator/coordinator.pub", "worker/coordinator.pub"),
                           ("coordinator/coordinator.pub", "intruder/coordinator.pub"),
                           ("coordinator/coordinator.pub", "client/coordinator.pub")] {
            try fileManager.copyItem(atPath: path(from), toPath: path(to))
        }
        var info = stat()
        #expect(stat(path("worker/worker.key"), &info) == 0 && info.st_mode & 0o777 == 0o600)

        let (coordinator, endpoint) = try coordinator(journal: path("journal.sqlite"), extra: ["--keys", path("coordinator")])
        defer { coordinator.kill9() }
        let intruder = try worker(endpoint, name: "intruder", extra: ["--keys", path("intruder")])
        defer { intruder.kill9() }
        let spec = DuetBinary.packageRoot.appendingPathComponent("examples/small-sweep.yaml").path
        let out = path("out.csv")
        let sweep = try DuetProcess(
            ["sweep", spec, "--points", "4", "--out", out, "--coordinator", endpoint, "--keys", path("client")],
            in: scratch, name: "sweep")
        defer { sweep.kill9() }
        let clientKeys = ["--keys", path("client")]

        let submitted = try eventually(15) { !Self.runs(try self.status(endpoint, extra: clientKeys)).isEmpty }
        #expect(submitted, "\(sweep.summary)\n\(coordinator.summary)")
        #expect(try eventually(5) { intruder.stderr.contains("refused") }, "\(intruder.summary)")
        let before = try self.status(endpoint, extra: clientKeys)
        #expect((before?["workers"] as? [Any])?.isEmpty == true, "\(String(describing: before))")
        #expect(Self.done(before) == 0)
        #expect(!intruder.stderr.contains("connected ["), "\(intruder.summary)")

        let allowed = try worker(endpoint, name: "allowed", extra: ["--keys", path("worker")])
        defer { allowed.kill9() }
        #expect(sweep.wait(timeout: 40) == 0, "\(sweep.summary)\n\(coordinator.summary)\n\(allowed.summary)")
        let after = try #require(try self.status(endpoint, extra: clientKeys))
        let workers = after["workers"] as? [[String: Any]] ?? []
        #expect(workers.map { ($0["pid"] as? NSNumber)?.int32Value } == [allowed.pid], "\(after)")
        #expect(!intruder.stderr.contains("connected ["), "\(intruder.summary)")
        #expect(coordinator.stderr.contains("not on the allow-list"), "\(coordinator.summary)")
        // Without keys, the client cannot reach the CURVE endpoint.
        let plain = try DuetBinary.run(["status", "--coordinator", endpoint, "--timeout", "1"])
        #expect(plain.status != 0)
    }

    @Test("without keys, non-loopback endpoints are refused unless --insecure")
    func plainEndpointsRefused() throws {
        defer { cleanUp() }
        let coordinator = try DuetBinary.run(["coordinator", "--bind", "tcp://*:0", "--journal", path("j.sqlite")])
        #expect(coordinator.status != 0)
        #expect(coordinator.stderr.contains("refusing to listen on tcp://*:0 without CURVE keys"), "\(coordinator.summary)")
        #expect(coordinator.stderr.contains("--insecure"), "\(coordinator.summary)")
        let worker = try DuetBinary.run(["worker", "--coordinator", "tcp://10.200.0.1:5555"])
        #expect(worker.status != 0)
        #expect(worker.stderr.contains("refusing to connect to tcp://10.200.0.1:5555"), "\(worker.summary)")
        // The same endpoint from DUET_COORDINATOR is refused too, and the message says where it came from.
        let fromEnvironment = try DuetBinary.run(["worker"], environment: ["DUET_COORDINATOR": "tcp://10.200.0.1:5555"])
        #expect(fromEnvironment.status == 64, "\(fromEnvironment.summary)")
        #expect(fromEnvironment.stderr.contains("DUET_COORDINATOR: refusing to connect to tcp://10.200.0.1:5555"),
                "\(fromEnvironment.summary)")
        let sweep = try DuetBinary.run(["sweep", "examples/small-sweep.yaml", "--out", path("x.csv"), "--coordinator",
                                        "tcp://192.0.2.1:5555"])
        #expect(sweep.status != 0)
        #expect(sweep.stderr.contains("refusing to connect"), "\(sweep.summary)")
    }

    @Test("without keys, the coordinator and workers warn at every start; --insecure on a network gets a banner")
    func plainRunsWarn() throws {
        defer { cleanUp() }
        let (coordinator, endpoint) = try coordinator(journal: path("j.sqlite"))
        defer { coordinator.kill9() }
        let worker = try worker(endpoint, name: "worker")
        defer { worker.kill9() }
        for process in [coordinator, worker] {
            #expect(eventually(15) { process.stderr.contains("unauthenticated and unencrypted") }, "\(process.summary)")
            let line = process.stderr.split(separator: "\n").first { $0.contains("unauthenticated and unencrypted") }
            #expect(line?.contains(" warning ") == true, "\(process.summary)")
        }
        // Nothing listens at this documentation address; the worker keeps retrying.
        let remote = try self.worker("tcp://192.0.2.1:5555", name: "remote", extra: ["--insecure"])
        defer { remote.kill9() }
        #expect(eventually(15) { remote.stderr.contains("UNAUTHENTICATED and UNENCRYPTED") }, "\(remote.summary)")
        #expect(remote.stderr.contains("INSECURE: connecting to tcp://192.0.2.1:5555 WITHOUT CURVE"), "\(remote.summary)")
    }

    // MARK: Status

    @Test("status --json has the documented shape; a silent coordinator is reported clearly")
    func statusShape() throws {
        defer { cleanUp() }
        let journal = path("journal.sqlite")
        let (coordinator, endpoint) = try coordinator(journal: journal)
        defer { coordinator.kill9() }
        let worker = try worker(endpoint, name: "worker")
        defer { worker.kill9() }
        #expect(try eventually(10) { ((try self.status(endpoint))?["workers"] as? [Any])?.count == 1 })
        let spec = DuetBinary.packageRoot.appendingPathComponent("examples/small-sweep.yaml").path
        let sweep = try DuetBinary.run(["sweep", spec, "--points", "2", "--out", path("out.csv"), "--coordinator", endpoint])
        #expect(sweep.status == 0, "\(sweep.summary)")

        let status = try #require(try self.status(endpoint))
        #expect(status["source"] as? String == "coordinator")
        for key in ["time", "throughput", "window"] { #expect(status[key] is NSNumber, "\(key)") }
        #expect(status.keys.contains("eta"))
        let workers = try #require(status["workers"] as? [[String: Any]])
        #expect(workers.count == 1)
        for key in ["id", "host", "pid", "version", "slots", "prefetch", "running", "lastHeartbeat", "connectedAt"] {
            #expect(workers[0][key] != nil, "workers[0].\(key)")
        }
        // The worker announces the version `duet --version` prints (one constant).
        let version = try DuetBinary.run(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(workers[0]["version"] as? String == version)
        let run = try #require(Self.runs(status).first)
        for key in ["id", "kind", "label", "phase", "taskCount", "queued", "leased", "done", "failed", "throughput",
                    "eta", "createdAt", "finishedAt"] {
            #expect(run.keys.contains(key), "runs[0].\(key)")
        }
        #expect(run["kind"] as? String == "sweep-point")
        #expect(run["phase"] as? String == "completed")
        #expect((run["done"] as? NSNumber)?.intValue == 2)
        let counters = try #require(status["counters"] as? [String: Any])
        for key in ["dropped", "duplicates", "stale", "lostWorkers", "lostAssignments", "retries", "results", "failures",
                    "messagesIn"] {
            #expect(counters[key] != nil, "counters.\(key)")
        }
        #expect(status["recentFailures"] is [Any])

        // --connect, the old spelling of --coordinator, still works and says so.
        let human = try DuetBinary.run(["status", "--connect", endpoint])
        #expect(human.status == 0, "\(human.summary)")
        #expect(human.stderr.contains("--connect is deprecated; use --coordinator"), "\(human.summary)")
        for text in ["1 worker", "sweep-point", "completed", "2/2 100%", "WORKER", "counters:"] {
            #expect(human.stdout.contains(text), "missing \(text):\n\(human.stdout)")
        }

        let silent = "ipc://" + path("nobody.sock")
        let started = Date()
        let noAnswer = try DuetBinary.run(["status", "--coordinator", silent])
        #expect(noAnswer.status != 0)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(noAnswer.stderr.contains("does not answer"), "\(noAnswer.summary)")
        #expect(noAnswer.stderr.contains("duet status --journal FILE"), "\(noAnswer.summary)")

        // No flag: DUET_COORDINATOR names the coordinator (in the child's environment only).
        let fromEnvironment = try DuetBinary.run(["status", "--json"], environment: ["DUET_COORDINATOR": endpoint])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.summary)")
        let environmentStatus = try JSONSerialization.jsonObject(with: Data(fromEnvironment.stdout.utf8)) as? [String: Any]
        #expect((environmentStatus?["workers"] as? [Any])?.count == 1, "\(fromEnvironment.summary)")

        let fromJournal = try DuetBinary.run(["status", "--journal", journal])
        #expect(fromJournal.status == 0, "\(fromJournal.summary)")
        #expect(fromJournal.stdout.contains("journal \(journal)"), "\(fromJournal.summary)")
    }
}
