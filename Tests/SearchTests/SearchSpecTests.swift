// Search specs: reading the issue's example, the exact text of errors (dotted paths,
// did-you-mean), trial seeds, sampling and the fingerprint.

import Simulation
import Testing
@testable import Search

@Suite("Search specs")
struct SearchSpecTests {
    /// The trainer's vocabulary as Pipeline defines it (Search does not know the trainer).
    static let vocabulary = SearchVocabulary(
        parameters: [
            HyperparameterDefinition("layers", .whole, rules: [.atLeast(1)]),
            HyperparameterDefinition("width", .whole, rules: [.atLeast(1)]),
            HyperparameterDefinition("activation", .name(["relu", "silu", "tanh"])),
            HyperparameterDefinition("lr", .real, rules: [.greaterThan(0)], aliases: ["learningRate"]),
            HyperparameterDefinition("batchSize", .whole, rules: [.atLeast(1)]),
            HyperparameterDefinition("weightDecay", .real, rules: [.atLeast(0)]),
            HyperparameterDefinition("patience", .whole, rules: [.atLeast(1)]),
        ],
        defaultMaxEpochs: 300,
        reserved: ["seed": "each trial's seed is derived from the search seed; set the top-level seed"])

    /// The issue's example: space on lines 2-8, budget line 9, algorithm line 10.
    static let example = """
        space:
          layers: { int: [1, 4] }
          width: { choice: [32, 64, 128, 256, 512] }
          activation: { choice: [relu, silu, tanh] }
          lr: { loguniform: [0.0001, 0.03] }
          batchSize: { choice: [64, 128, 256, 512] }
          weightDecay: { loguniform: [0.000001, 0.001] }
        budget: { trials: 64 }
        algorithm: { name: asha, minEpochs: 10, maxEpochs: 270, reduction: 3 }
        seed: 1
        """

    static func parse(_ text: String) throws -> SearchSpec {
        try SearchSpec.parse(text, vocabulary: vocabulary)
    }

