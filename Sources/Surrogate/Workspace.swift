// Forward and backward passes over a mini-batch, in buffers allocated once.
//
// For a batch A0 (m x d) and layer l with weights W (in x out) and bias b:
//   forward   Z = A W + b (sgemm), A' = f(Z)
//   backward  dW = A^T D (sgemm), db = column sums of D, D_prev = (D W^T) * f'(Z_prev) (sgemm)
// where D = dLoss/dZ. The loss is the mean over all m x k outputs of the squared error,
// or of Huber's loss (`loss(rows:gradientScale:huberDelta:)`).

/// Scratch buffers for up to `capacity` rows: inputs, each layer's pre-activations
/// and activations, two delta buffers and the gradient (training), or inputs and two
/// buffers the layers alternate between (prediction). One arena, allocated once; a
/// batch of m <= capacity rows uses the first m rows of every buffer.
///
/// A class because it owns raw memory; it is scratch, never used by two passes at
/// once (a copied `Trainer` gets fresh scratch before training, `Predictor` makes one
/// per worker), hence `@unchecked Sendable`.
final class Workspace: @unchecked Sendable {
    let architecture: NetworkArchitecture
    let capacity: Int
    let slots: [LayerSlot]
    let keepsPreactivations: Bool
    let parameterCount: Int

    private let arena: UnsafeMutableBufferPointer<Float>
    /// Input rows (capacity x inputs); callers fill the first m rows.
    let input: UnsafeMutableBufferPointer<Float>
    /// Target rows (capacity x outputs), standardised; training only.
    let targets: UnsafeMutableBufferPointer<Float>
    /// Per layer: Z and activations A (one buffer for the linear output layer, and for
    /// every layer in prediction). In training, a hidden layer's Z holds what the
    /// backward pass needs (sigmoid(z) for silu), not necessarily z itself.
    let z: [UnsafeMutableBufferPointer<Float>]
    let a: [UnsafeMutableBufferPointer<Float>]
    private let deltaA: UnsafeMutableBufferPointer<Float>
    private let deltaB: UnsafeMutableBufferPointer<Float>
    /// dLoss/dparameters, laid out like `Network.parameters`.
    let gradients: UnsafeMutableBufferPointer<Float>

    /// `training` keeps pre-activations and allocates deltas, targets and gradients.
    init(architecture: NetworkArchitecture, capacity: Int, training: Bool) {
        precondition(capacity >= 1, "Workspace: capacity must be at least 1")
        self.architecture = architecture
        self.capacity = capacity
        slots = Network.slots(for: architecture)
        keepsPreactivations = training
        parameterCount = architecture.parameterCount
        let outputs = architecture.outputs, width = architecture.maxWidth
        var sizes = [capacity * architecture.inputs]  // input
        sizes.append(training ? capacity * outputs : 0)  // targets
        for (index, slot) in slots.enumerated() {
            // Prediction ping-pongs between the two buffers carved last (layer l reads
            // l - 1's activations, so alternate buffers never overlap): two layers'
            // worth of rows in cache instead of every layer's.
            sizes.append(training ? capacity * slot.outputs : 0)  // z
            let separateA = training && index < slots.count - 1
            sizes.append(separateA ? capacity * slot.outputs : 0)  // a
        }
        // Training: the two delta buffers; prediction: the two ping-pong buffers.
        sizes += [capacity * width, capacity * width, training ? architecture.parameterCount : 0]
        let memory = UnsafeMutableBufferPointer<Float>.allocate(capacity: sizes.reduce(0, +))
        memory.initialize(repeating: 0)
        arena = memory
        var offset = 0
        func carve(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            defer { offset += count }
            return UnsafeMutableBufferPointer(rebasing: memory[offset..<offset + count])
        }
        input = carve(sizes[0])
        targets = carve(sizes[1])
        var zBuffers: [UnsafeMutableBufferPointer<Float>] = [], aBuffers: [UnsafeMutableBufferPointer<Float>] = []
        for index in 0..<architecture.layerCount {
            zBuffers.append(carve(sizes[2 + 2 * index]))
            aBuffers.append(carve(sizes[3 + 2 * index]))
        }
        let pair = (carve(sizes[sizes.count - 3]), carve(sizes[sizes.count - 2]))
        deltaA = pair.0
        deltaB = pair.1
        gradients = carve(sizes[sizes.count - 1])
        var z: [UnsafeMutableBufferPointer<Float>] = [], a: [UnsafeMutableBufferPointer<Float>] = []
        for (index, slot) in slots.enumerated() {
            let zBuffer = training
                ? zBuffers[index]
                : UnsafeMutableBufferPointer(rebasing: (index % 2 == 0 ? pair.0 : pair.1)[0..<capacity * slot.outputs])
            z.append(zBuffer)
            a.append(aBuffers[index].isEmpty ? zBuffer : aBuffers[index])
        }
        self.z = z
        self.a = a
    }

    deinit { arena.deallocate() }

    /// The network's outputs for the first `rows` input rows (after `forward`).
    var output: UnsafeMutableBufferPointer<Float> { z[z.count - 1] }

    /// Copies the rows `rows` of row-major `inputs` and `targets` into the first rows
    /// of `input` and `targets`.
    func gather(_ rows: UnsafeBufferPointer<Int>, inputs: UnsafeBufferPointer<Float>, targets source: UnsafeBufferPointer<Float>) {
        precondition(rows.count <= capacity, "Workspace: \(rows.count) rows exceed capacity \(capacity)")
        let d = architecture.inputs, k = architecture.outputs
        let x = inputs.baseAddress!, y = source.baseAddress!, input = input.baseAddress!, target = targets.baseAddress!
        for (r, row) in rows.enumerated() {
            precondition(row >= 0 && (row + 1) * d <= inputs.count && (row + 1) * k <= source.count, "Workspace: row \(row) out of range")
            (input + r * d).update(from: x + row * d, count: d)
            (target + r * k).update(from: y + row * k, count: k)
        }
    }

