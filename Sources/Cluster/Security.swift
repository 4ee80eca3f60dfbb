// CURVE keys on disk and the rules for plain (unencrypted) endpoints.
//
// Layout (deploy/README.md):
//
//     coordinator DIR:  coordinator.key  coordinator.pub  allowed/*.pub
//     worker/client DIR: coordinator.pub  NAME.key  NAME.pub   (one non-coordinator .key)
//
// A key file holds the 40-character Z85 key on one line (lines starting with `#` and
// blank lines are ignored). Secret keys are written with mode 0600 and refused, as ssh
// refuses private keys, when other users may access them, or the group may and the
// file is not root's (`KeyFiles.exposure`).
//
// Without keys, traffic is neither encrypted nor authenticated, so the coordinator
// binds and workers and clients connect only to loopback or `ipc://` endpoints unless
// the user says `--insecure`; the coordinator and workers warn at every start without
// keys (`EndpointRules.plainWarning`).

import ClusterCore
import Foundation
import ZeroMQ

/// A problem with keys or with where a process may listen or connect, with what to do.
public struct SecurityError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SecurityError: LocalizedError {
    public var errorDescription: String? { description }
}

/// The coordinator's CURVE identity and who it admits.
public struct ServerKeys: Sendable {
    public var keys: CurveKeyPair
    /// Z85 public keys of the workers and clients admitted (ZAP allow-list).
    public var allowed: Set<String>
    /// Where the allowed keys came from, for logs.
    public var allowedFiles: [String]
}

/// A worker's or client's CURVE identity and the coordinator key it trusts.
public struct ClientKeys: Sendable {
    public var keys: CurveKeyPair
    public var serverKey: String
    /// The key pair's name (`worker` for worker.key), for messages.
    public var name: String
}

public enum KeyFiles {
    /// Generates a key pair and writes `DIR/NAME.key` (mode 0600) and `DIR/NAME.pub`.
    /// Refuses to overwrite an existing pair unless `force`. Returns the pair.
    @discardableResult
    public static func generate(directory: String, name: String, force: Bool = false) throws -> CurveKeyPair {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw SecurityError("--name: \"\(name)\" is not a plain file name (no slashes, not starting with a dot)")
        }
        guard CurveKeyPair.isAvailable else {
            throw SecurityError("this libzmq was built without CURVE support; install libzmq with libsodium (libzmq5)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let secretPath = (directory as NSString).appendingPathComponent(name + ".key")
        let publicPath = (directory as NSString).appendingPathComponent(name + ".pub")
        if !force {
            for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
                throw SecurityError("\(path) already exists; keep it, or pass --force to replace the pair")
            }
        }
        let pair = try CurveKeyPair.generate()
        try writeSecret(pair.secretKey + "\n", to: secretPath)
        let publicText = "# CURVE public key \"\(name)\" (Z85); copy it into the coordinator's allowed/ directory\n"
            + pair.publicKey + "\n"
        do {
            try publicText.write(toFile: publicPath, atomically: true, encoding: .utf8)
        } catch {
            throw SecurityError("cannot write \(publicPath): \(error.localizedDescription)")
        }
        return pair
    }

    /// The three key directories of a small cluster, freshly generated under `root` and
    /// laid out as `loadServer` and `loadClient` read them (deploy/README.md): the
    /// coordinator's pair with an allow-list of the worker's and the client's public
    /// keys, and theirs with `coordinator.pub` (`duet bench dispatch --curve`).
    public static func generateCluster(under root: String) throws -> (coordinator: String, worker: String, client: String) {
        func join(_ parts: String...) -> String { parts.reduce(root) { ($0 as NSString).appendingPathComponent($1) } }
        let coordinator = join("coordinator"), worker = join("worker"), client = join("client")
        let allowed = join("coordinator", "allowed")
        try FileManager.default.createDirectory(atPath: allowed, withIntermediateDirectories: true)
        try KeyFiles.generate(directory: coordinator, name: "coordinator")
        try KeyFiles.generate(directory: worker, name: "worker")
        try KeyFiles.generate(directory: client, name: "client")
        let manager = FileManager.default
        for (directory, name) in [(worker, "worker"), (client, "client")] {
            try manager.copyItem(atPath: join("coordinator", "coordinator.pub"),
                                 toPath: (directory as NSString).appendingPathComponent("coordinator.pub"))
            try manager.copyItem(atPath: (directory as NSString).appendingPathComponent(name + ".pub"),
                                 toPath: (allowed as NSString).appendingPathComponent(name + ".pub"))
        }
        return (coordinator, worker, client)
    }

