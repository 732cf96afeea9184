#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthHTTP
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves the API over TCP and a unix socket. Each request's body is read
/// whole (up to a limit that depends on the operation, checked against
/// Content-Length before any of it is read), handed to `LambdaAPI`, and
/// answered on the connection's event loop; connections are kept alive.
public final class ControlServer: Sendable {
    private let channels: [Channel]

    private init(channels: [Channel]) { self.channels = channels }

    public static func start(api: LambdaAPI, host: String, port: Int, socketPath: String?) async throws -> ControlServer {
        let group = MultiThreadedEventLoopGroup.singleton
        func bootstrap() -> ServerBootstrap {
            ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(ChannelOptions.backlog, value: 1024)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServer(ControlHTTPHandler(api: api))
                    }
                }
        }
        var channels: [Channel] = []
        do {
            channels.append(try await bootstrap().bind(host: host, port: port).get())
            if let socketPath {
                unlink(socketPath)
                // Root only: whoever can reach the socket can run code in sandboxes.
                let old = umask(0o077)
                defer { umask(old) }
                channels.append(try await bootstrap().bind(unixDomainSocketPath: socketPath).get())
            }
        } catch {
            for channel in channels { _ = try? await channel.close().get() }
            throw error
        }
        return ControlServer(channels: channels)
    }

    /// The TCP port (useful with port 0).
    public var port: Int? { channels.first?.localAddress?.port }

    public func close() async {
        for channel in channels { _ = try? await channel.close().get() }
    }
}

final class ControlHTTPHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A request whose answer is due in turn: to be handled, or refused before its body was read.
    private enum Pending {
        case request(APIRequest, RequestFraming)
        case refusal(APIResponse, RequestFraming)
    }

    private let api: LambdaAPI
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var limit = 0
    private var rejected = false
    private var order = OneAtATime<Pending>()
    /// The connection's event loop as the executor of its requests' tasks.
    private var taskExecutor: EventLoopTaskExecutor?

    init(api: LambdaAPI) { self.api = api }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            rejected = false
            limit = LambdaAPI.bodyLimit(method: h.method.rawValue, uri: h.uri)
            if let length = h.headers.first(name: "content-length").flatMap(Int.init) {
                guard length <= limit else { return reject(context: context, h) }
                body.reserveCapacity(length)
            }
            context.writeContinueIfExpected(h, answerDue: order.answerDue)
        case .body(var buffer):
            guard !rejected, let h = head else { return }
            if body.count + buffer.readableBytes > limit { return reject(context: context, h) }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard !rejected, let h = head else { return }
            head = nil
            var headers: [String: String] = [:]
            for (name, value) in h.headers { headers[name.lowercased()] = value }
            let request = APIRequest(method: h.method.rawValue, uri: h.uri, headers: headers, body: body)
            body = []
            admit(.request(request, RequestFraming(h)), context: context)
        }
    }

    private func admit(_ pending: Pending, context: ChannelHandlerContext) {
        if let now = order.admit(pending) { handle(now, context: context) }
    }

    private func handle(_ pending: Pending, context: ChannelHandlerContext) {
        switch pending {
        case .refusal(let response, let framing):
            write(response, for: framing, context: context)
        case .request(let request, let framing):
            let eventLoop = context.eventLoop
            let loopBound = NIOLoopBound((self, context), eventLoop: eventLoop)
            let api = self.api
            // An Invoke runs on its connection's event loop, actor hops included: no hand-off to the
            // global pool and back on the warm path (the Supervisor moves anything that blocks, a cold
            // start or a teardown, to the global executor). Other operations may block on disk: not here.
            Task(executorPreference: request.isInvoke ? loopExecutor(eventLoop) : nil) {
                let response = await api.handle(request)
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.write(response, for: framing, context: context)
                }
            }
        }
    }

    /// The connection's event loop as a task executor, made on its first Invoke.
    private func loopExecutor(_ loop: any EventLoop) -> EventLoopTaskExecutor {
        if let taskExecutor { return taskExecutor }
        let executor = EventLoopTaskExecutor(loop)
        taskExecutor = executor
        return executor
    }

    /// 413 as soon as the body is known to be too large, without reading it; the connection closes after.
    private func reject(context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        rejected = true
        head = nil
        body = []
        let response = LambdaAPI.errorResponse(LambdaAPI.tooLarge(method: h.method.rawValue, uri: h.uri, limit: limit))
        admit(.refusal(response, RequestFraming(version: h.version, keepAlive: false)), context: context)
    }

    private func write(_ response: APIResponse, for framing: RequestFraming, context: ChannelHandlerContext) {
        context.writeHTTPResponse(status: response.status, headers: response.headers, body: response.body, for: framing)
        // Without keep-alive the connection is closing: whatever the client sent after is dropped.
        guard framing.keepAlive else { return }
        if let next = order.answered(on: context) { handle(next, context: context) }
    }

    func read(context: ChannelHandlerContext) {
        if order.mayRead() { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.closeAfterError(error, answerDue: order.answerDue)
    }
}

/// An event loop as a task executor: a task's jobs run on that loop's thread.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