    /// Forward pass over the first `rows` rows of `input`.
    func forward(parameters: UnsafeBufferPointer<Float>, rows m: Int) {
        precondition(m >= 0 && m <= capacity, "Workspace: batch of \(m) rows exceeds capacity \(capacity)")
        precondition(parameters.count == parameterCount, "Workspace: \(parameters.count) parameters, architecture needs \(parameterCount)")
        let base = parameters.baseAddress!
        var previous = UnsafeBufferPointer(input)
        for (index, slot) in slots.enumerated() {
            BLAS.sgemm(
                transposeA: false, transposeB: false, m: m, n: slot.outputs, k: slot.inputs, alpha: 1,
                a: previous, lda: slot.inputs,
                b: UnsafeBufferPointer(rebasing: parameters[slot.weightOffset..<slot.weightOffset + slot.weightCount]), ldb: slot.outputs,
                beta: 0, c: z[index], ldc: slot.outputs)
            let activation = index == slots.count - 1 ? nil : architecture.activation
            if a[index].baseAddress == z[index].baseAddress {
                Kernels.addBiasActivate(activation, rows: m, cols: slot.outputs, bias: base + slot.biasOffset, x: z[index].baseAddress!)
            } else {
                Kernels.addBiasActivate(
                    activation, rows: m, cols: slot.outputs, bias: base + slot.biasOffset,
                    z: z[index].baseAddress!, a: a[index].baseAddress!)
            }
            previous = UnsafeBufferPointer(a[index])
        }
    }

    /// The loss of the outputs against `targets` over the first `rows` rows, summed: the
    /// squared error e^2 of each output, or with `huberDelta` > 0 Huber's loss, e^2
    /// within delta of the target and 2 delta |e| - delta^2 beyond (the same scale as
    /// e^2, linear in the tails). With `gradientScale`, the gradient with respect to the
    /// outputs, `gradientScale * e` (e clamped to [-delta, delta] for Huber's), into the
    /// first delta. For the mean over a batch of m rows and k targets the scale is
    /// 2 / (m k); a worker holding part of a batch uses the whole batch's m.
    @discardableResult
    func loss(rows m: Int, gradientScale: Float? = nil, huberDelta: Float = 0) -> Double {
        let k = architecture.outputs
        let out = output.baseAddress!, target = targets.baseAddress!
        var sum = 0.0
        for r in 0..<m {
            var rowSum: Float = 0
            for j in 0..<k {
                let e = out[r * k + j] - target[r * k + j]
                if huberDelta > 0 && abs(e) > huberDelta {
                    rowSum += 2 * huberDelta * abs(e) - huberDelta * huberDelta
                    if let gradientScale { deltaA[r * k + j] = gradientScale * (e > 0 ? huberDelta : -huberDelta) }
                } else {
                    rowSum += e * e
                    if let gradientScale { deltaA[r * k + j] = gradientScale * e }
                }
            }
            sum += Double(rowSum)
        }
        return sum
    }

    /// Backward pass over the first `rows` rows after `forward` and `loss`:
    /// fills `gradients` (overwriting them).
    func backward(parameters: UnsafeBufferPointer<Float>, rows m: Int) {
        precondition(keepsPreactivations, "Workspace: backward needs a training workspace")
        precondition(m >= 1 && m <= capacity, "Workspace: batch of \(m) rows exceeds capacity \(capacity)")
        var delta = deltaA, spare = deltaB
        for index in slots.indices.reversed() {
            let slot = slots[index]
            let previous = index == 0 ? UnsafeBufferPointer(input) : UnsafeBufferPointer(a[index - 1])
            // dW = A_prev^T D: (in x m) (m x out).
            BLAS.sgemm(
                transposeA: true, transposeB: false, m: slot.inputs, n: slot.outputs, k: m, alpha: 1,
                a: previous, lda: slot.inputs, b: UnsafeBufferPointer(delta), ldb: slot.outputs,
                beta: 0, c: UnsafeMutableBufferPointer(rebasing: gradients[slot.weightOffset..<slot.weightOffset + slot.weightCount]),
                ldc: slot.outputs)
            // db = column sums of D.
            let db = gradients.baseAddress! + slot.biasOffset
            let d = delta.baseAddress!
            for j in 0..<slot.outputs { db[j] = 0 }
            for r in 0..<m {
                let row = d + r * slot.outputs
                for j in 0..<slot.outputs { db[j] += row[j] }
            }
            guard index > 0 else { break }
            // D_prev = (D W^T) * f'(Z_prev): (m x out) (out x in); f' from A_prev and
            // what the forward pass kept in z (sigmoid for silu).
            BLAS.sgemm(
                transposeA: false, transposeB: true, m: m, n: slot.inputs, k: slot.outputs, alpha: 1,
                a: UnsafeBufferPointer(delta), lda: slot.outputs,
                b: UnsafeBufferPointer(rebasing: parameters[slot.weightOffset..<slot.weightOffset + slot.weightCount]), ldb: slot.outputs,
                beta: 0, c: spare, ldc: slot.inputs)
            Kernels.multiplyDerivative(
                architecture.activation, count: m * slot.inputs, s: z[index - 1].baseAddress!,
                a: a[index - 1].baseAddress!, delta: spare.baseAddress!)
            swap(&delta, &spare)
        }
    }
}