    /// Creates (or replaces) `path` with mode 0600 from the start, then writes `text`.
    static func writeSecret(_ text: String, to path: String) throws {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw SecurityError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { Foundation.close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw SecurityError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Who besides the owner may access a secret key file of permission bits `mode`
    /// owned by `owner`, as a phrase ("other users", "its group"); nil when it is private
    /// enough. Like ssh, and like PostgreSQL's rule for its server key: the group may
    /// read a file that root owns (root provisioned it for a service's group: systemd's
    /// `root:duet 0640`, a Kubernetes Secret volume's `root:fsGroup 0440`), never one the
    /// user owns; other users never.
    public static func exposure(mode: mode_t, owner: uid_t) -> String? {
        if mode & 0o007 != 0 { return "other users" }
        if mode & 0o070 != 0 && owner != 0 { return "its group" }
        return nil
    }

    /// Throws unless the secret key file at `path` is private (see `exposure`).
    static func checkPrivate(_ path: String, role: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SecurityError("cannot read \(role) \(path): \(String(cString: strerror(errno)))")
        }
        if let who = exposure(mode: info.st_mode, owner: info.st_uid) {
            throw SecurityError(
                "\(role) \(path) is accessible by \(who) (mode \(String(info.st_mode & 0o777, radix: 8)), expected 600): "
                    + "a secret key must be readable by its owner only; fix it with: chmod 600 \(path)")
        }
    }

    /// The key in a key file (`role` names it in errors).
    static func readKey(_ path: String, role: String, secret: Bool) throws -> String {
        if secret { try checkPrivate(path, role: role) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecurityError("cannot read \(role) \(path): no such file or permission denied")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1 else {
            throw SecurityError("\(path): expected one Z85 key on one line, found \(lines.count) non-comment lines")
        }
        do {
            try CurveKeyPair.validate(lines[0], role: "\(role) in \(path)")
        } catch {
            throw SecurityError("\(error)")
        }
        return lines[0]
    }

    /// The coordinator's keys from `directory`: `coordinator.key` (and `coordinator.pub`
    /// when present, which must match) and the allow-list `allowed/*.pub`.
    public static func loadServer(directory: String) throws -> ServerKeys {
        let secretPath = (directory as NSString).appendingPathComponent("coordinator.key")
        let secret = try readKey(secretPath, role: "the coordinator's secret key", secret: true)
        let pair: CurveKeyPair
        do { pair = try CurveKeyPair(secretKey: secret) } catch { throw SecurityError("\(secretPath): \(error)") }
        let publicPath = (directory as NSString).appendingPathComponent("coordinator.pub")
        if FileManager.default.fileExists(atPath: publicPath) {
            let published = try readKey(publicPath, role: "the coordinator's public key", secret: false)
            guard published == pair.publicKey else {
                throw SecurityError(
                    "\(publicPath) does not belong to \(secretPath) (another pair?); regenerate both with "
                        + "`duet keys generate --out \(directory) --name coordinator --force`")
            }
        }
        let allowedDirectory = (directory as NSString).appendingPathComponent("allowed")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: allowedDirectory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw SecurityError(
                "\(allowedDirectory) does not exist: without an allow-list no worker or client can connect; "
                    + "create it and copy the workers' and clients' .pub files into it")
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: allowedDirectory)) ?? [])
            .filter { $0.hasSuffix(".pub") }.sorted()
        var allowed = Set<String>()
        var files: [String] = []
        for name in names {
            let path = (allowedDirectory as NSString).appendingPathComponent(name)
            allowed.insert(try readKey(path, role: "allowed public key", secret: false))
            files.append(path)
        }
        return ServerKeys(keys: pair, allowed: allowed, allowedFiles: files)
    }

    /// A worker's or client's keys from `directory`: `coordinator.pub` and the one
    /// key pair that is not the coordinator's.
    public static func loadClient(directory: String) throws -> ClientKeys {
        let serverPath = (directory as NSString).appendingPathComponent("coordinator.pub")
        let serverKey = try readKey(serverPath, role: "the coordinator's public key", secret: false)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw SecurityError("cannot list the key directory \(directory)")
        }
        let secrets = names.filter { $0.hasSuffix(".key") && $0 != "coordinator.key" }.sorted()
        guard secrets.count == 1 else {
            throw SecurityError(
                secrets.isEmpty
                    ? "\(directory) holds no key pair of its own (NAME.key beside coordinator.pub); "
                        + "create one with `duet keys generate --out \(directory) --name NAME`"
                    : "\(directory) holds several key pairs (\(secrets.joined(separator: ", "))); keep exactly one")
        }
        let name = String(secrets[0].dropLast(4))
        let secretPath = (directory as NSString).appendingPathComponent(secrets[0])
        let secret = try readKey(secretPath, role: "the secret key", secret: true)
        let pair: CurveKeyPair
        do { pair = try CurveKeyPair(secretKey: secret) } catch { throw SecurityError("\(secretPath): \(error)") }
        let publicPath = (directory as NSString).appendingPathComponent(name + ".pub")
        if FileManager.default.fileExists(atPath: publicPath) {
            let published = try readKey(publicPath, role: "the public key", secret: false)
            guard published == pair.publicKey else {
                throw SecurityError("\(publicPath) does not belong to \(secretPath); regenerate the pair")
            }
        }
        return ClientKeys(keys: pair, serverKey: serverKey, name: name)
    }
}

