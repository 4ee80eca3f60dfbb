import DuetSupport
import Testing

@testable import ClusterCore

private let hashA = BlobHash(of: Array("a".utf8))
private let hashB = BlobHash(of: Array("b".utf8))
private let t1 = TaskAttempt(run: RunID(3), index: 17, attempt: 2)
private let t2 = TaskAttempt(run: RunID(3), index: 18, attempt: 1)

private func frames(_ type: String, _ header: String, body: [UInt8]? = nil, tag: String = "DUET/1") -> [[UInt8]] {
    var frames = [Array(tag.utf8), Array(type.utf8), Array(header.utf8)]
    if let body { frames.append(body) }
    return frames
}

@Suite("Wire format")
struct WireTests {
    static let workerMessages: [WorkerMessage] = [
        .hello(Hello(slots: 8, prefetch: 2, host: "node-1", pid: 4242, version: "duet 0.1", running: [t1])),
        .hello(Hello(slots: 1, host: "h", pid: 0, version: "")),
        .hello(Hello(slots: 2, host: "h", pid: 1, version: "v", running: [t1], epoch: "0123456789abcdef0123456789abcdef")),
        .heartbeat(running: []),
        .heartbeat(running: [t1, TaskAttempt(run: RunID(1), index: 0, attempt: 1)]),
        .result(t1, payload: [0, 1, 2, 255]),
        .result(t1, payload: []),
        .result(t1, payload: [5], epoch: "e1"),
        .hello(Hello(slots: 4, host: "h", pid: 2, version: "v", batches: true)),
        .resultBatch([TaskResult(t1, payload: [1, 2]), TaskResult(t2, payload: []), TaskResult(t1, payload: [9])], epoch: "e1"),
        .resultBatch([TaskResult(t2, payload: [])]),
        .failure(t1, error: "Fatal error: \"index\" out of range\n\tat line 3 ✗"),
        .failure(t1, error: "boom", epoch: "e1"),
        .progress(t1, report: ["epoch": 4, "loss": 0.125, "tags": ["a", nil, true]]),
        .blobRequest(hashA, offset: 4_194_304),
        .goodbye(returning: [t1]),
    ]

    static let coordinatorMessages: [CoordinatorMessage] = [
        .welcome(
            Welcome(
                workerID: "node-1-4242", heartbeatInterval: 0.5, liveness: 3, maxMessageBytes: 1 << 26, blobChunkBytes: 1 << 22)),
        .welcome(
            Welcome(
                workerID: "w", heartbeatInterval: 1, liveness: 3, maxMessageBytes: 1 << 26, blobChunkBytes: 1 << 22,
                epoch: "0123456789abcdef0123456789abcdef")),
        .assign(
            Assignment(task: t1, kind: "sweep", payload: ["precision": 0.01, "replications": 4], spec: hashA, blobs: [hashB])),
        .assign(Assignment(task: t1, kind: "noop", payload: .emptyObject, spec: hashA, blobs: [])),
        .ack(t1),
        .welcome(
            Welcome(
                workerID: "w", heartbeatInterval: 1, liveness: 3, maxMessageBytes: 1 << 26, blobChunkBytes: 1 << 22,
                batches: true)),
        .assignBatch(
            AssignmentBatch(tasks: [t1, t2], kind: "sweep", payload: ["precision": 0.01], spec: hashA, blobs: [hashB])),
        .assignBatch(AssignmentBatch(tasks: [t2], kind: "noop", payload: .emptyObject, spec: hashA, blobs: [])),
        .ackBatch([t1, t2]),
        .decision(t1, .continue),
        .decision(t1, .stop),
        .blob(BlobChunk(hash: hashA, offset: 10, total: 13, bytes: [1, 2, 3])),
        .blobMissing(hashB),
        .heartbeat,
        .cancel(t1),
        .reconnect(reason: "unknown worker"),
        .shutdown(reason: "bye"),
    ]

