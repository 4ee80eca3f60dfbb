// Finished networks of an ensemble kept on disk (`duet train --ensemble N --members DIR`),
// so that an interrupted ensemble resumes at the network it was on, and members trained
// on several machines (each its own --seed) come together in one model. A kept network
// is reused only by a job with the same data, split, normalisation, settings and target
// scaling: otherwise it is not a member of the same ensemble.

import DuetSupport
import Foundation

/// What a kept network was trained on, section by section (SHA-256 hex of each), so a
/// mismatch can be named.
public struct MemberFingerprint: Codable, Sendable, Equatable {
    /// The dataset's hash and the split's rows.
    public var data: String
    /// The features' standardisation and the targets' transform, fitted on the split.
    public var normalisation: String
    /// The training settings but the seed (which tells members apart) and the threads
    /// (which change only the rounding).
    public var settings: String
    public var targetScaling: String

    /// The sections of `other` that differ, named for a message.
    public func differences(from other: MemberFingerprint) -> [String] {
        [("the dataset or its split", data == other.data), ("the normalisation", normalisation == other.normalisation),
         ("the training settings", settings == other.settings), ("the target scaling", targetScaling == other.targetScaling)]
            .filter { !$0.1 }.map(\.0)
    }
}

extension SurrogateTrainingJob {
    /// The fingerprint every network of this job's ensemble carries.
    public var memberFingerprint: MemberFingerprint {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func hash(_ value: some Encodable) -> String {
            // Encoding these plain Codable values cannot fail; an empty hash would only
            // make every kept network a mismatch.
            SHA256Hasher.hex((try? encoder.encode(value)) ?? Data())
        }
        var shared = settings
        shared.seed = 0
        shared.threads = 1
        return MemberFingerprint(
            data: hash([dataset.sha256, hash(split)]), normalisation: hash([hash(features), hash(transform)]),
            settings: hash(shared), targetScaling: hash(scaling.rawValue))
    }
}

/// A directory of finished ensemble networks, one file per seed.
public struct KeptMembers: Sendable {
    public static let kindTag = "duet-ensemble-member"
    public let directory: URL
    public let fingerprint: MemberFingerprint

    /// The file a network of `seed` is kept in.
    public func url(seed: UInt64) -> URL { directory.appendingPathComponent("member-seed-\(seed).json") }

    public init(directory: String, fingerprint: MemberFingerprint) throws {
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        self.fingerprint = fingerprint
        do {
            try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError(description: "--members \(directory): cannot create it: \(error.localizedDescription)")
        }
    }

    private struct Document: Codable {
        var kind: String
        var fingerprint: MemberFingerprint
        var member: EnsembleMember
    }

    /// The kept network of `seed`, or nil when none is kept. A file of another job or an
    /// unreadable one is an error that names it: it is not silently retrained over.
    public func kept(seed: UInt64) throws -> EnsembleMember? {
        let url = url(seed: seed)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let document: Document
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .infAndNanAsWords
            document = try decoder.decode(Document.self, from: Data(contentsOf: url))
        } catch {
            throw TrainingError(description: "\(url.path): not a kept ensemble network (\(error)); remove it to train "
                                    + "that network again")
        }
        guard document.kind == Self.kindTag, document.member.seed == seed else {
            throw TrainingError(description: "\(url.path): not the kept network of seed \(seed); remove it to train "
                                    + "that network again")
        }
        let differing = fingerprint.differences(from: document.fingerprint)
        guard differing.isEmpty else {
            throw TrainingError(description: "\(url.path) was trained on a job that differs from this run in "
                                    + "\(differing.joined(separator: ", ")); use another --members directory, or remove the file")
        }
        if let problem = ModelFile.layerProblem(document.member.architecture, document.member.layers, at: "member.") {
            throw TrainingError(description: "\(url.path): \(problem); remove it to train that network again")
        }
        return document.member
    }

    /// Writes `member` (atomically: an interrupted write leaves no half file).
    public func keep(_ member: EnsembleMember) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.userInfo[LayerParameters.weightsAsBase64] = true
        encoder.nonConformingFloatEncodingStrategy = .infAndNanAsWords
        let url = url(seed: member.seed)
        do {
            try encoder.encode(Document(kind: Self.kindTag, fingerprint: fingerprint, member: member))
                .write(to: url, options: .atomic)
        } catch {
            throw TrainingError(description: "cannot keep the network of seed \(member.seed) in \(url.path): "
                                    + error.localizedDescription)
        }
    }
}
