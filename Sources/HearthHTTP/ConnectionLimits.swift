#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Synchronization

/// What a server allows each client connection: how many at once, and how long each phase of a
/// request may take. A client that is slower than this is closed (with 408 if it was sending a request).
public struct ConnectionLimits: Sendable, Equatable {
    /// Connections open at once; at the cap, the longest-idle one (or one still sending its head) makes room.
    public var maxConnections: Int
    /// From a request's first byte to the end of its head (slowloris).
    public var headerSeconds: Int
    /// Between two reads of a request's body.
    public var bodyIdleSeconds: Int
    /// Between an answer and the next request's first byte.
    public var keepAliveSeconds: Int

    public init(maxConnections: Int = 1024, headerSeconds: Int = 10, bodyIdleSeconds: Int = 30, keepAliveSeconds: Int = 60) {
        self.maxConnections = maxConnections
        self.headerSeconds = headerSeconds
        self.bodyIdleSeconds = bodyIdleSeconds
        self.keepAliveSeconds = keepAliveSeconds
    }
}

/// One connection's phase, written by its handlers on its event loop and read by the server's sweeper
/// from another: atomics, two stores per request on the warm path, no timer per request.
public final class ConnectionActivity: Sendable {
    enum Phase: UInt8 {
        /// Waiting for a request (a new connection, or between requests).
        case idle
        /// A request's head is arriving.
        case head
        /// A request's body is arriving.
        case body
        /// A request is being handled (an invocation may take 15 minutes): no deadline.
        case handling
    }

    private let phase = Atomic<UInt8>(Phase.idle.rawValue)
    /// When the phase began (body: the last read), monotonic nanoseconds.
    private let since = Atomic<UInt64>(ConnectionActivity.now())
    fileprivate let channel: Channel

    public init(channel: Channel) { self.channel = channel }

    var current: Phase { Phase(rawValue: phase.load(ordering: .relaxed)) ?? .idle }
    var sinceNanoseconds: UInt64 { since.load(ordering: .relaxed) }

    private func enter(_ p: Phase) {
        since.store(Self.now(), ordering: .relaxed)
        phase.store(p.rawValue, ordering: .relaxed)
    }

    /// Bytes arrived: the first of a new request starts its head's deadline.
    func bytesArrived() {
        if current == .idle { enter(.head) }
    }

    /// The request's head is complete; its body (if any) follows.
    public func headComplete() { enter(.body) }
    /// Part of the body arrived.
    public func bodyProgress() { since.store(Self.now(), ordering: .relaxed) }
    /// The request is complete and being handled.
    public func handling() { enter(.handling) }
    /// The answer is written: waiting for the next request.
    public func answered() { enter(.idle) }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// A server's connections: admits each one under the cap (making room by closing the longest-idle
/// connection, or the oldest one still sending its head), and once a second closes those past their
/// phase's deadline. One per server; `stop` ends its sweeps.
public final class ConnectionRegistry: Sendable {
    public let limits: ConnectionLimits
    private let connections = Mutex<[ObjectIdentifier: ConnectionActivity]>([:])
    private let sweeper: Mutex<RepeatedTask?> = Mutex(nil)

    public init(limits: ConnectionLimits, loop: any EventLoop) {
        self.limits = limits
        let task = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in self?.sweep() }
        sweeper.withLock { $0 = task }
    }

    public func stop() { sweeper.withLock { $0?.cancel(); $0 = nil } }

    public var count: Int { connections.withLock { $0.count } }

    /// Registers a new connection; false if it must be closed (the cap is reached and nothing can make room).
    func admit(_ activity: ConnectionActivity) -> Bool {
        let victim: ConnectionActivity?? = connections.withLock { all in
            if all.count < limits.maxConnections {
                all[ObjectIdentifier(activity)] = activity
                return .some(nil)
            }
            let idle = all.values.filter { $0.current == .idle }.min { $0.sinceNanoseconds < $1.sinceNanoseconds }
            let slow = all.values.filter { $0.current == .head }.min { $0.sinceNanoseconds < $1.sinceNanoseconds }
            guard let chosen = idle ?? slow else { return nil }
            all[ObjectIdentifier(chosen)] = nil
            all[ObjectIdentifier(activity)] = activity
            return .some(chosen)
        }
        guard let made = victim else { return false }
        made?.channel.close(promise: nil)
        return true
    }

    func remove(_ activity: ConnectionActivity) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(activity)) }
    }

    /// Whether a connection in `phase` since `since` is past that phase's deadline at `now`. A phase or read
    /// that began after `now` (on another loop, while the sweep looked) is not late: wrapping arithmetic
    /// took it for one 584 years late, and an upload in full flow was cut off with 408.
    static func isLate(_ phase: ConnectionActivity.Phase, since: UInt64, now: UInt64, limits: ConnectionLimits) -> Bool {
        let seconds: Int
        switch phase {
        case .idle: seconds = limits.keepAliveSeconds
        case .head: seconds = limits.headerSeconds
        case .body: seconds = limits.bodyIdleSeconds
        case .handling: return false
        }
        guard now > since else { return false }
        return now - since > UInt64(max(0, seconds)) * 1_000_000_000
    }

    /// Closes every connection past its deadline; one still sending a request gets 408 first.
    func sweep() {
        let now = ConnectionActivity.now()
        let limits = self.limits
        let late: [(ConnectionActivity, Bool)] = connections.withLock { all in
            all.values.compactMap { activity in
                let phase = activity.current
                return Self.isLate(phase, since: activity.sinceNanoseconds, now: now, limits: limits) ? (activity, phase != .idle) : nil
            }
        }
        for (activity, midRequest) in late {
            let channel = activity.channel
            channel.eventLoop.execute {
                // Still late on its own loop: the phase may have moved on, or a read come, since.
                guard Self.isLate(activity.current, since: activity.sinceNanoseconds, now: ConnectionActivity.now(), limits: limits),
                      channel.isActive else { return }
                if midRequest, let bytes = HTTPResponseBytes.encode(status: 408, headers: [], body: [],
                                                                     for: RequestFraming(keepAlive: false), allocator: channel.allocator) {
                    channel.writeAndFlush(bytes).whenComplete { _ in channel.close(promise: nil) }
                } else {
                    channel.close(promise: nil)
                }
            }
        }
    }
}

/// First in a connection's pipeline: registers it with the server's registry (closing it if there is no
/// room) and marks a request's first byte, so the head's deadline starts there.
public final class ConnectionGuard: ChannelInboundHandler, Sendable {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private let registry: ConnectionRegistry
    private let activity: ConnectionActivity

    public init(registry: ConnectionRegistry, activity: ConnectionActivity) {
        self.registry = registry
        self.activity = activity
    }

    public func channelActive(context: ChannelHandlerContext) {
        guard registry.admit(activity) else {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        activity.bytesArrived()
        context.fireChannelRead(data)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        registry.remove(activity)
        context.fireChannelInactive()
    }
}
