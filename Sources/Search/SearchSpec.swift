// Search specs: which hyperparameters a search varies and over which ranges (the
// range vocabulary of sweep specs), its budget, algorithm and seed (docs in
// examples/quickstart-search.yaml).
//
//     space:
//       layers: { int: [1, 4] }
//       width: { choice: [32, 64, 128, 256, 512] }
//       activation: { choice: [relu, silu, tanh] }
//       lr: { loguniform: [0.0001, 0.03] }
//       patience: 40                     # a plain value: fixed for every trial
//     budget: { trials: 64 }             # or { minutes: 30 }, or both (whichever ends first)
//     algorithm: { name: asha, minEpochs: 10, maxEpochs: 270, reduction: 3 }
//     seed: 1
//     split: { validation: 0.1, test: 0.1, seed: 1 }   # optional; as duet train's defaults
//
// Which hyperparameters exist is not known here (Search does not depend on the
// trainer): the caller passes a `SearchVocabulary`. Keys left out of `space` take
// the trainer's defaults. Each varied key is one dimension of the sampling design,
// in document order. Errors name the dotted path, as ConfigNode's readers do.

import DuetSupport
import Foundation
import Simulation

/// What a range is read for: the kind of value it draws, the rules each value obeys
/// and, for names, the allowed words. Sweep inputs and search hyperparameters both
/// read their ranges through `SweepSpec.range(_:target:)`.
protocol RangeTarget: CustomStringConvertible {
    var kind: SweepTarget.ValueKind { get }
    var rules: [NumberRule] { get }
    var allowsInfinity: Bool { get }
    /// The words a `.name` value may be.
    var names: [String] { get }
}

extension SweepTarget: RangeTarget {
    var names: [String] { choices }
}

/// A hyperparameter a search may vary or fix.
public struct HyperparameterDefinition: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case real
        case whole
        /// One of these words.
        case name([String])
    }

    /// The key in `space` (and the column of trials.csv).
    public var name: String
    /// Other accepted spellings (`learningRate` for `lr`).
    public var aliases: [String]
    public var kind: Kind
    /// What every value must satisfy.
    public var rules: [NumberRule]

    public init(_ name: String, _ kind: Kind, rules: [NumberRule] = [], aliases: [String] = []) {
        self.name = name
        self.kind = kind
        self.rules = rules
        self.aliases = aliases
    }
}

/// A definition as a range target: ranges of a whole-number hyperparameter must be
/// int, logint or choice, and so on.
private struct HyperparameterTarget: RangeTarget {
    let definition: HyperparameterDefinition

    var kind: SweepTarget.ValueKind {
        switch definition.kind {
        case .real: return .real
        case .whole: return .whole
        case .name: return .name
        }
    }

    var rules: [NumberRule] { definition.rules }
    var allowsInfinity: Bool { false }

    var names: [String] {
        if case .name(let words) = definition.kind { return words }
        return []
    }

    var description: String { definition.name }
}

/// The hyperparameters a search can name, supplied by whoever runs the trials.
public struct SearchVocabulary: Sendable {
    public var parameters: [HyperparameterDefinition]
    /// Epochs of a trial when `algorithm.maxEpochs` is not given.
    public var defaultMaxEpochs: Int
    /// Keys of the trainer that a space may not set, and why (`seed`: derived per trial).
    public var reserved: [String: String]

    public init(parameters: [HyperparameterDefinition], defaultMaxEpochs: Int, reserved: [String: String] = [:]) {
        self.parameters = parameters
        self.defaultMaxEpochs = defaultMaxEpochs
        self.reserved = reserved
    }

    func definition(named key: String) -> HyperparameterDefinition? {
        parameters.first { $0.name == key || $0.aliases.contains(key) }
    }

    var allNames: [String] { parameters.flatMap { [$0.name] + $0.aliases } }
}

/// One hyperparameter's value in a trial.
public struct HyperparameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String
    public var value: SweepValue

    public init(_ name: String, _ value: SweepValue) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name)=\(value)" }
}

extension SweepValue: Codable {
    /// A JSON number or string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .name(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value): try container.encode(value)
        case .name(let name): try container.encode(name)
        }
    }
}

/// A varied hyperparameter: its name and range.
public struct SearchParameter: Sendable, Hashable {
    public var name: String
    public var range: SweepRange

    public init(name: String, range: SweepRange) {
        self.name = name
        self.range = range
    }
}

