// How the commands that talk to a coordinator resolve its endpoint and keys from their
// flags and the environment (DUET_COORDINATOR, DUET_KEYS): the environment is a
// dictionary passed in, never the test process's own.

import ArgumentParser
import Testing

@testable import duet

@Suite("Cluster options and the environment")
struct ClusterOptionsTests {
    static let remote = "tcp://10.1.2.3:5555"

    /// The options of `duet sweep` with these flags. Set after parsing: parsing runs
    /// `validate()`, which reads the test process's environment, and some of these
    /// flags are only valid with an endpoint from the dictionary the test passes.
    func sweep(_ arguments: [String]) throws -> ClusterOptions<SweepWork> {
        var options = try ClusterOptions<SweepWork>.parse([])
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            switch flag {
            case "--local": options.local = Int(rest.popFirst()!)
            case "--coordinator": options.coordinator = rest.popFirst()!
            case "--keys": options.keys = rest.popFirst()!
            case "--insecure": options.insecure = true
            default: Issue.record("unknown flag \(flag)")
            }
        }
        return options
    }

    /// `duet worker` with no endpoint flag (parsed with one, which is then removed).
    func workerWithoutEndpoint() throws -> WorkerCommand {
        var command = try WorkerCommand.parse(["--coordinator", "ipc:///tmp/parsed"])
        command.endpoint.coordinator = nil
        return command
    }

    @Test("sweep, search and run: no flag and no variable run in process; DUET_COORDINATOR alone picks the cluster")
    func sweepFromEnvironment() throws {
        #expect(try sweep([]).resolve(environment: [:]) == nil)
        #expect(try sweep([]).resolve(environment: ["DUET_COORDINATOR": ""]) == nil, "empty counts as unset")
        let address = try #require(try sweep([]).resolve(environment: ["DUET_COORDINATOR": "tcp://127.0.0.1:7000"]))
        #expect(address.endpoint == "tcp://127.0.0.1:7000")
        #expect(address.keys == nil)
        #expect(address.source == "DUET_COORDINATOR")
    }

    @Test("flags win over the variables: --coordinator, --keys, --insecure and --local")
    func flagsWin() throws {
        let environment = ["DUET_COORDINATOR": Self.remote, "DUET_KEYS": "/env/keys"]
        let fromFlags = try #require(
            try sweep(["--coordinator", "tcp://10.9.9.9:5555", "--keys", "/flag/keys"]).resolve(environment: environment))
        #expect(fromFlags.endpoint == "tcp://10.9.9.9:5555")
        #expect(fromFlags.keys == "/flag/keys")
        #expect(fromFlags.source == "--coordinator")
        let keysFromEnvironment = try #require(try sweep([]).resolve(environment: environment))
        #expect(keysFromEnvironment.endpoint == Self.remote)
        #expect(keysFromEnvironment.keys == "/env/keys")
        // --insecure drops DUET_KEYS rather than contradicting it.
        let insecure = try #require(try sweep(["--insecure"]).resolve(environment: environment))
        #expect(insecure.keys == nil)
        #expect(insecure.insecure)
        // --local is a flag: the work runs on the local cluster, not DUET_COORDINATOR's.
        #expect(try sweep(["--local", "2"]).resolve(environment: environment) == nil)
    }

    @Test("bad combinations name the flag or variable at fault")
    func errors() throws {
        let plainRemote = ["DUET_COORDINATOR": Self.remote]
        #expect(throws: ValidationError.self) { try sweep([]).resolve(environment: plainRemote) }
        do {
            _ = try sweep([]).resolve(environment: plainRemote)
        } catch let error as ValidationError {
            #expect(error.message.hasPrefix("DUET_COORDINATOR: "), "\(error.message)")
            #expect(error.message.contains(Self.remote), "\(error.message)")
        }
        #expect(throws: ValidationError.self) { try sweep(["--keys", "k"]).resolve(environment: [:]) }
        #expect(throws: ValidationError.self) { try sweep(["--local", "2", "--keys", "k"]).resolve(environment: plainRemote) }
        #expect(throws: ValidationError.self) { try sweep(["--keys", "k", "--insecure"]).resolve(environment: plainRemote) }
        // --keys with the endpoint from the variable is fine.
        #expect(try sweep(["--keys", "k"]).resolve(environment: plainRemote)?.keys == "k")
    }

    @Test("worker: --coordinator, its old spelling --connect, or DUET_COORDINATOR; one is required")
    func worker() throws {
        let environment = ["DUET_COORDINATOR": "ipc:///tmp/from-env", "DUET_KEYS": "/env/keys"]
        #expect(try workerWithoutEndpoint().address(environment: environment).endpoint == "ipc:///tmp/from-env")
        #expect(try workerWithoutEndpoint().address(environment: environment).keys == "/env/keys")
        #expect(try WorkerCommand.parse(["--coordinator", "ipc:///a"]).address(environment: environment).endpoint == "ipc:///a")
        #expect(try WorkerCommand.parse(["--connect", "ipc:///b"]).address(environment: environment).endpoint == "ipc:///b")
        #expect(throws: ValidationError.self) { try workerWithoutEndpoint().address(environment: [:]) }
        #expect(throws: (any Error).self) { try WorkerCommand.parse(["--connect", "ipc:///b", "--coordinator", "ipc:///a"]) }
    }

    @Test("status: the flag, else DUET_COORDINATOR, else the local default; none with --journal or --search")
    func status() throws {
        let environment = ["DUET_COORDINATOR": "ipc:///tmp/from-env"]
        #expect(try StatusCommand.parse([]).address(environment: [:])?.endpoint == "tcp://127.0.0.1:5555")
        #expect(try StatusCommand.parse([]).address(environment: environment)?.endpoint == "ipc:///tmp/from-env")
        #expect(try StatusCommand.parse(["--coordinator", "ipc:///a"]).address(environment: environment)?.endpoint == "ipc:///a")
        #expect(try StatusCommand.parse(["--journal", "j.sqlite"]).address(environment: environment) == nil)
    }
}
