import Foundation
import HearthHTTP
import NIOCore
import NIOHTTP1
import NIOPosix

/// The URL listener: function URLs on a port of their own, so the management API can stay private while
/// URLs are public. Bodies up to Lambda's 6 MB are read into memory; connections follow the same caps and
/// deadlines as the API's (`ConnectionLimits`); requests on a connection are answered in order.
public final class FunctionUrlServer: Sendable {
    private let channel: Channel
    private let registry: ConnectionRegistry

    /// Lambda's limit on a function URL's request body.
    public static let bodyLimit = 6 * 1024 * 1024

    private init(channel: Channel, registry: ConnectionRegistry) {
        self.channel = channel
        self.registry = registry
    }

    public static func start(handler: FunctionUrlHandler, host: String, port: Int, limits: ConnectionLimits = ConnectionLimits()) async throws
        -> FunctionUrlServer {
        let group = MultiThreadedEventLoopGroup.singleton
        let registry = ConnectionRegistry(limits: limits, loop: group.next())
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let activity = ConnectionActivity(channel: channel)
                    try channel.pipeline.syncOperations.addHandler(ConnectionGuard(registry: registry, activity: activity))
                    try channel.pipeline.syncOperations.configureHTTPServer(URLHTTPHandler(handler: handler, activity: activity))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: host, port: port).get()
            return FunctionUrlServer(channel: channel, registry: registry)
        } catch {
            registry.stop()
            throw error
        }
    }

    public var port: Int? { channel.localAddress?.port }

    public func close() async {
        _ = try? await channel.close().get()
        registry.stop()
    }
}

final class URLHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart

    private enum Pending {
        case request(FunctionUrlHandler.Request, RequestFraming)
        case refusal(URLResponse, RequestFraming)
    }

    private let handler: FunctionUrlHandler
    private let activity: ConnectionActivity
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var rejected = false
    private var order = OneAtATime<Pending>()
    private var loopExecutor = LoopExecutor()

    init(handler: FunctionUrlHandler, activity: ConnectionActivity) {
        self.handler = handler
        self.activity = activity
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            activity.headComplete()
            rejected = false
            head = h
            body = nil
            if let length = h.headers.first(name: "content-length").flatMap(Int.init), length > FunctionUrlServer.bodyLimit {
                return reject(context: context, h)
            }
            context.writeContinueIfExpected(h, answerDue: order.answerDue)
        case .body(var chunk):
            guard !rejected, let h = head else { return }
            activity.bodyProgress()
            guard (body?.readableBytes ?? 0) + chunk.readableBytes <= FunctionUrlServer.bodyLimit else { return reject(context: context, h) }
            if body == nil { body = chunk } else { body?.writeBuffer(&chunk) }
        case .end:
            guard !rejected, let h = head else { return }
            head = nil
            activity.handling()
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            let version = "HTTP/\(h.version.major).\(h.version.minor)"
            let request = FunctionUrlHandler.Request(method: h.method.rawValue, target: h.uri, headers: h.headers.map { ($0.name, $0.value) },
                                                     body: bytes, sourceIp: context.channel.remoteAddress?.ipAddress ?? "127.0.0.1",
                                                     httpVersion: version)
            admit(.request(request, RequestFraming(h)), context: context)
        }
    }

    private func reject(context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        rejected = true
        head = nil
        body = nil
        let refusal = URLResponse.error(413, "RequestEntityTooLargeException",
                                        "Request must be smaller than \(FunctionUrlServer.bodyLimit) bytes for a function URL")
        admit(.refusal(refusal, RequestFraming(version: h.version, keepAlive: false)), context: context)
    }

    private func admit(_ pending: Pending, context: ChannelHandlerContext) {
        if let now = order.admit(pending) { handle(now, context: context) }
    }

    private func handle(_ pending: Pending, context: ChannelHandlerContext) {
        activity.handling()
        switch pending {
        case .refusal(let response, let framing):
            write(response, for: framing, context: context)
        case .request(let request, let framing):
            let eventLoop = context.eventLoop
            let loopBound = NIOLoopBound((self, context), eventLoop: eventLoop)
            let handler = self.handler
            // On the connection's event loop, as the API's Invoke runs: no hand-off to the global pool and back.
            Task(executorPreference: loopExecutor.get(eventLoop)) {
                let response = await handler.handle(request)
                eventLoop.execute {
                    let (this, context) = loopBound.value
                    this.write(response, for: framing, context: context)
                }
            }
        }
    }

    private func write(_ response: URLResponse, for framing: RequestFraming, context: ChannelHandlerContext) {
        if let streamed = response.streamed { return writeStreamed(streamed, for: framing, context: context) }
        context.writeHTTPResponse(status: response.status, headers: response.headers, body: response.body, for: framing)
        guard framing.keepAlive else { return }
        answered(context: context)
    }

    private func answered(context: ChannelHandlerContext) {
        activity.answered()
        if let next = order.answered(on: context) { handle(next, context: context) }
    }

    /// Each piece as it comes, on the connection's event loop; the answer `run` gives back instead when it emitted nothing.
    private func writeStreamed(_ body: URLStreamedBody, for framing: RequestFraming, context: ChannelHandlerContext) {
        let octets = [("Content-Type", "application/octet-stream")]
        context.writeStreamedResponse(for: framing, defaultHead: (200, octets), produce: { emit in await body.run(emit) }, done: { instead, started in
            if !started, let instead { return self.write(instead, for: framing, context: context) }
            if !started { _ = context.writeStreamingHead(status: 200, headers: octets, for: framing) }
            if context.writeBodyEnd(for: framing) { self.answered(context: context) }
        })
    }

    func read(context: ChannelHandlerContext) {
        if order.mayRead() { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.closeAfterError(error, answerDue: order.answerDue)
    }
}