/// When a search stops: after so many trials, so many minutes, or whichever comes
/// first. Time is checked before handing out work: once it is up, no trial starts
/// or is promoted, and the trials in progress finish the rung they are training for.
public struct SearchBudget: Sendable, Hashable {
    /// Trials started at most (a promotion is not a new trial).
    public var trials: Int?
    public var minutes: Double?

    public init(trials: Int? = nil, minutes: Double? = nil) {
        precondition(trials != nil || minutes != nil, "a search budget needs trials or minutes")
        self.trials = trials
        self.minutes = minutes
    }

    public var seconds: Double? { minutes.map { $0 * 60 } }
}

/// How new trials' hyperparameters are drawn.
public enum SamplerKind: String, Sendable, CaseIterable, Codable {
    /// Independent uniform points of the unit cube, mapped through the ranges.
    case random
    /// A scrambled Sobol' sequence: the first trials cover the space evenly.
    case sobol
    /// Tree-structured Parzen estimator (Bergstra et al. 2011): after a few random
    /// trials, favour regions where the best quarter of the results lie.
    case tpe
}

/// `algorithm:` of a spec.
public struct SearchAlgorithm: Sendable, Hashable {
    public enum Name: String, Sendable, CaseIterable {
        /// Every trial trained to `maxEpochs`; hyperparameters from a random design.
        case random
        /// As random, with a Sobol' design.
        case sobol
        /// As random, with TPE proposing the hyperparameters.
        case tpe
        /// Asynchronous successive halving (Li et al. 2020) over epochs.
        case asha
    }

    public var name: Name
    public var sampler: SamplerKind
    /// The first rung (ASHA); equal to `maxEpochs` otherwise.
    public var minEpochs: Int
    public var maxEpochs: Int
    /// ASHA's reduction factor (eta); 1 otherwise.
    public var reduction: Int

    public init(name: Name, sampler: SamplerKind? = nil, minEpochs: Int? = nil, maxEpochs: Int, reduction: Int = 3) {
        self.name = name
        self.maxEpochs = maxEpochs
        switch name {
        case .asha:
            self.sampler = sampler ?? .random
            self.minEpochs = minEpochs ?? Self.defaultMinEpochs(maxEpochs: maxEpochs, reduction: reduction)
            self.reduction = reduction
        case .random, .sobol, .tpe:
            self.sampler = SamplerKind(rawValue: name.rawValue)!
            self.minEpochs = maxEpochs
            self.reduction = 1
        }
    }

    /// The epochs of each rung: minEpochs x reduction^k below maxEpochs, then
    /// maxEpochs (so the top rung may be less than a full factor above the one below).
    public var rungs: [Int] { AshaScheduler.rungs(minEpochs: minEpochs, maxEpochs: maxEpochs, reduction: reduction) }

    /// Four rungs when nothing is said: maxEpochs / reduction^3, at least 1.
    static func defaultMinEpochs(maxEpochs: Int, reduction: Int) -> Int {
        max(1, maxEpochs / (reduction * reduction * reduction))
    }
}

/// `split:` of a spec: the seeded split by configuration, as `duet train` makes it.
public struct SearchSplit: Sendable, Hashable {
    public var validation: Double
    public var test: Double
    public var seed: UInt64

    public init(validation: Double = 0.1, test: Double = 0.1, seed: UInt64 = 1) {
        self.validation = validation
        self.test = test
        self.seed = seed
    }
}

/// A parsed, validated search spec.
public struct SearchSpec: Sendable {
    /// The varied hyperparameters, one design dimension each, in document order.
    public var parameters: [SearchParameter]
    /// Hyperparameters fixed for every trial, in document order.
    public var fixed: [HyperparameterValue]
    public var budget: SearchBudget
    public var algorithm: SearchAlgorithm
    public var seed: UInt64
    public var split: SearchSplit

    public init(parameters: [SearchParameter], fixed: [HyperparameterValue] = [], budget: SearchBudget,
                algorithm: SearchAlgorithm, seed: UInt64 = 1, split: SearchSplit = SearchSplit()) {
        self.parameters = parameters
        self.fixed = fixed
        self.budget = budget
        self.algorithm = algorithm
        self.seed = seed
        self.split = split
    }

    static let topKeys = ["space", "budget", "algorithm", "seed", "split"]
    static let budgetKeys = ["trials", "minutes"]
    static let algorithmKeys = ["name", "minEpochs", "maxEpochs", "reduction", "sampler"]
    static let splitKeys = ["validation", "test", "seed"]

