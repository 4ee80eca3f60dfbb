import CZeroMQ

/// Why a text is not a usable CURVE key.
public enum CurveKeyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A Z85 key has exactly 40 characters (32 bytes).
    case wrongLength(role: String, length: Int)
    /// Z85 uses `0-9 a-z A-Z . - : + = ^ ! / * ? & < > ( ) [ ] { } @ % $ #` only.
    case invalidCharacter(role: String, character: Character, offset: Int)
    /// Every character is Z85 but a 5-character group exceeds 32 bits.
    case undecodable(role: String)

    public var description: String {
        switch self {
        case .wrongLength(let role, let length):
            "\(role) must be 40 Z85 characters (32 bytes), got \(length) characters"
        case .invalidCharacter(let role, let character, let offset):
            "\(role) has \(character.debugDescription) at offset \(offset), which is not a Z85 character"
        case .undecodable(let role):
            "\(role) is not valid Z85: a 5-character group exceeds 32 bits"
        }
    }
}

/// A CURVE long-term key pair, both halves as 40-character Z85 text. `description`
/// never shows the secret key.
public struct CurveKeyPair: Sendable, Hashable, CustomStringConvertible {
    public let publicKey: String
    public let secretKey: String

    /// Whether the loaded libzmq was built with CURVE (`zmq_has("curve")`).
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    /// A fresh random key pair (`zmq_curve_keypair`). Throws `ENOTSUP` without CURVE.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_keypair", retryingEINTR: false) {
            zmq_curve_keypair(&publicKey, &secretKey)
        }
        return CurveKeyPair(
            checkedPublicKey: String(decoding: publicKey.prefix(40).map(UInt8.init), as: UTF8.self),
            secretKey: String(decoding: secretKey.prefix(40).map(UInt8.init), as: UTF8.self))
    }

    /// The pair for `secretKey`, deriving its public half (`zmq_curve_public`).
    /// Throws `CurveKeyError` for a malformed key, `ZMQError` (`ENOTSUP`) without CURVE.
    public init(secretKey: String) throws {
        try CurveKeyPair.validate(secretKey, role: "CURVE secret key")
        var publicKey = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_public", retryingEINTR: false) {
            zmq_curve_public(&publicKey, secretKey)
        }
        self.init(
            checkedPublicKey: String(decoding: publicKey.prefix(40).map(UInt8.init), as: UTF8.self),
            secretKey: secretKey)
    }

    private init(checkedPublicKey: String, secretKey: String) {
        self.publicKey = checkedPublicKey
        self.secretKey = secretKey
    }

    /// Checks that `key` is 40 characters of Z85 that decode to 32 bytes. `role` names
    /// the key in the error ("server public key", "worker key in keys.yaml", ...).
    public static func validate(_ key: String, role: String = "CURVE key") throws(CurveKeyError) {
        let characters = Array(key)
        guard characters.count == 40 else {
            throw .wrongLength(role: role, length: characters.count)
        }
        if let offset = characters.firstIndex(where: { !Z85.alphabet.contains($0) }) {
            throw .invalidCharacter(role: role, character: characters[offset], offset: offset)
        }
        guard Z85.decode(key) != nil else { throw .undecodable(role: role) }
    }

    public var description: String { "CurveKeyPair(public: \(publicKey), secret: <redacted>)" }
}

/// Z85 (ZeroMQ RFC 32), the text form of CURVE keys, through libzmq.
enum Z85 {
    static let alphabet = Set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")

    /// Encodes bytes whose count is a multiple of 4 (`zmq_z85_encode`); nil otherwise.
    static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var text = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        guard zmq_z85_encode(&text, bytes, bytes.count) != nil else { return nil }
        return String(decoding: text.dropLast().map(UInt8.init), as: UTF8.self)
    }

    /// Decodes text whose length is a multiple of 5 (`zmq_z85_decode`); nil when it is
    /// not valid Z85.
    static func decode(_ text: String) -> [UInt8]? {
        let length = text.utf8.count
        guard length % 5 == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: length * 4 / 5)
        guard zmq_z85_decode(&bytes, text) != nil else { return nil }
        return bytes
    }
}

extension Socket {
    /// Makes this socket a CURVE server holding `keys` (only the secret half is used).
    /// Call before `bind`. Every client must know `keys.publicKey`; which clients get in
    /// is up to a `ZAPAuthenticator` in the same context. **Without one, any client that
    /// knows the server key is accepted.**
    public func configureCurveServer(keys: CurveKeyPair) throws {
        try CurveKeyPair.validate(keys.secretKey, role: "CURVE server secret key")
        try set(.curveServer, true)
        try set(.curveSecretKey, keys.secretKey)
    }

    /// Makes this socket a CURVE client of the server whose public key is `serverKey`,
    /// authenticating with `keys`. Call before `connect`.
    public func configureCurveClient(serverKey: String, keys: CurveKeyPair) throws {
        try CurveKeyPair.validate(serverKey, role: "CURVE server public key")
        try CurveKeyPair.validate(keys.publicKey, role: "CURVE client public key")
        try CurveKeyPair.validate(keys.secretKey, role: "CURVE client secret key")
        try set(.curveServerKey, serverKey)
        try set(.curvePublicKey, keys.publicKey)
        try set(.curveSecretKey, keys.secretKey)
    }
}
