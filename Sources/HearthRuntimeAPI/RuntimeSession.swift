import HearthModel
import NIOCore
import NIOHTTP1

/// The Runtime API state of one sandbox. Every method runs on `eventLoop`
/// (all of the sandbox's connections are served there), so the state needs no lock.
///
/// A runtime works on at most `maxConcurrency` events at once: 1 as on Lambda, where an environment
/// runs one invocation at a time; more for an always-on environment whose runtime runs several workers
/// (AWS_LAMBDA_MAX_CONCURRENCY, as on Lambda Managed Instances), each with its own GET /next.
public final class RuntimeSession: @unchecked Sendable {
    public let eventLoop: EventLoop
    /// Completed once: on the first GET /next (ready) or on POST /init/error.
    public let initOutcome: EventLoopPromise<InitOutcome>

    /// An event with what goes with it until it is answered.
    private struct Event {
        var invocation: RuntimeInvocation
        var promise: EventLoopPromise<InvocationOutcome>
        /// Where its streamed response goes, when its caller streams.
        var sink: ResponseSink?
        /// Called on the event loop as it is handed to the runtime.
        var onDelivered: (@Sendable () -> Void)?
    }

    private var maxConcurrency: Int
    private var initDone = false
    /// Set once the session is over, to what every event still outstanding or sent later ends with.
    private var closed: InvocationOutcome?
    /// GET /next requests waiting for an event, oldest first, with the connection each came on.
    private var parked: [(id: ObjectIdentifier, respond: (RuntimeAPIResponse) -> Void)] = []
    /// Events not yet handed to the runtime, oldest first.
    private var pending: [Event] = []
    /// The events the runtime is working on, by request id.
    private var current: [String: Event] = [:]
    /// The connections whose streamed response is being passed on: for which event, and how many bytes so far.
    private var streamers: [ObjectIdentifier: (requestId: String, bytes: Int)] = [:]
    /// The last request ids answered (a bounded window), so a repeated POST is told 403, an unknown id 400.
    private var answered = RecentIDs(capacity: 16)
    /// Connections the runtime has open now; more than `maxConnections` are refused.
    private var connections = 0
    /// The connections whose request body is being kept, at most one per event in flight: a sandbox
    /// can fill its own memory, never the daemon's.
    private var bodyKeepers: Set<ObjectIdentifier> = []
    /// Told when the runtime starts and stops waiting idle (`observeIdle`).
    private var idleObserver: (@Sendable (Bool) -> Void)?
    private var isIdle = false

    /// Runtimes keep one or two connections (AWS's clients one; a concurrent runtime one per worker).
    public static let maxConnections = 64

    public init(eventLoop: EventLoop, maxConcurrency: Int = 1) {
        self.eventLoop = eventLoop
        self.maxConcurrency = min(max(maxConcurrency, RuntimeConcurrency.range.lowerBound), RuntimeConcurrency.range.upperBound)
        initOutcome = eventLoop.makePromise(of: InitOutcome.self)
    }