    // MARK: Reading

    public static func load(path: String, vocabulary: SearchVocabulary) throws -> SearchSpec {
        try parse(TextFile.read(path, what: "search spec"), source: path, vocabulary: vocabulary)
    }

    public static func parse(_ text: String, source: String? = nil, vocabulary: SearchVocabulary) throws -> SearchSpec {
        let root = try ConfigNode.parse(yaml: text, source: source ?? "search spec")
        if root.isNull {
            throw ConfigError(path: "", message: "the search spec is empty; it needs space, budget and algorithm")
        }
        let top = try root.mapping(allowedKeys: topKeys)
        let (parameters, fixed) = try space(top.mapping("space"), vocabulary: vocabulary)
        let algorithm = try algorithm(top.mapping("algorithm", allowedKeys: algorithmKeys), vocabulary: vocabulary,
                                      dimensions: parameters.count)
        let budget = try budget(top.mapping("budget", allowedKeys: budgetKeys), algorithm: algorithm)
        let split = try split(top.mappingOrEmpty("split", allowedKeys: splitKeys))
        return SearchSpec(parameters: parameters, fixed: fixed, budget: budget, algorithm: algorithm,
                          seed: try top.uint64("seed", default: 1), split: split)
    }

    private static func space(_ space: ConfigMapping, vocabulary: SearchVocabulary) throws
        -> ([SearchParameter], [HyperparameterValue])
    {
        var parameters: [SearchParameter] = []
        var fixed: [HyperparameterValue] = []
        var seen: [String: String] = [:]  // canonical name -> key as written
        for key in space.keys {
            let node = try space.require(key)
            guard let definition = vocabulary.definition(named: key) else {
                if let reason = vocabulary.reserved[key] { throw node.error(reason) }
                let names = vocabulary.parameters.map(\.name)
                if let guess = ConfigNode.suggestion(for: key, among: vocabulary.allNames) {
                    throw node.error("unknown hyperparameter; did you mean \(guess)?")
                }
                throw node.error("unknown hyperparameter; a search can set \(names.joined(separator: ", "))")
            }
            if let earlier = seen[definition.name] {
                throw node.error("\(definition.name) is given twice (as \(earlier) and \(key))")
            }
            seen[definition.name] = key
            let target = HyperparameterTarget(definition: definition)
            switch node.kind {
            case .mapping:
                parameters.append(SearchParameter(name: definition.name, range: try SweepSpec.range(node, target: target)))
            case .scalar:
                fixed.append(HyperparameterValue(definition.name, try constant(node, target: target)))
            case .sequence, .null:
                throw node.error("expected a range (one of uniform, loguniform, int, logint or choice, as in "
                                     + "{ choice: [a, b] }) or a single value")
            }
        }
        return (parameters, fixed)
    }

    private static func constant(_ node: ConfigNode, target: HyperparameterTarget) throws -> SweepValue {
        switch target.kind {
        case .name: return .name(try node.string(oneOf: target.names))
        case .whole: return .number(Double(try node.int(rules: target.rules)))
        case .real: return .number(try node.double(rules: target.rules))
        }
    }

    private static func algorithm(_ mapping: ConfigMapping, vocabulary: SearchVocabulary, dimensions: Int) throws
        -> SearchAlgorithm
    {
        let name = SearchAlgorithm.Name(
            rawValue: try mapping.string("name", oneOf: SearchAlgorithm.Name.allCases.map(\.rawValue)))!
        if name != .asha {
            for key in ["minEpochs", "reduction", "sampler"] where mapping.contains(key) {
                throw mapping.error(key, "only asha has \(key); \(name.rawValue) trains every trial to maxEpochs")
            }
        }
        let maxEpochs = try mapping.int("maxEpochs", default: vocabulary.defaultMaxEpochs, .atLeast(1))
        let reduction = try mapping.int("reduction", default: 3, .atLeast(2))
        let minEpochs = try mapping.intIfPresent("minEpochs", .atLeast(1))
        if let minEpochs, minEpochs > maxEpochs {
            throw mapping.error("minEpochs", "must be <= maxEpochs (\(maxEpochs)), got \(minEpochs)")
        }
        let sampler = try mapping.stringIfPresent("sampler", oneOf: SamplerKind.allCases.map(\.rawValue))
            .map { SamplerKind(rawValue: $0)! }
        let algorithm = SearchAlgorithm(name: name, sampler: sampler, minEpochs: minEpochs, maxEpochs: maxEpochs,
                                        reduction: reduction)
        if algorithm.sampler == .sobol, dimensions > SobolSequence.maxDimensions {
            throw mapping.error(name == .asha ? "sampler" : "name",
                                "a Sobol design has at most \(SobolSequence.maxDimensions) dimensions, "
                                    + "but space varies \(dimensions) keys")
        }
        return algorithm
    }