/// Which endpoints may carry plain (unencrypted, unauthenticated) traffic.
public enum EndpointRules {
    /// True for `ipc://`, `inproc://` and TCP on 127.0.0.0/8, `localhost` or `[::1]`.
    public static func isLocal(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        var rest = endpoint.dropFirst("tcp://".count)
        // A connect endpoint may name a source address first: "tcp://src;dst".
        if let semicolon = rest.firstIndex(of: ";") {
            let source = String(rest[..<semicolon])
            rest = rest[rest.index(after: semicolon)...]
            guard isLocal("tcp://" + source) else { return false }
        }
        let host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return false }
            host = rest[rest.index(after: rest.startIndex)..<close]
        } else {
            host = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// What a coordinator (`binding`) or worker running without CURVE on `endpoint`
    /// logs as warnings at every start: one line for a local endpoint, a banner for a
    /// network one (allowed only with `--insecure`).
    public static func plainWarning(_ endpoint: String, binding: Bool) -> [String] {
        let role = binding ? "listening on" : "connecting to"
        guard !isLocal(endpoint) else {
            return [
                "no CURVE keys: traffic \(binding ? "on" : "to") \(endpoint) is unauthenticated and unencrypted; "
                    + "any local user who can reach it can "
                    + (binding ? "submit work or pose as a worker" : "pose as the coordinator or read this traffic")
                    + " (pass --keys DIR to secure it)"
            ]
        }
        return [
            "****************************************************************************",
            "INSECURE: \(role) \(endpoint) WITHOUT CURVE (--insecure)",
            "all traffic is UNAUTHENTICATED and UNENCRYPTED: anyone who can reach this address can "
                + (binding ? "submit work, pose as a worker, and read or forge every message"
                    : "pose as the coordinator, and read or forge every message"),
            "use --keys DIR on any network you do not fully trust (duet keys generate; deploy/README.md)",
            "****************************************************************************",
        ]
    }

    /// Throws unless `endpoint` is local, explaining how to secure it.
    public static func checkPlain(_ endpoint: String, binding: Bool) throws {
        guard !isLocal(endpoint) else { return }
        let verb = binding ? "listen on" : "connect to"
        throw SecurityError(
            "refusing to \(verb) \(endpoint) without CURVE keys: anyone who can reach it could "
                + (binding ? "submit work or pose as a worker" : "read or forge this traffic")
                + ". Pass --keys DIR (see `duet keys generate` and deploy/README.md), use a loopback or ipc:// endpoint, "
                + "or pass --insecure if the network is trusted")
    }
}