    /// Lets the runtime work on up to `count` events at once (clamped to `RuntimeConcurrency.range`); set before
    /// the runtime starts (a prepared sandbox's session exists before its function is known).
    public func allowConcurrency(_ count: Int) -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.maxConcurrency = min(max(count, RuntimeConcurrency.range.lowerBound), RuntimeConcurrency.range.upperBound)
        }
    }

    /// Queues an event for the runtime; the future completes when it is answered or the session fails.
    /// - Parameter onDelivered: runs on the event loop just before the runtime's GET /next gets the event;
    ///   what the runtime wrote until then belongs to the invocation before.
    /// - Parameter stream: where a response the runtime streams (`Lambda-Runtime-Function-Response-Mode: streaming`) goes as it arrives.
    public func invoke(_ invocation: RuntimeInvocation, stream: ResponseSink? = nil,
                       onDelivered: (@Sendable () -> Void)? = nil) -> EventLoopFuture<InvocationOutcome> {
        eventLoop.flatSubmit {
            let promise = self.eventLoop.makePromise(of: InvocationOutcome.self)
            if let closed = self.closed {
                // Why it closed (the runtime exited, say): an event that comes after ends as the ones outstanding did.
                promise.succeed(closed)
            } else if self.pending.count + self.current.count >= self.maxConcurrency {
                promise.succeed(.platformError(.unknown(self.maxConcurrency == 1 ? "the sandbox is busy with another invocation"
                                                        : "the sandbox is busy with \(self.maxConcurrency) invocations")))
            } else {
                self.pending.append(Event(invocation: invocation, promise: promise, sink: stream, onDelivered: onDelivered))
                // Thawed before the event is written, so the runtime runs as soon as it arrives.
                self.updateIdle()
                self.deliverIfPossible()
            }
            return promise.futureResult
        }
    }

    /// Ends one event now with `outcome` (its deadline passed) while the runtime's other events go on;
    /// an answer the runtime posts for it later is refused as already answered.
    public func abandon(requestId: String, with outcome: InvocationOutcome) {
        eventLoop.execute {
            if let index = self.pending.firstIndex(where: { $0.invocation.requestId == requestId }) {
                self.pending.remove(at: index).promise.succeed(outcome)
            } else {
                self.complete(requestId: requestId, with: outcome)
            }
        }
    }

    /// `observer` is called on the event loop with true when the runtime is waiting on GET /next with no
    /// event for it (it may be frozen until the next one, as Lambda freezes an idle environment), and
    /// with false just before an event is handed to it, or when it stops waiting or the session closes.
    public func observeIdle(_ observer: @escaping @Sendable (Bool) -> Void) {
        eventLoop.execute {
            self.idleObserver = observer
            self.updateIdle()
        }
    }

    private func updateIdle() {
        let idle = closed == nil && !parked.isEmpty && pending.isEmpty && current.isEmpty
        guard idle != isIdle else { return }
        isIdle = idle
        idleObserver?(idle)
    }

    /// The sandbox is gone (exit, timeout, OOM): whatever is outstanding ends with `outcome`.
    public func close(_ outcome: InvocationOutcome, reason: String) {
        eventLoop.execute {
            guard self.closed == nil else { return }
            self.closed = outcome
            let outstanding = self.pending + self.current.values
            self.pending = []
            self.current = [:]
            self.streamers = [:]
            self.parked = []
            for event in outstanding { event.promise.succeed(outcome) }
            self.updateIdle()
            self.initOutcome.fail(RuntimeSessionClosed(reason: reason))
        }
    }

    // MARK: used by the routes (on the event loop)

    func next(connection: ObjectIdentifier, respond: @escaping (RuntimeAPIResponse) -> Void) {
        if closed != nil { return respond(.error(500, "InternalServerError", "Internal Server Error")) }
        if parked.count + current.count >= maxConcurrency {
            if maxConcurrency > 1 {
                return respond(.invalidState("more GET /next requests than the environment's concurrency (\(maxConcurrency)) allows"))
            }
            if !parked.isEmpty { return respond(.invalidState("another /next is already waiting")) }
            return respond(.invalidState("/next called before the current invocation was answered"))
        }
        if !initDone {
            initDone = true
            initOutcome.succeed(.ready)
        }
        parked.append((connection, respond))
        deliverIfPossible()
        updateIdle()
    }

    /// How many /next requests are waiting (on the event loop; for tests).
    var parkedCount: Int { parked.count }
    var isNextParked: Bool { !parked.isEmpty }

    /// A connection opened; false if the runtime has too many and this one must be closed.
    func connectionOpened() -> Bool {
        guard connections < Self.maxConnections else { return false }
        connections += 1
        return true
    }

    /// The connection closed: a /next parked on it is not waiting any more.
    func connectionClosed(_ connection: ObjectIdentifier) {
        connections -= 1
        if let index = parked.firstIndex(where: { $0.id == connection }) {
            parked.remove(at: index)
            // Thawed, so it can notice and ask again.
            updateIdle()
        }
        bodyKeepers.remove(connection)
        streamers[connection] = nil
    }

    /// Whether a request's body is worth keeping: a POST for an event the runtime is working on (its
    /// response or error), or an init error before init is over, while fewer connections keep bodies than
    /// events are in flight. Any other body is counted but dropped as it arrives; its request is refused anyway.
    func keepsBody(of connection: ObjectIdentifier, method: String, path: Substring) -> Bool {
        guard method == "POST", bodyKeepers.contains(connection) || bodyKeepers.count < max(1, current.count) else { return false }
        let wanted: Bool
        if path == "init/error" {
            wanted = !initDone
        } else if path.utf8.starts(with: "invocation/".utf8) {
            let rest = path.utf8.dropFirst("invocation/".utf8.count)
            wanted = rest.firstIndex(of: UInt8(ascii: "/")).map { current[String(Substring(rest[..<$0]))] != nil } ?? false
        } else {
            wanted = false
        }
        if wanted { bodyKeepers.insert(connection) }
        return wanted
    }

    /// The sink for a POST of an event's response in streaming mode, when its caller streams; the
    /// connection then passes its body on as it arrives (`streamed`) instead of keeping it.
    func streamingSink(of connection: ObjectIdentifier, path: Substring, headers: HTTPHeaders) -> ResponseSink? {
        guard path.utf8.starts(with: "invocation/".utf8), path.utf8.reversed().starts(with: "/response".utf8.reversed()),
              streamers[connection] == nil,
              !bodyKeepers.contains(connection),
              headers.first(name: "lambda-runtime-function-response-mode")?.lowercased() == "streaming" else { return nil }
        let requestId = String(Substring(path.utf8.dropFirst("invocation/".utf8.count).dropLast("/response".utf8.count)))
        guard let sink = current[requestId]?.sink, !streamers.values.contains(where: { $0.requestId == requestId }) else { return nil }
        streamers[connection] = (requestId, 0)
        sink.open(headers.first(name: "content-type"))
        return sink
    }

    /// A chunk of the streamed response: passed on while the total stays within Lambda's 200 MB; false once it is over.
    func streamed(_ bytes: [UInt8], from connection: ObjectIdentifier) -> Bool {
        guard var state = streamers[connection], let sink = current[state.requestId]?.sink else { return false }
        state.bytes += bytes.count
        streamers[connection] = state
        guard state.bytes <= ResponseSink.maxBytes else { return false }
        sink.write(bytes)
        return true
    }

    /// How many bytes the connection streamed; its stream is over.
    func streamDone(_ connection: ObjectIdentifier) -> Int {
        guard let state = streamers.removeValue(forKey: connection) else { return 0 }
        return state.bytes
    }

    /// The kept body is complete.
    func bodyDone(_ connection: ObjectIdentifier) {
        bodyKeepers.remove(connection)
    }

    /// Checks a request id against the events in flight.
    func check(requestId: String) -> RuntimeAPIResponse? {
        if current[requestId] != nil { return nil }
        if answered.contains(requestId) { return .invalidState("invocation \(requestId) was already answered") }
        return .invalidRequestID()
    }

    func complete(requestId: String, with outcome: InvocationOutcome) {
        guard let event = current.removeValue(forKey: requestId) else { return }
        answered.insert(requestId)
        event.promise.succeed(outcome)
        // A worker of a concurrent runtime may be waiting for this slot.
        deliverIfPossible()
    }

    func initError(body: [UInt8], errorType: String) -> RuntimeAPIResponse {
        if initDone { return .invalidState("/init/error after the runtime finished its init") }
        initDone = true
        initOutcome.succeed(.failed(body: body, errorType: errorType))
        return .accepted
    }

    private func deliverIfPossible() {
        while !parked.isEmpty, !pending.isEmpty {
            let waiting = parked.removeFirst()
            var event = pending.removeFirst()
            let delivered = event.onDelivered
            event.onDelivered = nil
            current[event.invocation.requestId] = event
            delivered?()
            waiting.respond(NextRoute.render(event.invocation))
        }
    }
}

public struct RuntimeSessionClosed: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// The last few ids seen, oldest forgotten first: a session answers for as long as it lives, and must
/// not keep every id it ever answered (a warm sandbox answers hundreds of thousands).
struct RecentIDs {
    private var ids: [String] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func contains(_ id: String) -> Bool { ids.contains(id) }

    mutating func insert(_ id: String) {
        if ids.count < capacity {
            ids.append(id)
        } else {
            ids[next] = id
            next = (next + 1) % capacity
        }
    }
}
