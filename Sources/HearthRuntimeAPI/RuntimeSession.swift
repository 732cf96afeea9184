import NIOCore

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
    /// Called on the event loop as the pending event is handed to the runtime.
    private var onDelivered: (@Sendable () -> Void)?
    /// The event the runtime is working on.
    private var current: (RuntimeInvocation, EventLoopPromise<InvocationOutcome>)?
    /// Request ids already answered, so a repeated POST is told 403, an unknown id 400.
    private var answered: Set<String> = []

    public init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        initOutcome = eventLoop.makePromise(of: InitOutcome.self)
    }

    /// Queues an event for the runtime; the future completes when it is answered or the session fails.
    /// - Parameter onDelivered: runs on the event loop just before the runtime's GET /next gets the event;
    ///   what the runtime wrote until then belongs to the invocation before.
    public func invoke(_ invocation: RuntimeInvocation, onDelivered: (@Sendable () -> Void)? = nil) -> EventLoopFuture<InvocationOutcome> {
        eventLoop.flatSubmit {
            let promise = self.eventLoop.makePromise(of: InvocationOutcome.self)
            if let closed = self.closed {
                // Why it closed (the runtime exited, say): an event that comes after ends as the ones outstanding did.
                promise.succeed(closed)
            } else if self.pending != nil || self.current != nil {
                promise.succeed(.platformError(errorType: "Runtime.Unknown", message: "the sandbox is busy with another invocation"))
            } else {
                self.pending = (invocation, promise)
                self.onDelivered = onDelivered
                self.deliverIfPossible()
            }
            return promise.futureResult
        }
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
            self.parkedNext = nil
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
    }

    /// Whether a /next is waiting (on the event loop; for tests).
    var isNextParked: Bool { parkedNext != nil }

    /// The connection of a parked /next closed: the runtime is not waiting any more.
    func connectionClosed(_ connection: ObjectIdentifier) {
        if parkedNext?.id == connection { parkedNext = nil }
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
