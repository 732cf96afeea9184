#if canImport(Glibc)
import Glibc
#endif
import HearthHTTP
import HearthModel
import NIOCore
import NIOHTTP1
import NIOPosix

/// The Runtime API for one sandbox. In production it serves a socket that was
/// created listening on 127.0.0.1:9001 inside the sandbox's own network
/// namespace; tests bind an ordinary address. One event loop serves all of the
/// sandbox's connections, so its session needs no lock.
public final class RuntimeAPIServer: Sendable {
    public let session: RuntimeSession
    private let channel: Channel

    private init(session: RuntimeSession, channel: Channel) {
        self.session = session
        self.channel = channel
    }

    /// Where the runtime finds the API inside its sandbox, as on Lambda (AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001).
    public static let port: UInt16 = 9001

    /// The shared event loops every sandbox's server runs on.
    public static var group: MultiThreadedEventLoopGroup { .singleton }

    /// Serves an already listening socket: ownership passes to the server once it is serving; if this
    /// fails, the socket is still the caller's.
    /// - Parameter maxConcurrency: how many events the runtime may work on at once (`RuntimeSession`).
    public static func serve(listeningSocket fd: Int32, maxConcurrency: Int = 1) -> EventLoopFuture<RuntimeAPIServer> {
        let loop = group.next()
        let session = RuntimeSession(eventLoop: loop, maxConcurrency: maxConcurrency)
        return started(bootstrap(loop, session).withBoundSocket(fd), session)
    }

    /// Binds `host:port` (port 0: any); for tests and tools outside a sandbox.
    public static func bind(host: String, port: Int, maxConcurrency: Int = 1) -> EventLoopFuture<RuntimeAPIServer> {
        let loop = group.next()
        let session = RuntimeSession(eventLoop: loop, maxConcurrency: maxConcurrency)
        return started(bootstrap(loop, session).bind(host: host, port: port), session)
    }

    /// A server that could not start ends its session: its promises must be kept, and no runtime will call.
    private static func started(_ channel: EventLoopFuture<Channel>, _ session: RuntimeSession) -> EventLoopFuture<RuntimeAPIServer> {
        channel.map { RuntimeAPIServer(session: session, channel: $0) }.flatMapErrorThrowing { error in
            session.close(.platformError(.unknown("the Runtime API could not start")),
                          reason: "the Runtime API could not start: \(error)")
            throw error
        }
    }

    private static func bootstrap(_ loop: EventLoop, _ session: RuntimeSession) -> ServerBootstrap {
        ServerBootstrap(group: loop, childGroup: loop)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServer(RuntimeAPIHandler(session: session))
                }
            }
    }

    public var port: Int? { channel.localAddress?.port }

    /// Stops listening and drops every connection.
    /// Closes the listener; the session ends too, so nothing waits on a runtime that can no longer call.
    public func close() -> EventLoopFuture<Void> {
        session.close(.platformError(.unknown("the Runtime API closed")), reason: "the Runtime API closed")
        return channel.close().flatMapError { _ in self.channel.eventLoop.makeSucceededVoidFuture() }
    }
}
