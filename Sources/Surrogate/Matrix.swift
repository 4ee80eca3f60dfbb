// A thin, checked layer over OpenBLAS: a row-major Float matrix and one entry point
// to `cblas_sgemm` that validates shapes before handing pointers to C.

import CBLAS
import Foundation

/// A dense row-major matrix of `Float`: element (r, c) is `storage[r * cols + c]`.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Row-major elements; always `rows * cols` of them.
    public private(set) var storage: [Float]

    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows) x \(cols)")
        self.rows = rows
        self.cols = cols
        storage = [Float](repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows) x \(cols)")
        precondition(
            storage.count == rows * cols,
            "Matrix: \(storage.count) elements cannot fill \(rows) x \(cols) = \(rows * cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// A matrix from rows of equal length (`cols` is needed only when there are no rows).
    public init(rows data: [[Float]], cols: Int? = nil) {
        let width = data.first?.count ?? cols ?? 0
        var storage = [Float]()
        storage.reserveCapacity(data.count * width)
        for (index, row) in data.enumerated() {
            precondition(row.count == width, "Matrix: row \(index) has \(row.count) elements, expected \(width)")
            storage += row
        }
        self.init(rows: data.count, cols: width, storage: storage)
    }

    public subscript(row: Int, col: Int) -> Float {
        get {
            precondition(row >= 0 && row < rows && col >= 0 && col < cols, "Matrix: (\(row), \(col)) outside \(rows) x \(cols)")
            return storage[row * cols + col]
        }
        set {
            precondition(row >= 0 && row < rows && col >= 0 && col < cols, "Matrix: (\(row), \(col)) outside \(rows) x \(cols)")
            storage[row * cols + col] = newValue
        }
    }

    /// One row, as a slice of `storage`.
    public func row(_ index: Int) -> ArraySlice<Float> {
        precondition(index >= 0 && index < rows, "Matrix: row \(index) outside 0..<\(rows)")
        return storage[index * cols..<(index + 1) * cols]
    }

    /// The rows at `indices`, in that order (a gather: for splits and subsets).
    public func rows(at indices: some Collection<Int>) -> Matrix {
        var out = [Float]()
        out.reserveCapacity(indices.count * cols)
        for index in indices { out += row(index) }
        return Matrix(rows: indices.count, cols: cols, storage: out)
    }

    public func transposed() -> Matrix {
        var out = Matrix(rows: cols, cols: rows)
        for r in 0..<rows {
            for c in 0..<cols { out.storage[c * rows + r] = storage[r * cols + c] }
        }
        return out
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// Mutable access to the elements; the count cannot change.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0) }
    }
}

/// `c = alpha * op(a) * op(b) + beta * c`, where `op` transposes when asked.
///
/// Shapes are checked: op(a) is m x k, op(b) is k x n and c must be m x n.
public func gemm(
    _ a: Matrix, transposeA: Bool = false,
    _ b: Matrix, transposeB: Bool = false,
    into c: inout Matrix, alpha: Float = 1, beta: Float = 0
) {
    let (m, ka) = transposeA ? (a.cols, a.rows) : (a.rows, a.cols)
    let (kb, n) = transposeB ? (b.cols, b.rows) : (b.rows, b.cols)
    precondition(
        ka == kb,
        "gemm: inner dimensions differ: op(a) is \(m) x \(ka), op(b) is \(kb) x \(n)")
    precondition(
        c.rows == m && c.cols == n,
        "gemm: result is \(c.rows) x \(c.cols), expected \(m) x \(n)")
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                BLAS.sgemm(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: ka,
                    alpha: alpha, a: pa, lda: max(1, a.cols), b: pb, ldb: max(1, b.cols),
                    beta: beta, c: pc, ldc: max(1, n))
            }
        }
    }
}

/// The product `op(a) * op(b)` as a new matrix.
public func gemm(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) -> Matrix {
    var c = Matrix(rows: transposeA ? a.cols : a.rows, cols: transposeB ? b.rows : b.cols)
    gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
    return c
}

/// OpenBLAS entry points: the thread count and the one checked call to `cblas_sgemm`.
public enum BLAS {
    /// OpenBLAS's worker-thread count, process-wide. Training and batch prediction
    /// set it to 1 and run their own workers (which also parallelise the elementwise
    /// work); it matters for direct `gemm` calls.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel set OpenBLAS runs ("Cooperlake", "Haswell", ...) and why: its own
    /// choice for this CPU, or the `OPENBLAS_CORETYPE` variable that forced it (a
    /// narrower set than the CPU has can halve batch prediction: benchmarks print this).
    public static var kernels: String {
        let name = String(cString: openblas_get_corename())
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            return "\(name) (set by OPENBLAS_CORETYPE=\(forced))"
        }
        return "\(name) (OpenBLAS's choice for this CPU)"
    }

    public static func setThreads(_ count: Int) {
        precondition(count >= 1, "BLAS.setThreads: need at least one thread, got \(count)")
        if openblas_get_num_threads() != Int32(count) { openblas_set_num_threads(Int32(count)) }
    }

    /// Row-major `c[m x n] = alpha * op(a) * op(b) + beta * c` over buffers with leading
    /// dimensions (row strides) `lda`, `ldb`, `ldc`. Every buffer must hold the rows the
    /// shape needs, so a batch may use the first rows of a larger preallocated buffer.
    @inline(__always)
    static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafeBufferPointer<Float>, lda: Int,
        b: UnsafeBufferPointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutableBufferPointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative shape m \(m), n \(n), k \(k)")
        precondition(max(m, n, k, lda, ldb, ldc) <= Int(Int32.max), "sgemm: dimension exceeds 32-bit BLAS indices")
        // Stored shapes: a is (m x k) or, transposed, (k x m); likewise b.
        let (aRows, aCols) = transposeA ? (k, m) : (m, k)
        let (bRows, bCols) = transposeB ? (n, k) : (k, n)
        precondition(lda >= max(1, aCols), "sgemm: lda \(lda) < \(aCols) columns of a")
        precondition(ldb >= max(1, bCols), "sgemm: ldb \(ldb) < \(bCols) columns of b")
        precondition(ldc >= max(1, n), "sgemm: ldc \(ldc) < \(n) columns of c")
        precondition(a.count >= needed(aRows, aCols, lda), "sgemm: a holds \(a.count) floats, \(aRows) x \(aCols) (lda \(lda)) needs \(needed(aRows, aCols, lda))")
        precondition(b.count >= needed(bRows, bCols, ldb), "sgemm: b holds \(b.count) floats, \(bRows) x \(bCols) (ldb \(ldb)) needs \(needed(bRows, bCols, ldb))")
        precondition(c.count >= needed(m, n, ldc), "sgemm: c holds \(c.count) floats, \(m) x \(n) (ldc \(ldc)) needs \(needed(m, n, ldc))")
        guard m > 0, n > 0 else { return }
        guard k > 0 else {  // an empty sum: c = beta * c, without asking BLAS about empty operands
            for r in 0..<m { for j in 0..<n { c[r * ldc + j] = beta == 0 ? 0 : beta * c[r * ldc + j] } }
            return
        }
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a.baseAddress, Int32(lda), b.baseAddress, Int32(ldb),
            beta, c.baseAddress, Int32(ldc))
    }

    @inline(__always)
    private static func needed(_ rows: Int, _ cols: Int, _ ld: Int) -> Int {
        rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols
    }
}
