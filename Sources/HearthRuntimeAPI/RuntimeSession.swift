import HearthModel
import NIOCore
import NIOHTTP1

/// The Runtime API state of one sandbox. Every method runs on `eventLoop`
/// (all of the sandbox's connections are served there), so the state needs no lock.
public final class RuntimeSession: @unchecked Sendable {
    public let eventLoop: EventLoop
    /// Completed once: on the first GET /next (ready) or on POST /init/error.
    public let initOutcome: EventLoopPromise<InitOutcome>

    private var initDone = false
    /// Set once the session is over, to what every event still outstanding or sent later ends with.
    private var closed: InvocationOutcome?
    /// A GET /next waiting for an event, with the connection it came on.
    private var parkedNext: (id: ObjectIdentifier, respond: (RuntimeAPIResponse) -> Void)?
    /// An event not yet handed to the runtime.
    private var pending: (RuntimeInvocation, EventLoopPromise<InvocationOutcome>)?
    /// Where the pending and the current event's streamed response goes, when its caller streams.
    private var pendingSink: ResponseSink?
    private var currentSink: ResponseSink?
    /// The connection whose streamed response is being passed on, and how many bytes it has sent.
    private var streamer: (id: ObjectIdentifier, bytes: Int)?
    /// Called on the event loop as the pending event is handed to the runtime.
    private var onDelivered: (@Sendable () -> Void)?
    /// The event the runtime is working on.
    private var current: (RuntimeInvocation, EventLoopPromise<InvocationOutcome>)?
    /// The last request ids answered (a bounded window), so a repeated POST is told 403, an unknown id 400.
    private var answered = RecentIDs(capacity: 16)
    /// Connections the runtime has open now; more than `maxConnections` are refused.
    private var connections = 0
    /// The connection whose request body is being kept (one at a time: a sandbox can fill its own memory,
    /// never the daemon's).
    private var bodyKeeper: ObjectIdentifier?
    /// Told when the runtime starts and stops waiting idle (`observeIdle`).
    private var idleObserver: (@Sendable (Bool) -> Void)?
    private var isIdle = false

    /// Runtimes keep one or two connections (AWS's clients one; a concurrent runtime one per request).
    public static let maxConnections = 64