    static let clientRequests: [ClientRequest] = [
        .submit(
            RunSubmission(
                kind: "sweep", taskCount: 1_000_000, payload: ["x": 1], blobs: [hashA], label: "big", maxAttempts: 5,
                spec: Array("vary: {}".utf8))),
        .submit(RunSubmission(kind: "noop", taskCount: 0, spec: [])),
        .putBlob([9, 8, 7]),
        .status,
        .results(run: RunID(2), from: 100, limit: 50),
        .cancel(run: RunID(2)),
    ]

    /// Every counter set, so that a round trip shows each one travels (`overdue`, `foreignEpoch` and `refunded` included).
    static let someCounters: ClusterCounters = {
        var counters = ClusterCounters()
        counters.dropped = ["malformed": 2]
        counters.duplicates = 3
        counters.stale = 4
        counters.lostWorkers = 5
        counters.lostAssignments = 6
        counters.overdue = 7
        counters.foreignEpoch = 12
        counters.refunded = 13
        counters.retries = 8
        counters.results = 9
        counters.failures = 10
        counters.messagesIn = 11
        return counters
    }()

    static let clientReplies: [ClientReply] = [
        .submitted(run: RunID(7), resumed: true),
        .blobStored(hashA, size: 12),
        .results(
            ResultPage(
                run: RunID(7),
                items: [
                    ResultItem(index: 0, outcome: .done([1, 2])), ResultItem(index: 1, outcome: .failed(error: "boom")),
                    ResultItem(index: 2, outcome: .done([])),
                ],
                next: 3, complete: false)),
        .results(ResultPage(run: RunID(7), items: [], next: 0, complete: true)),
        .cancelled(run: RunID(7)),
        .error("no such run"),
        .status(
            ClusterStatus(
                source: .coordinator, time: 12.5,
                workers: [
                    WorkerStatus(
                        id: "w", host: "h", pid: 1, version: "v", slots: 2, prefetch: 0, running: [t1], lastHeartbeat: 12,
                        connectedAt: 1)
                ],
                runs: [
                    RunStatus(
                        id: RunID(3), kind: "sweep", label: "", phase: .draining, taskCount: 10, queued: 0, leased: 1, done: 8,
                        failed: 1, throughput: 2.5, eta: 0.4, createdAt: 1, finishedAt: nil)
                ],
                throughput: 2.5, window: 30, eta: 0.4, counters: someCounters,
                recentFailures: [FailureRecord(task: t1, worker: nil, error: "e", time: 3, final: true)])),
    ]

    @Test(arguments: workerMessages)
    func workerMessagesRoundTrip(_ message: WorkerMessage) throws {
        let frames = message.encoded()
        #expect(String(decoding: frames[1], as: UTF8.self) == message.typeName)
        #expect(try WorkerMessage.decode(frames) == message)
    }

    @Test(arguments: coordinatorMessages)
    func coordinatorMessagesRoundTrip(_ message: CoordinatorMessage) throws {
        let frames = message.encoded()
        #expect(String(decoding: frames[1], as: UTF8.self) == message.typeName)
        #expect(try CoordinatorMessage.decode(frames) == message)
    }

    @Test(arguments: clientRequests)
    func clientRequestsRoundTrip(_ request: ClientRequest) throws {
        #expect(try ClientRequest.decode(request.encoded()) == request)
    }

    @Test(arguments: clientReplies)
    func clientRepliesRoundTrip(_ reply: ClientReply) throws {
        #expect(try ClientReply.decode(reply.encoded()) == reply)
    }

    @Test func resultFramesAreTagTypeHeaderBody() {
        let encoded = WorkerMessage.result(t1, payload: [42]).encoded()
        #expect(encoded.count == 4)
        #expect(encoded[0] == Array("DUET/1".utf8))
        #expect(String(decoding: encoded[2], as: UTF8.self) == #"{"run":3,"index":17,"attempt":2}"#)
        #expect(encoded[3] == [42])
    }

    // MARK: Errors

