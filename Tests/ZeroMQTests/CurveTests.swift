import Testing

@testable import ZeroMQ

@Suite struct CurveTests {
    @Test func libraryHasCurve() {
        #expect(CurveKeyPair.isAvailable)
    }

    @Test func generatedKeysAreValidZ85AndDistinct() throws {
        let a = try CurveKeyPair.generate()
        let b = try CurveKeyPair.generate()
        for key in [a.publicKey, a.secretKey, b.publicKey] {
            #expect(key.count == 40)
            try CurveKeyPair.validate(key)
        }
        #expect(a != b)
        #expect(!"\(a)".contains(a.secretKey))
    }

    @Test func publicKeyDerivesFromSecret() throws {
        let pair = try CurveKeyPair.generate()
        #expect(try CurveKeyPair(secretKey: pair.secretKey) == pair)
    }

    /// RFC 32's test vector.
    @Test func z85RoundTrip() throws {
        let data: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(Z85.encode(data) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == data)
        #expect(Z85.encode([1, 2, 3]) == nil)
        #expect(Z85.decode("Hello!") == nil)
    }

    @Test(arguments: [
        ("short", CurveKeyError.wrongLength(role: "server key", length: 5)),
        (String(repeating: "a", count: 41), .wrongLength(role: "server key", length: 41)),
        (String(repeating: "a", count: 39) + "~", .invalidCharacter(role: "server key", character: "~", offset: 39)),
        (
            "abc\"" + String(repeating: "a", count: 36),
            .invalidCharacter(role: "server key", character: "\"", offset: 3)
        ),
        (String(repeating: "#", count: 40), .undecodable(role: "server key")),
    ])
    func validationExplainsTheProblem(key: String, expected: CurveKeyError) {
        #expect(throws: expected) { try CurveKeyPair.validate(key, role: "server key") }
    }

    @Test func validationMessagesAreReadable() {
        #expect(
            "\(CurveKeyError.wrongLength(role: "server key", length: 5))"
                == "server key must be 40 Z85 characters (32 bytes), got 5 characters")
        #expect(
            "\(CurveKeyError.invalidCharacter(role: "server key", character: "~", offset: 39))"
                == "server key has \"~\" at offset 39, which is not a Z85 character")
    }

    @Test func badSecretKeyIsRejectedBeforeLibzmq() {
        #expect(throws: CurveKeyError.wrongLength(role: "CURVE secret key", length: 3)) {
            try CurveKeyPair(secretKey: "abc")
        }
    }

    @Test func clientConfigurationValidatesTheServerKey() throws {
        let context = try Context()
        defer { context.close() }
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        let keys = try CurveKeyPair.generate()
        #expect(throws: CurveKeyError.wrongLength(role: "CURVE server public key", length: 4)) {
            try socket.configureCurveClient(serverKey: "nope", keys: keys)
        }
        let server = try CurveKeyPair.generate()
        try socket.configureCurveClient(serverKey: server.publicKey, keys: keys)
        #expect(try socket.get(.curveServerKey) == server.publicKey)
        #expect(try socket.get(.curvePublicKey) == keys.publicKey)
        #expect(try socket.get(.mechanism) == 2)  // ZMQ_CURVE
    }
}
