// SHA-256 and lowercase hex, from swift-crypto (BoringSSL's implementation on Linux):
// the one hash helper for spec fingerprints, dataset hashes and blob names.

import Crypto

/// An incremental SHA-256, so large blobs can be hashed chunk by chunk; and one-shot
/// digests of bytes or text, raw or as 64 lowercase hex digits.
public struct SHA256Hasher {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update(_ bytes: some Collection<UInt8>) {
        hasher.update(data: Array(bytes))
    }

    public mutating func update(_ buffer: UnsafeBufferPointer<UInt8>) {
        hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
    }

    /// The 32-byte digest.
    public mutating func finalize() -> [UInt8] {
        Array(hasher.finalize())
    }

    /// The 32-byte digest of `bytes`.
    public static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256Hasher()
        if bytes.withContiguousStorageIfAvailable({ hasher.update($0) }) == nil { hasher.update(bytes) }
        return hasher.finalize()
    }

    /// The digest of `bytes` as 64 lowercase hex digits.
    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        hexString(digest(bytes))
    }

    /// The digest of `text`'s UTF-8 as 64 lowercase hex digits (spec fingerprints).
    public static func hex(_ text: String) -> String {
        hex(Array(text.utf8))
    }
}

/// `bytes` as lowercase hex, two digits a byte.
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}
