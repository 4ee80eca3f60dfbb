// A client of the coordinator (`duet sweep --coordinator`, `duet status`): one request,
// one reply, on a DEALER, from the calling thread.
//
// Reliability is the ZeroMQ guide's Lazy Pirate: a request that gets no reply within
// its timeout drops the socket, and the next request opens a fresh one. So a late
// reply to an abandoned request can never be read as the answer to the next, a
// coordinator that restarted is reached again, and a CURVE client that the allow-list
// refused (which libzmq never retries by itself) tries again. Every request is safe to
// repeat: STATUS and RESULTS read, SUBMIT of an unfinished run resumes it, PUTBLOB
// stores by hash.

import ClusterCore
import Foundation
import ZeroMQ

/// Why a request got no usable answer.
public struct ClusterClientError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case noAnswer, refused, badReply }
    public var kind: Kind
    public var description: String
}

public final class ClusterClient {
    public let endpoint: String
    let keys: ClientKeys?
    private let context: Context
    private var link: CoordinatorLink?
    private var closed = false

    /// `keys`: CURVE keys, or nil for a plain connection.
    public init(endpoint: String, keys: ClientKeys?) throws {
        self.endpoint = endpoint
        self.keys = keys
        context = try Context()
    }

    deinit { close() }

    /// Closes the socket and the context.
    public func close() {
        guard !closed else { return }
        closed = true
        link?.close()
        link = nil
        context.close()
    }

    /// Sends `request` and waits up to `timeout` seconds for the reply.
    public func request(_ request: ClientRequest, timeout: Double) throws(ClusterClientError) -> ClientReply {
        if link == nil {
            do {
                link = try CoordinatorLink(context: context, endpoint: endpoint, identity: nil, keys: keys)
            } catch {
                throw ClusterClientError(kind: .noAnswer, description: "cannot open a socket to \(endpoint): \(error)")
            }
        }
        guard let link else { throw ClusterClientError(kind: .noAnswer, description: "no socket") }
        do {
            guard try link.socket.send(request.encoded(), dontWait: true) else {
                drop()
                throw ClusterClientError(kind: .noAnswer, description: "cannot queue the request to \(endpoint)")
            }
        } catch let error as ClusterClientError {
            throw error
        } catch {
            drop()
            throw ClusterClientError(kind: .noAnswer, description: "cannot send to \(endpoint): \(error)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var refusal: String?
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { break }
            var poller = Poller()
            let socketIndex = poller.add(link.socket)
            let monitorIndex = poller.add(link.monitor)
            let ready: [PollEvents]
            do {
                ready = try poller.poll(timeoutMilliseconds: max(1, Int((left * 1000).rounded(.up))))
            } catch {
                drop()
                throw ClusterClientError(kind: .noAnswer, description: "polling \(endpoint) failed: \(error)")
            }
            if ready[monitorIndex].contains(.readable) {
                let (refused, messages) = link.drainMonitor()
                if refused || refusal == nil, let message = messages.first { refusal = message }
            }
            if ready[socketIndex].contains(.readable), let frames = try? link.socket.receive(dontWait: true) {
                do {
                    return try ClientReply.decode(frames)
                } catch {
                    drop()
                    throw ClusterClientError(kind: .badReply, description: "the reply from \(endpoint) is not understood: \(error)")
                }
            }
        }
        drop()
        if let refusal {
            throw ClusterClientError(kind: .refused, description: refusal)
        }
        throw ClusterClientError(
            kind: .noAnswer,
            description: "the coordinator at \(endpoint) does not answer (no reply within \(Self.seconds(timeout)))")
    }

    /// Drops the socket so that the next request starts afresh (Lazy Pirate).
    private func drop() {
        link?.close()
        link = nil
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }
}
