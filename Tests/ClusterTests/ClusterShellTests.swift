// The Cluster shells in one process: key files and endpoint rules, and a coordinator
// and a worker on threads talking over ipc:// in a temporary directory.

import ClusterCore
import Foundation
import Logging
import Testing

@testable import Cluster

private func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("duet-shell-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("Cluster shells")
struct ClusterShellTests {
    @Test(
        "plain endpoints: loopback and ipc only",
        arguments: [
            ("ipc:///tmp/x.sock", true), ("inproc://a", true), ("tcp://127.0.0.1:5555", true), ("tcp://127.9.8.7:1", true),
            ("tcp://localhost:5555", true), ("tcp://[::1]:5555", true), ("tcp://*:5555", false), ("tcp://0.0.0.0:5555", false),
            ("tcp://10.200.0.1:5555", false), ("tcp://127.0.0.1.example.org:1", false), ("tcp://eth0:5555", false),
            ("tcp://10.0.0.1;127.0.0.1:5555", false), ("tcp://127.0.0.1;127.0.0.1:5555", true), ("udp://127.0.0.1:1", false),
        ])
    func endpointRules(_ endpoint: String, _ local: Bool) {
        #expect(EndpointRules.isLocal(endpoint) == local)
    }

    @Test("without CURVE: one warning line for a local endpoint, a banner for a network one, both saying what is exposed")
    func plainWarnings() {
        for binding in [true, false] {
            let local = EndpointRules.plainWarning("tcp://127.0.0.1:5555", binding: binding)
            #expect(local.count == 1)
            #expect(local[0].contains("unauthenticated and unencrypted"), "\(local)")
            #expect(local[0].contains("tcp://127.0.0.1:5555") && local[0].contains("--keys"), "\(local)")
            let network = EndpointRules.plainWarning("tcp://*:5555", binding: binding)
            #expect(network.count > 1)
            #expect(network.contains { $0.contains("INSECURE") && $0.contains("tcp://*:5555") }, "\(network)")
            #expect(network.contains { $0.contains("UNAUTHENTICATED and UNENCRYPTED") }, "\(network)")
            #expect(network.contains { $0.contains("--keys") }, "\(network)")
        }
    }

    @Test("key files: generated pairs load back; a world-readable secret or a second pair is refused")
    func keyFiles() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = (root as NSString).appendingPathComponent("coordinator")
        let client = (root as NSString).appendingPathComponent("client")
        let serverPair = try KeyFiles.generate(directory: server, name: "coordinator")
        let clientPair = try KeyFiles.generate(directory: client, name: "client")
        #expect(throws: SecurityError.self) { try KeyFiles.generate(directory: client, name: "client") }
        #expect(throws: SecurityError.self) { try KeyFiles.loadServer(directory: server) }  // no allowed/
        try FileManager.default.createDirectory(atPath: server + "/allowed", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: client + "/client.pub", toPath: server + "/allowed/client.pub")
        try FileManager.default.copyItem(atPath: server + "/coordinator.pub", toPath: client + "/coordinator.pub")
        let loadedServer = try KeyFiles.loadServer(directory: server)
        #expect(loadedServer.keys == serverPair)
        #expect(loadedServer.allowed == [clientPair.publicKey])
        let loadedClient = try KeyFiles.loadClient(directory: client)
        #expect(loadedClient.keys == clientPair)
        #expect(loadedClient.serverKey == serverPair.publicKey)
        #expect(loadedClient.name == "client")

        chmod(client + "/client.key", 0o644)
        #expect(throws: SecurityError.self) { try KeyFiles.loadClient(directory: client) }
        chmod(client + "/client.key", 0o600)
        try KeyFiles.generate(directory: client, name: "other")
        #expect(throws: SecurityError.self) { try KeyFiles.loadClient(directory: client) }
    }

    @Test("generated secret keys have mode 0600, also when a pair is replaced")
    func generatedKeyModes() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try KeyFiles.generate(directory: root, name: "worker")
        try KeyFiles.generate(directory: root, name: "worker", force: true)  // replaced: still 0600
        var info = stat()
        #expect(stat(root + "/worker.key", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test(
        "a secret key file open to other users, or to its group unless root owns it, is refused",
        arguments: [
            (0o600, 1000, nil), (0o400, 1000, nil), (0o640, 1000, "its group"), (0o620, 1000, "its group"),
            (0o604, 1000, "other users"), (0o644, 1000, "other users"), (0o640, 0, nil), (0o440, 0, nil),
            (0o644, 0, "other users"), (0o602, 0, "other users"),
        ] as [(Int, Int, String?)])
    func secretKeyExposure(mode: Int, owner: Int, expected: String?) {
        #expect(KeyFiles.exposure(mode: mode_t(0o100000 | mode), owner: uid_t(owner)) == expected)
    }

    @Test("the refusal names the file, its mode and the fix; a group-readable key of the user's own is refused too")
    func secretKeyModeErrors() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try KeyFiles.generate(directory: root, name: "client")
        let server = try KeyFiles.generate(directory: root + "/server", name: "coordinator")
        try FileManager.default.copyItem(atPath: root + "/server/coordinator.pub", toPath: root + "/coordinator.pub")
        let key = root + "/client.key"
        // The user's own file (when the tests run as root, hand it to nobody: root owns
        // group-readable keys legitimately).
        if getuid() == 0 { #expect(chown(key, 65534, 65534) == 0) }
        for (mode, who) in [(0o640, "its group"), (0o604, "other users")] {
            #expect(chmod(key, mode_t(mode)) == 0)
            let error = try #require(throws: SecurityError.self) { try KeyFiles.loadClient(directory: root) }
            #expect(error.description.contains(key), "\(error)")
            #expect(error.description.contains("accessible by \(who)"), "\(error)")
            #expect(error.description.contains("mode \(String(mode, radix: 8))"), "\(error)")
            #expect(error.description.contains("chmod 600 \(key)"), "\(error)")
        }
        #expect(chmod(key, 0o600) == 0)
        #expect(try KeyFiles.loadClient(directory: root).serverKey == server.publicKey)

        let coordinatorKey = root + "/server/coordinator.key"
        try FileManager.default.createDirectory(atPath: root + "/server/allowed", withIntermediateDirectories: true)
        #expect(chmod(coordinatorKey, 0o644) == 0)
        let error = try #require(throws: SecurityError.self) { try KeyFiles.loadServer(directory: root + "/server") }
        #expect(error.description.contains("chmod 600 \(coordinatorKey)"), "\(error)")
    }

    @Test("a second lock on a journal is refused as another coordinator; a missing journal or another errno says so")
    func journalLock() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/j.sqlite"
        try Journal(path: path).close()
        let held = try CoordinatorServer.lockJournal(path)
        let second = try #require(throws: CoordinatorError.self) { try CoordinatorServer.lockJournal(path) }
        #expect(second.description.contains("another coordinator is using the journal \(path)"), "\(second)")
        // The whole server refuses too, before binding anything.
        let server = CoordinatorServer(
            options: CoordinatorOptions(endpoints: ["ipc://\(directory)/c.sock"], journalPath: path), logger: .silent)
        let refused = try #require(throws: CoordinatorError.self) { try server.run() }
        #expect(refused.description.contains("another coordinator"), "\(refused)")
        close(held)
        close(try CoordinatorServer.lockJournal(path))  // free again

        let missing = try #require(throws: CoordinatorError.self) { try CoordinatorServer.lockJournal(directory + "/none") }
        #expect(missing.description.contains(directory + "/none"), "\(missing)")
        #expect(missing.description.contains(String(cString: strerror(ENOENT))), "\(missing)")
        for code in [ENOLCK, EBADF, EINVAL] {
            let error = CoordinatorServer.journalLockError(path: path, errno: code)
            #expect(!error.description.contains("another coordinator"), "\(error)")
            #expect(error.description.contains(path), "\(error)")
            #expect(error.description.contains(String(cString: strerror(code))), "\(error)")
        }
        #expect(CoordinatorServer.journalLockError(path: path, errno: ENOLCK).description.contains("local disk"))
        #expect(CoordinatorServer.journalLockError(path: path, errno: EWOULDBLOCK).description.contains("another coordinator"))
    }

    @Test("when its ZAP handler fails, a CURVE coordinator stops with an error that says so, keeping what it journaled")
    func zapHandlerFailureStopsTheCoordinator() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let endpoint = "ipc://\(directory)/c.sock"
        let journalPath = directory + "/j.sqlite"
        let serverPair = try KeyFiles.generate(directory: directory + "/server", name: "coordinator")
        let clientPair = try KeyFiles.generate(directory: directory + "/client", name: "client")
        let clientKeys = ClientKeys(keys: clientPair, serverKey: serverPair.publicKey, name: "client")

        struct InjectedFault: Error, CustomStringConvertible { var description: String { "injected fault" } }
        let requests = Counter()
        var options = CoordinatorOptions(
            endpoints: [endpoint], journalPath: journalPath,
            keys: ServerKeys(keys: serverPair, allowed: [clientPair.publicKey], allowedFiles: []))
        // The first handshake is answered; the handler dies on the second.
        options.zapRequestHook = { _ in if requests.increment() >= 2 { throw InjectedFault() } }
        let lines = Lines()
        let server = CoordinatorServer(options: options, logger: Logger(label: "test") { _ in DuetLogHandler(format: .text, sink: { lines.append($0) }) })
        let outcome = Lines()
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do {
                try server.run()
                outcome.append("returned")
            } catch {
                outcome.append("\(error)")
            }
            finished.signal()
        }
        var stopped = false
        defer { if !stopped { server.stop(); _ = finished.wait(timeout: .now() + 10) } }

        let first = try ClusterClient(endpoint: endpoint, keys: clientKeys)
        defer { first.close() }
        let reply = try first.request(
            .submit(RunSubmission(kind: "noop", taskCount: 3, spec: Array("a".utf8))), timeout: 10)
        guard case .submitted(let run, false) = reply else { Issue.record("\(reply)"); return }

        // A second connection with an allowed key makes the handler fail: that client is
        // not served, and the coordinator stops.
        let second = try ClusterClient(endpoint: endpoint, keys: clientKeys)
        defer { second.close() }
        #expect(throws: ClusterClientError.self) { try second.request(.status, timeout: 3) }
        #expect(finished.wait(timeout: .now() + 10) == .success)
        stopped = true
        let error = try #require(outcome.all.first)
        #expect(error.contains("the ZAP authentication handler failed (injected fault)"), "\(error)")
        #expect(lines.all.contains { $0.contains("error") && $0.contains("ZAP authentication handler failed") }, "\(lines.all)")
        // Nobody is served afterwards: the endpoint is gone with the coordinator.
        #expect(throws: ClusterClientError.self) { try first.request(.status, timeout: 1) }

        let journal = try Journal(path: journalPath)
        defer { try? journal.close() }
        #expect(try journal.snapshot().runs.map(\.record.id) == [run])
    }

    @Test("a coordinator and a worker on threads run 300 no-op tasks over ipc://, then a failing task is recorded")
    func coordinatorAndWorkerInProcess() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let endpoint = "ipc://\(directory)/c.sock"
        var config = CoordinatorConfig()
        config.heartbeatInterval = 0.2
        config.maxAttempts = 2
        let server = CoordinatorServer(
            options: CoordinatorOptions(endpoints: [endpoint], journalPath: directory + "/j.sqlite", config: config),
            logger: .silent)
        let worker = WorkerNode(options: WorkerOptions(endpoint: endpoint, slots: 2, prefetch: 4, version: "test"), logger: .silent)
        let finished = DispatchGroup()
        let bodies: [@Sendable () -> Void] = [{ try? server.run() }, { _ = try? worker.run() }]
        for body in bodies {
            finished.enter()
            Thread.detachNewThread {
                body()
                finished.leave()
            }
        }
        defer {
            worker.stop()
            server.stop()
            #expect(finished.wait(timeout: .now() + 10) == .success)
        }

        let client = try ClusterClient(endpoint: endpoint, keys: nil)
        defer { client.close() }
        func waitForRun(_ run: RunID) throws -> ResultPage {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if case .results(let page) = try client.request(.results(run: run, from: 0, limit: 10_000), timeout: 5),
                    page.complete
                {
                    return page
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            throw TaskFailure("run \(run) did not complete")
        }

        let reply = try client.request(
            .submit(RunSubmission(kind: "noop", taskCount: 300, payload: ["resultBytes": 3], spec: Array("a".utf8))), timeout: 5)
        guard case .submitted(let run, false) = reply else { Issue.record("\(reply)"); return }
        let page = try waitForRun(run)
        #expect(page.items.map(\.index) == Array(0..<300))
        #expect(page.items.allSatisfy { $0.outcome == .done([0, 0, 0]) })

        let failing = try client.request(
            .submit(RunSubmission(kind: "noop", taskCount: 1, payload: ["fail": "on purpose"], spec: Array("b".utf8))), timeout: 5)
        guard case .submitted(let failRun, _) = failing else { Issue.record("\(failing)"); return }
        #expect(try waitForRun(failRun).items.first?.outcome == .failed(error: "on purpose"))

        let unknown = try client.request(.submit(RunSubmission(kind: "warp-drive", taskCount: 1, spec: Array("c".utf8))), timeout: 5)
        guard case .submitted(let unknownRun, _) = unknown else { Issue.record("\(unknown)"); return }
        guard case .failed(let error)? = try waitForRun(unknownRun).items.first?.outcome else {
            Issue.record("the unknown kind did not fail")
            return
        }
        #expect(error.contains("no runner for task kind \"warp-drive\""), "\(error)")

        guard case .status(let status) = try client.request(.status, timeout: 5) else { Issue.record("no status"); return }
        #expect(status.workers.count == 1)
        #expect(status.counters.results == 300)
    }
}

/// A thread-safe counter.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    /// Adds one and returns the new value.
    func increment() -> Int { lock.withLock { value += 1; return value } }
}

/// Lines collected from several threads.
private final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
