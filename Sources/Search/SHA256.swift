// SHA-256 of text as lowercase hex (spec fingerprints), from swift-crypto.

import Crypto

enum TextHash {
    static func hex(_ text: String) -> String {
        Crypto.SHA256.hash(data: Array(text.utf8)).map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined()
    }

    private static let hexDigits = (0..<16).map { String($0, radix: 16) }
}
