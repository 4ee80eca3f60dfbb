// The multilayer perceptron: its shape, its parameters in one flat array, and their
// seeded initialisation.

import Foundation
import Simulation

/// The shape of a network: `inputs`, then one fully connected layer per entry of
/// `hidden` followed by `activation`, then a linear layer of `outputs` targets.
public struct NetworkArchitecture: Codable, Sendable, Equatable {
    public var inputs: Int
    public var hidden: [Int]
    public var outputs: Int
    public var activation: Activation

    public init(inputs: Int, hidden: [Int], outputs: Int, activation: Activation) {
        self.inputs = inputs
        self.hidden = hidden
        self.outputs = outputs
        self.activation = activation
    }

    /// `layers` hidden layers of `width` units.
    public init(inputs: Int, layers: Int, width: Int, outputs: Int, activation: Activation) {
        self.init(inputs: inputs, hidden: Array(repeating: width, count: layers), outputs: outputs, activation: activation)
    }

    /// Layer sizes from input to output: [inputs, hidden..., outputs].
    public var sizes: [Int] { [inputs] + hidden + [outputs] }

    /// Number of weight layers (hidden layers plus the output layer).
    public var layerCount: Int { hidden.count + 1 }

    /// The widest layer, inputs included: the size of a scratch row. (Computed
    /// without building `sizes`: hot paths ask, and must not allocate.)
    var maxWidth: Int { hidden.reduce(max(inputs, outputs), max) }

    /// Every weight and bias.
    public var parameterCount: Int {
        var count = 0, previous = inputs
        for width in hidden {
            count += previous * width + width
            previous = width
        }
        return count + previous * outputs + outputs
    }

    /// Why this shape cannot be built, or nil.
    public var problem: String? {
        if inputs < 1 { return "inputs must be at least 1, got \(inputs)" }
        if outputs < 1 { return "outputs must be at least 1, got \(outputs)" }
        if let bad = hidden.firstIndex(where: { $0 < 1 }) {
            return "hidden layer \(bad + 1) must have at least 1 unit, got \(hidden[bad])"
        }
        return nil
    }
}

/// Where layer `l`'s weights and biases live in the flat parameter array. Weights are
/// row-major `inputs x outputs` (so a layer computes `z = a * W + b` on row vectors);
/// each layer's biases follow its weights.
struct LayerSlot: Sendable, Equatable {
    var inputs: Int
    var outputs: Int
    var weightOffset: Int
    var biasOffset: Int
    var weightCount: Int { inputs * outputs }
}

/// A network: its architecture and all parameters, contiguous (so the optimiser
/// updates them in one loop and a snapshot is one array copy).
public struct Network: Sendable, Equatable {
    public let architecture: NetworkArchitecture
    /// Layer by layer: weights (`inputs x outputs`, row-major), then biases.
    public internal(set) var parameters: [Float]
    let slots: [LayerSlot]

    /// A network with all parameters zero.
    public init(architecture: NetworkArchitecture) {
        precondition(architecture.problem == nil, "Network: \(architecture.problem ?? "")")
        self.architecture = architecture
        slots = Self.slots(for: architecture)
        parameters = [Float](repeating: 0, count: architecture.parameterCount)
    }

    /// A freshly initialised network: hidden layers He-normal (relu, silu) or
    /// Glorot-uniform (tanh), the linear output layer Glorot-uniform, biases zero.
    /// Draws from `RandomStream(seed: seed, substream: 1)`.
    public init(architecture: NetworkArchitecture, seed: UInt64) {
        self.init(architecture: architecture)
        var random = RandomStream(seed: seed, substream: 1)
        for (index, slot) in slots.enumerated() {
            let isOutput = index == slots.count - 1
            let he = architecture.activation.usesHeInitialisation && !isOutput
            let fanIn = Double(slot.inputs), fanOut = Double(slot.outputs)
            for i in 0..<slot.weightCount {
                let w: Double
                if he {
                    w = random.standardNormal() * (2 / fanIn).squareRoot()
                } else {
                    let limit = (6 / (fanIn + fanOut)).squareRoot()
                    w = (2 * random.nextOpenUnit() - 1) * limit
                }
                parameters[slot.weightOffset + i] = Float(w)
            }
        }
    }

    /// A network from per-layer weights and biases (model files); shapes are checked.
    init(architecture: NetworkArchitecture, layers: [(weights: [Float], biases: [Float])]) {
        self.init(architecture: architecture)
        precondition(layers.count == slots.count, "Network: \(layers.count) layers given, architecture has \(slots.count)")
        for (slot, layer) in zip(slots, layers) {
            precondition(layer.weights.count == slot.weightCount && layer.biases.count == slot.outputs, "Network: layer shape mismatch")
            parameters.replaceSubrange(slot.weightOffset..<slot.weightOffset + slot.weightCount, with: layer.weights)
            parameters.replaceSubrange(slot.biasOffset..<slot.biasOffset + slot.outputs, with: layer.biases)
        }
    }

    /// Layer `index`'s weights, row-major `inputs x outputs`.
    public func weights(layer index: Int) -> ArraySlice<Float> {
        let slot = slots[index]
        return parameters[slot.weightOffset..<slot.weightOffset + slot.weightCount]
    }

    /// Layer `index`'s biases.
    public func biases(layer index: Int) -> ArraySlice<Float> {
        let slot = slots[index]
        return parameters[slot.biasOffset..<slot.biasOffset + slot.outputs]
    }

    public static func == (lhs: Network, rhs: Network) -> Bool {
        lhs.architecture == rhs.architecture && lhs.parameters == rhs.parameters
    }

    /// Bit-level equality (`==` on Float treats 0 and -0 as equal, NaN as unequal).
    public func isBitIdentical(to other: Network) -> Bool {
        architecture == other.architecture && parameters.count == other.parameters.count
            && zip(parameters, other.parameters).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    static func slots(for architecture: NetworkArchitecture) -> [LayerSlot] {
        let sizes = architecture.sizes
        var offset = 0
        var slots: [LayerSlot] = []
        for l in 0..<architecture.layerCount {
            let slot = LayerSlot(
                inputs: sizes[l], outputs: sizes[l + 1], weightOffset: offset, biasOffset: offset + sizes[l] * sizes[l + 1])
            slots.append(slot)
            offset = slot.biasOffset + slot.outputs
        }
        return slots
    }
}

extension RandomStream {
    /// A standard normal deviate (Box-Muller; one of the pair is discarded, which keeps
    /// the stream stateless beyond its generator).
    mutating func standardNormal() -> Double {
        let u = nextOpenUnit(), v = nextOpenUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// A uniform index in 0..<bound (Lemire's multiply-high; the bias is below bound / 2^64).
    mutating func index(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}