    public init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        initOutcome = eventLoop.makePromise(of: InitOutcome.self)
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
            } else if self.pending != nil || self.current != nil {
                promise.succeed(.platformError(.unknown("the sandbox is busy with another invocation")))
            } else {
                self.pending = (invocation, promise)
                self.pendingSink = stream
                self.onDelivered = onDelivered
                // Thawed before the event is written, so the runtime runs as soon as it arrives.
                self.updateIdle()
                self.deliverIfPossible()
            }
            return promise.futureResult
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
        let idle = closed == nil && parkedNext != nil && pending == nil && current == nil
        guard idle != isIdle else { return }
        isIdle = idle
        idleObserver?(idle)
    }

    /// The sandbox is gone (exit, timeout, OOM): whatever is outstanding ends with `outcome`.
    public func close(_ outcome: InvocationOutcome, reason: String) {
        eventLoop.execute {
            guard self.closed == nil else { return }
            self.closed = outcome
            self.pending?.1.succeed(outcome)
            self.current?.1.succeed(outcome)
            self.pending = nil
            self.onDelivered = nil
            self.current = nil
            self.pendingSink = nil
            self.currentSink = nil
            self.streamer = nil
            self.parkedNext = nil
            self.updateIdle()
            self.initOutcome.fail(RuntimeSessionClosed(reason: reason))
        }
    }

    // MARK: used by the routes (on the event loop)

    func next(connection: ObjectIdentifier, respond: @escaping (RuntimeAPIResponse) -> Void) {
        if closed != nil { return respond(.error(500, "InternalServerError", "Internal Server Error")) }
        if parkedNext != nil { return respond(.invalidState("another /next is already waiting")) }
        if current != nil { return respond(.invalidState("/next called before the current invocation was answered")) }
        if !initDone {
            initDone = true
            initOutcome.succeed(.ready)
        }
        parkedNext = (connection, respond)
        deliverIfPossible()
        updateIdle()
    }

    /// Whether a /next is waiting (on the event loop; for tests).
    var isNextParked: Bool { parkedNext != nil }

    /// A connection opened; false if the runtime has too many and this one must be closed.
    func connectionOpened() -> Bool {
        guard connections < Self.maxConnections else { return false }
        connections += 1
        return true
    }

    /// The connection of a parked /next closed: the runtime is not waiting any more.
    func connectionClosed(_ connection: ObjectIdentifier) {
        connections -= 1
        if parkedNext?.id == connection {
            parkedNext = nil
            // Thawed, so it can notice and ask again.
            updateIdle()
        }
        if bodyKeeper == connection { bodyKeeper = nil }
        if streamer?.id == connection { streamer = nil }
    }

    /// Whether a request's body is worth keeping: a POST for the invocation the runtime is working on (its
    /// response or error), or an init error before init is over, and no other connection's body being
    /// kept. Any other body is counted but dropped as it arrives; its request is refused anyway.
    func keepsBody(of connection: ObjectIdentifier, method: String, path: Substring) -> Bool {
        guard method == "POST", bodyKeeper == nil || bodyKeeper == connection else { return false }
        let wanted: Bool
        if path == "init/error" {
            wanted = !initDone
        } else if let current, path.hasPrefix("invocation/"), path.dropFirst("invocation/".count).hasPrefix(current.0.requestId + "/") {
            wanted = true
        } else {
            wanted = false
        }
        if wanted { bodyKeeper = connection }
        return wanted
    }

    /// The sink for a POST of the current invocation's response in streaming mode, when its caller streams;
    /// the connection then passes its body on as it arrives (`streamed`) instead of keeping it.
    func streamingSink(of connection: ObjectIdentifier, path: Substring, headers: HTTPHeaders) -> ResponseSink? {
        guard let current, let sink = currentSink, streamer == nil, bodyKeeper == nil,
              path == "invocation/" + current.0.requestId + "/response",
              headers.first(name: "lambda-runtime-function-response-mode")?.lowercased() == "streaming"
        else { return nil }
        streamer = (connection, 0)
        sink.open(headers.first(name: "content-type"))
        return sink
    }

    /// A chunk of the streamed response: passed on while the total stays within Lambda's 200 MB; false once it is over.
    func streamed(_ bytes: [UInt8], from connection: ObjectIdentifier) -> Bool {
        guard let sink = currentSink, var state = streamer, state.id == connection else { return false }
        state.bytes += bytes.count
        streamer = state
        guard state.bytes <= ResponseSink.maxBytes else { return false }
        sink.write(bytes)
        return true
    }

    /// How many bytes the connection streamed; its stream is over.
    func streamDone(_ connection: ObjectIdentifier) -> Int {
        guard let state = streamer, state.id == connection else { return 0 }
        streamer = nil
        return state.bytes
    }

    /// The kept body is complete.
    func bodyDone(_ connection: ObjectIdentifier) {
        if bodyKeeper == connection { bodyKeeper = nil }
    }

    /// Checks a request id against the current invocation.
    func check(requestId: String) -> RuntimeAPIResponse? {
        if let current, current.0.requestId == requestId { return nil }
        if answered.contains(requestId) { return .invalidState("invocation \(requestId) was already answered") }
        return .invalidRequestID()
    }

    func complete(requestId: String, with outcome: InvocationOutcome) {
        guard let current, current.0.requestId == requestId else { return }
        self.current = nil
        currentSink = nil
        answered.insert(requestId)
        current.1.succeed(outcome)
    }

    func initError(body: [UInt8], errorType: String) -> RuntimeAPIResponse {
        if initDone { return .invalidState("/init/error after the runtime finished its init") }
        initDone = true
        initOutcome.succeed(.failed(body: body, errorType: errorType))
        return .accepted
    }

    private func deliverIfPossible() {
        guard let parked = parkedNext, let (invocation, promise) = pending else { return }
        parkedNext = nil
        pending = nil
        current = (invocation, promise)
        currentSink = pendingSink
        pendingSink = nil
        let delivered = onDelivered
        onDelivered = nil
        delivered?()
        parked.respond(NextRoute.render(invocation))
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