    private static func budget(_ mapping: ConfigMapping, algorithm: SearchAlgorithm) throws -> SearchBudget {
        let trials = try mapping.intIfPresent("trials", .atLeast(1))
        let minutes = try mapping.doubleIfPresent("minutes", .greaterThan(0))
        guard trials != nil || minutes != nil else {
            throw mapping.error("give trials (how many configurations to try) or minutes (how long to search), or both")
        }
        if let trials, algorithm.sampler == .sobol, trials > SobolSequence.maxPoints {
            throw mapping.error("trials", "a Sobol design has at most \(SobolSequence.maxPoints) points, got \(trials)")
        }
        return SearchBudget(trials: trials, minutes: minutes)
    }

    private static func split(_ mapping: ConfigMapping) throws -> SearchSplit {
        let validation = try mapping.double("validation", default: 0.1, .greaterThan(0), .lessThan(1))
        let test = try mapping.double("test", default: 0.1, .atLeast(0), .lessThan(1))
        guard validation + test < 1 else {
            throw mapping.error("test", "validation + test must be below 1 (the rest is the training split), "
                                    + "got \(ConfigNode.format(validation + test))")
        }
        return SearchSplit(validation: validation, test: test, seed: try mapping.uint64("seed", default: 1))
    }

    // MARK: Trials

    /// The seed of trial `trial` (0-based): a function of the search seed and the trial
    /// number only, so a trial can be re-run alone.
    public static func trialSeed(searchSeed: UInt64, trial: Int) -> UInt64 {
        var random = RandomStream(seed: searchSeed, substream: 0x7472_6961_6C, UInt64(trial))  // "trial"
        return random.next()
    }

    public func trialSeed(_ trial: Int) -> UInt64 { Self.trialSeed(searchSeed: seed, trial: trial) }

    /// The hyperparameters at design coordinates `coordinates` (one per varied
    /// parameter, in [0, 1)), then the fixed ones.
    public func hyperparameters(at coordinates: [Double]) -> [HyperparameterValue] {
        precondition(coordinates.count == parameters.count)
        return zip(parameters, coordinates).map { HyperparameterValue($0.name, $0.range.value(at: $1)) } + fixed
    }

    /// The design that draws the hyperparameters of trial i as its point i (random and
    /// Sobol samplers, and TPE's first trials); nil when nothing is varied.
    public func makeDesign() -> Design? {
        guard !parameters.isEmpty else { return nil }
        let method: DesignMethod = algorithm.sampler == .sobol ? .sobol : .random
        let points = method == .sobol ? SobolSequence.maxPoints : Int(Int32.max)
        // Both designs are sequences: point i does not depend on the point count.
        return try! Design(method: method, dimensions: parameters.count, points: points, seed: seed)
    }

    // MARK: Fingerprint

    /// What decides the trials' results, one readable section each: every space key
    /// and its range or value, the algorithm, the seed and the split. The budget is
    /// left out, so a finished search can be extended with a larger one.
    public var canonicalSections: [(name: String, text: String)] {
        var sections: [(String, String)] = []
        for parameter in parameters { sections.append(("space.\(parameter.name)", parameter.range.description)) }
        for value in fixed { sections.append(("space.\(value.name)", "fixed \(value.value)")) }
        var algorithmText = "name=\(algorithm.name.rawValue), maxEpochs=\(algorithm.maxEpochs)"
        if algorithm.name == .asha {
            algorithmText += ", minEpochs=\(algorithm.minEpochs), reduction=\(algorithm.reduction), "
                + "sampler=\(algorithm.sampler.rawValue)"
        }
        sections.append(("algorithm", algorithmText))
        sections.append(("seed", String(seed)))
        sections.append(("split", "validation=\(ConfigNode.format(split.validation)), "
                             + "test=\(ConfigNode.format(split.test)), seed=\(split.seed)"))
        return sections
    }

    /// SHA-256 of the canonical sections, as hex.
    public var fingerprint: String {
        SHA256Hasher.hex(canonicalSections.map { "\($0.name): \($0.text)\n" }.joined())
    }
}