    static func failure(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func replacing(_ old: String, with new: String) -> String {
        precondition(example.contains(old), "the example has no \(old)")
        return example.replacingOccurrences(of: old, with: new)
    }

    @Test func readsTheIssuesExample() throws {
        let spec = try Self.parse(Self.example)
        #expect(spec.parameters.map(\.name) == ["layers", "width", "activation", "lr", "batchSize", "weightDecay"])
        #expect(spec.parameters[0].range == .int(1, 4))
        #expect(spec.parameters[2].range == .choice([.name("relu"), .name("silu"), .name("tanh")]))
        #expect(spec.parameters[3].range == .loguniform(0.0001, 0.03))
        #expect(spec.budget == SearchBudget(trials: 64))
        #expect(spec.algorithm.name == .asha && spec.algorithm.sampler == .random)
        #expect(spec.algorithm.rungs == [10, 30, 90, 270])
        #expect(spec.seed == 1)
        #expect(spec.split == SearchSplit(validation: 0.1, test: 0.1, seed: 1))
    }

    @Test func plainValuesAreFixedAndAliasesAreAccepted() throws {
        let spec = try Self.parse(Self.replacing("  lr: { loguniform: [0.0001, 0.03] }",
                                                 with: "  learningRate: { loguniform: [0.0001, 0.03] }\n  patience: 40"))
        #expect(spec.parameters.map(\.name).contains("lr"))
        #expect(spec.fixed == [HyperparameterValue("patience", .number(40))])
        let values = spec.hyperparameters(at: Array(repeating: 0.5, count: spec.parameters.count))
        #expect(values.last == HyperparameterValue("patience", .number(40)))
    }

    @Test func algorithmDefaults() throws {
        let random = try Self.parse(Self.replacing("{ name: asha, minEpochs: 10, maxEpochs: 270, reduction: 3 }",
                                                   with: "{ name: random }"))
        #expect(random.algorithm.rungs == [300])  // the vocabulary's default maxEpochs
        #expect(random.algorithm.sampler == .random)
        let asha = try Self.parse(Self.replacing("{ name: asha, minEpochs: 10, maxEpochs: 270, reduction: 3 }",
                                                 with: "{ name: asha, maxEpochs: 81, sampler: sobol }"))
        #expect(asha.algorithm.rungs == [3, 9, 27, 81])  // four rungs: 81 / 3^3
        #expect(asha.algorithm.sampler == .sobol)
        let both = try Self.parse(Self.replacing("{ trials: 64 }", with: "{ trials: 64, minutes: 30 }"))
        #expect(both.budget.seconds == 1800 && both.budget.trials == 64)
    }

    @Test(arguments: [
        ("  width: { choice", "  widht: { choice",
         "space.widht: unknown hyperparameter; did you mean width? (line 3)"),
        ("  width: { choice: [32, 64, 128, 256, 512] }", "  dropout: { uniform: [0, 0.5] }",
         "space.dropout: unknown hyperparameter; a search can set layers, width, activation, lr, batchSize, weightDecay, patience (line 3)"),
        ("  width: { choice: [32, 64, 128, 256, 512] }", "  seed: 3",
         "space.seed: each trial's seed is derived from the search seed; set the top-level seed (line 3)"),
        ("{ choice: [relu, silu, tanh] }", "{ uniform: [0, 1] }",
         "space.activation.uniform: activation is a name; use choice: [relu, silu, tanh] (line 4)"),
        ("{ choice: [relu, silu, tanh] }", "{ choice: [relu, sliu] }",
         "space.activation.choice.2: unknown value \"sliu\"; did you mean silu? (line 4)"),
        ("{ int: [1, 4] }", "{ uniform: [1, 4] }",
         "space.layers.uniform: layers is a whole number; use int, logint or choice (line 2)"),
        ("{ int: [1, 4] }", "{ int: [0, 4] }", "space.layers.int.1: must be >= 1, got 0 (line 2)"),
        ("{ loguniform: [0.0001, 0.03] }", "{ loguniform: [0, 0.03] }",
         "space.lr.loguniform.1: must be > 0, got 0 (line 5)"),
        ("{ loguniform: [0.0001, 0.03] }", "{ normal: [0, 1] }",
         "space.lr.normal: unknown key; expected one of: uniform, loguniform, int, logint, choice, lowShare (line 5)"),
        ("  lr: { loguniform: [0.0001, 0.03] }", "  lr: 0.001\n  learningRate: 0.002",
         "space.learningRate: lr is given twice (as lr and learningRate) (line 6)"),
        ("  lr: { loguniform: [0.0001, 0.03] }", "  lr: [0.001, 0.01]",
         "space.lr: expected a range (one of uniform, loguniform, int, logint or choice, as in { choice: [a, b] }) or a single value (line 5)"),
        ("budget: { trials: 64 }", "budjet: { trials: 64 }",
         "budjet: unknown key; did you mean budget? (line 8)"),
        ("budget: { trials: 64 }", "budget: {}",
         "budget: give trials (how many configurations to try) or minutes (how long to search), or both (line 8)"),
        ("budget: { trials: 64 }", "budget: { trials: 0 }", "budget.trials: must be >= 1, got 0 (line 8)"),
        ("budget: { trials: 64 }", "budget: { minuts: 5 }", "budget.minuts: unknown key; did you mean minutes? (line 8)"),
        ("name: asha,", "name: ahsa,", "algorithm.name: unknown value \"ahsa\"; did you mean asha? (line 9)"),
        ("minEpochs: 10,", "minEpochs: 300,", "algorithm.minEpochs: must be <= maxEpochs (270), got 300 (line 9)"),
        ("reduction: 3", "reduction: 1", "algorithm.reduction: must be >= 2, got 1 (line 9)"),
        ("{ name: asha, minEpochs: 10, maxEpochs: 270, reduction: 3 }", "{ name: random, minEpochs: 10 }",
         "algorithm.minEpochs: only asha has minEpochs; random trains every trial to maxEpochs (line 9)"),
        ("seed: 1", "seed: 1\nsplit: { validation: 0.5, test: 0.5 }",
         "split.test: validation + test must be below 1 (the rest is the training split), got 1 (line 11)"),
    ])
    func errors(old: String, new: String, expected: String) {
        #expect(Self.failure(Self.replacing(old, with: new)) == expected)
    }

    @Test func missingSections() {
        #expect(Self.failure("") == "the search spec is empty; it needs space, budget and algorithm")
        #expect(Self.failure("space: { layers: 2 }\nbudget: { trials: 1 }") == "algorithm: required key is missing")
    }

    @Test func trialSeedsDependOnTheSearchSeedAndTrialOnly() {
        let seeds = (0..<100).map { SearchSpec.trialSeed(searchSeed: 1, trial: $0) }
        #expect(Set(seeds).count == 100)
        #expect(SearchSpec.trialSeed(searchSeed: 1, trial: 7) == seeds[7])
        #expect(SearchSpec.trialSeed(searchSeed: 2, trial: 7) != seeds[7])
    }

    @Test func trialsAreDesignPoints() throws {
        let spec = try Self.parse(Self.example)
        let design = try #require(spec.makeDesign())
        let values = spec.hyperparameters(at: design.point(3))
        #expect(values.map(\.name) == ["layers", "width", "activation", "lr", "batchSize", "weightDecay"])
        let lr = try #require(values[3].value.number)
        #expect(lr >= 0.0001 && lr <= 0.03)
        // Point i does not depend on how many trials the budget allows.
        let bigger = try Self.parse(Self.replacing("{ trials: 64 }", with: "{ trials: 1000 }"))
        #expect(bigger.hyperparameters(at: try #require(bigger.makeDesign()).point(3)) == values)
    }

    @Test func theFingerprintLeavesTheBudgetOut() throws {
        let spec = try Self.parse(Self.example)
        let more = try Self.parse(Self.replacing("{ trials: 64 }", with: "{ trials: 128 }"))
        let otherSeed = try Self.parse(Self.replacing("seed: 1", with: "seed: 2"))
        let otherRange = try Self.parse(Self.replacing("{ int: [1, 4] }", with: "{ int: [1, 3] }"))
        #expect(spec.fingerprint == more.fingerprint)
        #expect(spec.fingerprint != otherSeed.fingerprint)
        #expect(spec.fingerprint != otherRange.fingerprint)
        #expect(spec.canonicalSections.first! == ("space.layers", "int [1, 4]"))
    }
}