    static let errorCases: [(String, [[UInt8]], WireError)] = [
        ("future version", frames("RESULT", "{}", body: [], tag: "DUET/2"), .unknownVersion("DUET/2")),
        ("not Duet", frames("RESULT", "{}", tag: "HTTP/1.1"), .badEnvelope(#"first frame is "HTTP/1.1", expected "DUET/1""#)),
        (
            "too few frames", [Array("DUET/1".utf8), Array("HEARTBEAT".utf8)],
            .badEnvelope("expected 3 or 4 frames (tag, type, header[, body]), found 2")
        ),
        (
            "too many frames", frames("RESULT", "{}", body: []) + [[]],
            .badEnvelope("expected 3 or 4 frames (tag, type, header[, body]), found 5")
        ),
        ("lowercase type", frames("result", "{}"), .badEnvelope(#"message type "result" is not 1-16 letters A-Z"#)),
        ("unknown type", frames("TELEPORT", "{}"), .unknownType("TELEPORT")),
        ("coordinator type from a worker", frames("ASSIGN", "{}"), .unknownType("ASSIGN")),
        (
            "not JSON", frames("HEARTBEAT", "{running:"),
            .malformed(type: "HEARTBEAT", field: "header", reason: "expected a string key at byte 1")
        ),
        (
            "header is an array", frames("HEARTBEAT", "[]"),
            .malformed(type: "HEARTBEAT", field: "header", reason: "expected an object, found an array")
        ),
        (
            "missing attempt", frames("RESULT", #"{"run":1,"index":2}"#, body: []),
            .malformed(type: "RESULT", field: "attempt", reason: "missing")
        ),
        (
            "index is a string", frames("RESULT", #"{"run":1,"index":"2","attempt":1}"#, body: []),
            .malformed(type: "RESULT", field: "index", reason: "expected an integer, found a string")
        ),
        (
            "negative index", frames("FAILURE", #"{"run":1,"index":-2,"attempt":1,"error":""}"#),
            .malformed(type: "FAILURE", field: "index", reason: "must be at least 0, found -2")
        ),
        (
            "attempt zero", frames("FAILURE", #"{"run":1,"index":2,"attempt":0,"error":""}"#),
            .malformed(type: "FAILURE", field: "attempt", reason: "must be at least 1, found 0")
        ),
        (
            "fractional run", frames("FAILURE", #"{"run":1.5,"index":2,"attempt":1,"error":""}"#),
            .malformed(type: "FAILURE", field: "run", reason: "expected an integer, found a number")
        ),
        (
            "bad running element", frames("HEARTBEAT", #"{"running":[[1,2,3],[1,2]]}"#),
            .malformed(type: "HEARTBEAT", field: "running[1]", reason: "expected [run, index, attempt]")
        ),
        (
            "bad running attempt", frames("HEARTBEAT", #"{"running":[[1,2,0]]}"#),
            .malformed(type: "HEARTBEAT", field: "running[0][2]", reason: "must be at least 1, found 0")
        ),
        (
            "zero slots", frames("HELLO", #"{"slots":0,"host":"h","pid":1,"version":"v"}"#),
            .malformed(type: "HELLO", field: "slots", reason: "must be at least 1, found 0")
        ),
        (
            "result without body", frames("RESULT", #"{"run":1,"index":2,"attempt":1}"#),
            .malformed(type: "RESULT", field: "body", reason: "missing binary frame")
        ),
        (
            "heartbeat with body", frames("HEARTBEAT", "{}", body: [1]),
            .malformed(type: "HEARTBEAT", field: "body", reason: "unexpected binary frame")
        ),
        (
            "bad hash", frames("BLOBREQ", #"{"hash":"abc"}"#),
            .malformed(type: "BLOBREQ", field: "hash", reason: #"expected 64 hex digits (SHA-256), found "abc""#)
        ),
        (
            "epoch is a number", frames("RESULT", #"{"run":1,"index":2,"attempt":1,"epoch":7}"#, body: []),
            .malformed(type: "RESULT", field: "epoch", reason: "expected a string, found an integer")
        ),
        (
            "empty epoch", frames("HELLO", #"{"slots":1,"host":"h","pid":1,"version":"v","epoch":""}"#),
            .malformed(type: "HELLO", field: "epoch", reason: "expected 1–64 printable ASCII characters, found 0 bytes")
        ),
        (
            "batch lengths run past the body",
            frames("RESULTBATCH", #"{"tasks":[[1,2,1],[1,3,1]],"bytes":[2,2]}"#, body: [1, 2, 3]),
            .malformed(type: "RESULTBATCH", field: "bytes", reason: "2 bytes from offset 2 run past the body of 3 bytes")
        ),
        (
            "batch lengths fall short of the body",
            frames("RESULTBATCH", #"{"tasks":[[1,2,1],[1,3,1]],"bytes":[1,1]}"#, body: [1, 2, 3]),
            .malformed(type: "RESULTBATCH", field: "bytes", reason: "lengths add up to 2 bytes but the body has 3")
        ),
        (
            "a length missing in a batch", frames("RESULTBATCH", #"{"tasks":[[1,2,1],[1,3,1]],"bytes":[3]}"#, body: [1, 2, 3]),
            .malformed(type: "RESULTBATCH", field: "bytes", reason: "expected one length per task (2), found 1")
        ),
        (
            "a negative length in a batch", frames("RESULTBATCH", #"{"tasks":[[1,2,1]],"bytes":[-1]}"#, body: []),
            .malformed(type: "RESULTBATCH", field: "bytes[0]", reason: "must be at least 0, found -1")
        ),
        (
            "an empty batch", frames("RESULTBATCH", #"{"tasks":[],"bytes":[]}"#, body: []),
            .malformed(type: "RESULTBATCH", field: "tasks", reason: "expected at least one [run, index, attempt]")
        ),
        (
            "huge slots", frames("HELLO", #"{"slots":9223372036854775807,"host":"h","pid":1,"version":"v"}"#),
            .malformed(type: "HELLO", field: "slots", reason: "must be at most 65536, found 9223372036854775807")
        ),
    ]

    @Test(arguments: errorCases.indices)
    func decodeErrorsNameTheFault(_ i: Int) {
        let (name, frames, expected) = Self.errorCases[i]
        #expect(throws: expected, "\(name)") { try WorkerMessage.decode(frames) }
    }

    @Test func coordinatorBatchesWithoutTasksAreMalformed() {
        let hash = String(repeating: "a", count: 64)
        #expect(throws: WireError.malformed(type: "ACKBATCH", field: "tasks", reason: "expected at least one [run, index, attempt]")) {
            try CoordinatorMessage.decode(frames("ACKBATCH", #"{"tasks":[]}"#))
        }
        #expect(throws: WireError.malformed(type: "ASSIGNBATCH", field: "tasks[0]", reason: "expected [run, index, attempt]")) {
            try CoordinatorMessage.decode(frames("ASSIGNBATCH", #"{"kind":"noop","spec":"\#(hash)","tasks":[[1,2]]}"#))
        }
        #expect(throws: WireError.malformed(type: "ASSIGNBATCH", field: "tasks[2][0]", reason: "expected run 1 as in tasks[0], found 2")) {
            try CoordinatorMessage.decode(frames("ASSIGNBATCH", #"{"kind":"noop","spec":"\#(hash)","tasks":[[1,2,1],[1,3,1],[2,4,1]]}"#))
        }
    }

    @Test func anOlderPeersHelloAndWelcomeReadAsNoBatches() throws {
        let hello = try WorkerMessage.decode(frames("HELLO", #"{"slots":1,"host":"h","pid":1,"version":"v"}"#))
        #expect(hello == .hello(Hello(slots: 1, host: "h", pid: 1, version: "v", batches: false)))
        let welcome = try CoordinatorMessage.decode(
            frames("WELCOME", #"{"worker":"w","heartbeat":1,"liveness":3,"maxMessageBytes":64,"blobChunkBytes":8}"#))
        guard case .welcome(let w) = welcome else { Issue.record("not a welcome: \(welcome)"); return }
        #expect(!w.batches)
    }

    @Test func invalidUTF8IsMalformed() {
        let prefix = #"{"run":1,"index":2,"attempt":1,"error":""#
        let header = Array(prefix.utf8) + [0xFF, UInt8(ascii: "\""), UInt8(ascii: "}")]
        let frames = [Array("DUET/1".utf8), Array("FAILURE".utf8), header]
        #expect(
            throws: WireError.malformed(
                type: "FAILURE", field: "header", reason: "invalid UTF-8 in a string at byte \(prefix.utf8.count)")
        ) {
            try WorkerMessage.decode(frames)
        }
    }

    @Test func oversizedMessagesAndHeadersAreRejectedBeforeParsing() {
        let limits = WireLimits(maxMessageBytes: 1000, maxHeaderBytes: 100)
        let big = WorkerMessage.result(t1, payload: [UInt8](repeating: 7, count: 2000)).encoded()
        let total = big.reduce(0) { $0 + $1.count }
        #expect(throws: WireError.oversized(part: "message", bytes: total, limit: 1000)) {
            try WorkerMessage.decode(big, limits: limits)
        }
        let header = "{\"error\":\"" + String(repeating: "x", count: 200) + "\"}"
        #expect(throws: WireError.oversized(part: "header", bytes: header.utf8.count, limit: 100)) {
            try WorkerMessage.decode(frames("FAILURE", header), limits: limits)
        }
    }

    @Test func deeplyNestedJSONIsRefusedNotRecursedInto() {
        let prefix = #"{"run":1,"index":2,"attempt":1,"report":"#
        let deep = prefix + String(repeating: "[", count: 100_000) + "}"
        // The object is level 1, so the 32nd bracket is level 33.
        let offset = prefix.utf8.count + 31
        #expect(
            throws: WireError.malformed(
                type: "PROGRESS", field: "header", reason: "JSON nested deeper than 32 levels at byte \(offset)")
        ) {
            try WorkerMessage.decode(frames("PROGRESS", deep))
        }
    }

    @Test func unknownHeaderFieldsAreIgnored() throws {
        let message = try WorkerMessage.decode(frames("RESULT", #"{"run":1,"index":2,"attempt":1,"future":{"x":[1]}}"#, body: []))
        #expect(message == .result(TaskAttempt(run: RunID(1), index: 2, attempt: 1), payload: []))
    }

    @Test("a number beyond a Double in a header is malformed, so every decoded message re-encodes to itself (the wire fuzz target checks that round trip)")
    func hugeNumbersAreMalformed() {
        let frames = [Array("DUET/1".utf8), Array("PROGRESS".utf8),
                      Array(#"{"run":1,"index":0,"attempt":1,"report":{"x":1e400}}"#.utf8)]
        #expect(throws: WireError.malformed(type: "PROGRESS", field: "header",
                                            reason: "number out of range: 1e400 at byte 45")) {
            try WorkerMessage.decode(frames)
        }
    }

    @Test func blobChunkPastItsTotalIsMalformed() {
        #expect(throws: WireError.malformed(type: "BLOB", field: "total", reason: "chunk 2..<5 runs past the total of 4 bytes")) {
            try CoordinatorMessage.decode(
                frames("BLOB", "{\"hash\":\"\(hashA.hex)\",\"offset\":2,\"total\":4}", body: [1, 2, 3]))
        }
    }

    @Test func resultsReplyBodyMustMatchTheLengths() {
        #expect(
            throws: WireError.malformed(type: "RESULTS", field: "items", reason: "lengths add up to 2 bytes but the body has 3")
        ) {
            try ClientReply.decode(frames("RESULTS", #"{"run":1,"next":1,"items":[{"index":0,"bytes":2}]}"#, body: [1, 2, 3]))
        }
    }

    /// Random corruption of valid messages never traps: each decode returns a message or a WireError.
    @Test func corruptedMessagesNeverTrap() {
        var rng = SplitMix64(seed: 7)
        let samples =
            Self.workerMessages.map { $0.encoded() } + Self.coordinatorMessages.map { $0.encoded() }
            + Self.clientRequests.map { $0.encoded() }
        var decoded = 0
        var rejected = 0
        for _ in 0..<20_000 {
            var frames = samples[Int(rng.next() % UInt64(samples.count))]
            let f = Int(rng.next() % UInt64(frames.count))
            switch rng.next() % 4 {
            case 0 where !frames[f].isEmpty:
                frames[f][Int(rng.next() % UInt64(frames[f].count))] = UInt8(truncatingIfNeeded: rng.next())
            case 1 where !frames[f].isEmpty:
                frames[f].removeLast(Int(rng.next() % UInt64(frames[f].count)) + 1)
            case 2:
                frames[f].insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(frames[f].count + 1)))
            default:
                frames.remove(at: f)
            }
            for direction in 0..<4 {
                do {
                    switch direction {
                    case 0: _ = try WorkerMessage.decode(frames)
                    case 1: _ = try CoordinatorMessage.decode(frames)
                    case 2: _ = try ClientRequest.decode(frames)
                    default: _ = try ClientReply.decode(frames)
                    }
                    decoded += 1
                } catch {
                    rejected += 1
                }
            }
        }
        #expect(decoded + rejected == 80_000)
        #expect(rejected > decoded)
    }
}

@Suite("JSON")
struct JSONTests {
    @Test(arguments: [
        #"{"a":1,"b":[true,false,null],"c":"x\"y\\z\n\u00e9\ud83d\ude00","d":-0.5,"e":1e-7,"f":{}}"#,
        #"[]"#, #"[[[]]]"#, #""""#, #"0"#, #"-9223372036854775808"#, #"9223372036854775807"#, #"12.0"#,
        #"  {"spaced" : [ 1 , 2 ]}  "#,
    ])
    func parsesAndRewritesStably(_ text: String) throws {
        let value = try JSON.parse(text)
        let again = try JSON.parse(value.bytes)
        #expect(again == value)
        #expect(again.bytes == value.bytes)
    }

    @Test func numbersKeepTheirKinds() throws {
        #expect(try JSON.parse("42") == .integer(42))
        #expect(try JSON.parse("-7") == .integer(-7))
        #expect(try JSON.parse("4.5") == .number(4.5))
        #expect(try JSON.parse("1E3") == .number(1000))
        #expect(try JSON.parse("92233720368547758070") == .number(92_233_720_368_547_758_070))
        #expect(JSON.number(0.1).text == "0.1")
        #expect(JSON.number(.nan).text == "null")
    }

    @Test func stringsEscapeAndUnescape() throws {
        let text = "tab\t quote\" backslash\\ bell\u{07} emoji😀"
        #expect(try JSON.parse(JSON.string(text).bytes) == .string(text))
        #expect(JSON.string("\u{07}").text == #""\u0007""#)
        #expect(try JSON.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test func stringsWithNothingToEscapeAreWrittenAsTheyAre() throws {
        // Written by hand: plain text (short, long, beyond ASCII) goes out verbatim;
        // one character to escape, first, middle or last, sends the whole string
        // through the escaping path.
        #expect(JSON.string("meanResponse").text == #""meanResponse""#)
        let long = String(repeating: "stations.2.service.mean ", count: 20)
        #expect(JSON.string(long).text == "\"" + long + "\"")
        #expect(JSON.string("é😀").text == "\"é😀\"")
        #expect(JSON.string("").text == #""""#)
        #expect(JSON.string("a\"b").text == #""a\"b""#)
        #expect(JSON.string("end\\").text == #""end\\""#)
        #expect(JSON.string("\nstart").text == #""\nstart""#)
        #expect(JSON.string(long + "\t").text == "\"" + long + "\\t\"")
        #expect(JSON.object([("key\"", .integer(1))]).text == #"{"key\"":1}"#)
        // And read back: ASCII and text beyond it, with and without escapes.
        for text in ["meanResponse", long, "é😀", "", "a\"b", "é\n😀"] {
            #expect(try JSON.parse(JSON.string(text).text) == .string(text), "\(text.debugDescription)")
        }
    }

    @Test(arguments: [
        ("", "unexpected end of JSON at byte 0"),
        ("{", "expected a string key at byte 1"),
        (#"{"a" 1}"#, #"expected ':' after key "a" at byte 5"#),
        ("[1,]", "unexpected character ']' at byte 3"),
        ("01", "invalid number: leading zero at byte 0"),
        ("1.", "invalid number: digit expected after '.' at byte 2"),
        ("tru", "unexpected end of JSON at byte 0"),
        ("nul!", "invalid literal, expected null at byte 0"),
        (#""\x""#, "invalid escape '\\x' at byte 3"),
        (#""\ud800""#, "unpaired surrogate in \\u escape at byte 7"),
        ("\"a\u{01}\"", "control character in a string at byte 2"),
        ("1 2", "unexpected text after the JSON value at byte 2"),
        // Beyond a Double: infinity would be written back as null.
        ("[0, 1e400]", "number out of range: 1e400 at byte 4"),
        ("-1E+309", "number out of range: -1E+309 at byte 0"),
    ])
    func syntaxErrorsCarryTheOffset(_ text: String, _ message: String) {
        do {
            _ = try JSON.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func subscriptFindsMembers() throws {
        let value = try JSON.parse(#"{"a":1,"b":{"c":"d"}}"#)
        #expect(value["a"] == 1)
        #expect(value["b"]?["c"] == "d")
        #expect(value["z"] == nil)
        #expect(JSON.integer(1)["a"] == nil)
    }

    @Test("the wire writes numbers as Swift's shortest text, printed results write whole numbers without a fraction")
    func numberStyles() {
        let value: JSON = [1.0, -3.0, 0.25, 1e-7, 1e15, 2.5e300, .number(.infinity), 4]
        #expect(value.text == "[1.0,-3.0,0.25,1e-07,1000000000000000.0,2.5e+300,null,4]")
        #expect(value.text(numbers: .plain) == "[1,-3,0.25,1e-07,1000000000000000.0,2.5e+300,null,4]")
        #expect(numberText(-.infinity) == "-infinity")
        #expect(numberText(.infinity, infinity: "inf") == "inf")
        #expect(numberText(-0.0) == "0")
    }

    @Test("numbers are written as Swift's description, numberText and String(Int) write them, bit patterns of every kind")
    func numbersAsTheirTexts() {
        // The writer puts digits straight into its buffer; the texts must stay the ones
        // `description` (the wire) and `numberText` (printed results) give.
        var rng = SplitMix64(seed: 20261207)  // seeded: the same bit patterns on every run
        var values: [Double] = [0, -0.0, 0.1, 1.0 / 3, -2.5, 1e-7, 1e15, 1e15 - 1, -1e15, 123_456_789.125, 1e300,
                                .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                                -.greatestFiniteMagnitude, 9_007_199_254_740_993]
        for _ in 0..<2_000 { values.append(Double(bitPattern: rng.next())) }
        // NaNs of every sign and payload: `description` writes each as "nan", while
        // `write(to:)` and interpolation write "-snan(0x...)" and the like.
        values += [0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0000, 0x7FF0_0000_0000_0001, 0xFFF0_58AB_779F_8C2D,
                   0x7FF4_0000_0000_0000].map(Double.init(bitPattern:))
        for value in values where value.isFinite {
            #expect(JSON.number(value).text == value.description, "\(value.bitPattern)")
            #expect(JSON.number(value).text(numbers: .plain) == numberText(value), "\(value.bitPattern)")
        }
        // numberText's rule, stated here from Swift's own texts: whole numbers below
        // 10^15 as an Int64's digits, others as description, infinity as the word given.
        for value in values + [.infinity, -.infinity, .nan] {
            let expected = value.isInfinite ? (value < 0 ? "-inf" : "inf")
                : value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : value.description
            #expect(numberText(value, infinity: "inf") == expected, "\(value.bitPattern)")
            var bytes = Array("x".utf8)
            bytes.appendNumberText(value, infinity: "inf")
            #expect(String(decoding: bytes, as: UTF8.self) == "x" + expected, "\(value.bitPattern)")
        }
        var wholes: [Int] = [0, 9, 10, -1, -10, Int.max, Int.min, 999_999_999_999_999]
        for _ in 0..<1_000 { wholes.append(Int(truncatingIfNeeded: rng.next()) >> Int(rng.next() % 63)) }
        for whole in wholes {
            var bytes: [UInt8] = []
            bytes.appendDecimal(whole)
            #expect(String(decoding: bytes, as: UTF8.self) == String(whole))
        }
    }

    @Test("pretty text indents members and items by two spaces and keeps empty containers on one line")
    func prettyText() {
        let value = JSON.object([("a", [1, 2]), ("b", .object([("c", "x")])), ("d", []), ("e", .emptyObject)])
        #expect(value.text(numbers: .plain, pretty: true) == """
            {
              "a": [
                1,
                2
              ],
              "b": {
                "c": "x"
              },
              "d": [],
              "e": {}
            }
            """)
        #expect(value.text(numbers: .plain) == #"{"a":[1,2],"b":{"c":"x"},"d":[],"e":{}}"#)
    }

    @Test("a writer fed value by value writes the same text, pretty or compact, as for the tree")
    func prettyStreaming() {
        func feed(_ writer: inout JSONWriter) {
            writer.beginObject()
            writer.key("a")
            writer.beginArray()
            writer.int(1)
            writer.double(2.5)
            writer.beginObject()
            writer.endObject()
            writer.endArray()
            writer.key("b")
            writer.beginObject()
            writer.key("c")
            writer.string("x")
            writer.key("n")
            writer.null()
            writer.endObject()
            writer.key("d")
            writer.beginArray()
            writer.endArray()
            writer.key("t")
            writer.bool(true)
            writer.endObject()
        }
        var pretty = JSONWriter(numbers: .plain, pretty: true)
        feed(&pretty)
        #expect(String(decoding: pretty.bytes, as: UTF8.self) == """
            {
              "a": [
                1,
                2.5,
                {}
              ],
              "b": {
                "c": "x",
                "n": null
              },
              "d": [],
              "t": true
            }
            """)
        var compact = JSONWriter(numbers: .plain)
        feed(&compact)
        #expect(String(decoding: compact.bytes, as: UTF8.self) == #"{"a":[1,2.5,{}],"b":{"c":"x","n":null},"d":[],"t":true}"#)
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func knownVectors(_ text: String, _ hex: String) {
        #expect(BlobHash(of: Array(text.utf8)).hex == hex)
    }

    @Test func millionAs() {
        #expect(
            BlobHash(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hex
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func incrementalEqualsOneShot() {
        var rng = SplitMix64(seed: 3)
        let bytes = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for _ in 0..<20 {
            var hasher = SHA256Hasher()
            var offset = 0
            while offset < bytes.count {
                let n = min(Int(rng.next() % 200), bytes.count - offset)
                hasher.update(bytes[offset..<offset + n])
                offset += n
            }
            #expect(BlobHash(digest: hasher.finalize()) == BlobHash(of: bytes))
        }
    }

    @Test func hashTextIsValidated() {
        #expect(BlobHash(hex: String(repeating: "A", count: 64))?.hex == String(repeating: "a", count: 64))
        #expect(BlobHash(hex: String(repeating: "g", count: 64)) == nil)
        #expect(BlobHash(hex: "abc") == nil)
    }
}
