import HearthHTTP
import NIOCore
import NIOHTTP1

/// One HTTP connection from a runtime: collects each request (body capped, length
/// counted), routes it, writes the answer. Keep-alive, as runtimes reuse connections;
/// one request at a time, so a parked /next is answered before anything sent after it.
final class RuntimeAPIHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var request: RuntimeAPIRequest
        var framing: RequestFraming
    }

    private let session: RuntimeSession
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyLength = 0
    private var order = OneAtATime<Pending>()

    init(session: RuntimeSession) { self.session = session }

    /// Whether the current request's body is kept (see `RuntimeSession.keepsBody`).
    private var keepBody = false
    /// The current request's body is a streamed response, passed on as it arrives.
    private var streaming = false
    /// The session counts this connection (it was not refused).
    private var counted = false

    func channelActive(context: ChannelHandlerContext) {
        guard session.connectionOpened() else {
            context.close(promise: nil)
            return
        }
        counted = true
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            bodyLength = 0
            let path = Router.pathBeforeQuery(h.uri)
            let connection = ObjectIdentifier(context.channel)
            let routed = path.utf8.starts(with: Router.prefix.utf8)
            let rest = routed ? Substring(path.utf8.dropFirst(Router.prefix.utf8.count)) : ""
            streaming = h.method == .POST && routed && session.streamingSink(of: connection, path: rest, headers: h.headers) != nil
            keepBody = !streaming && routed && session.keepsBody(of: connection, method: h.method.rawValue, path: rest)
            context.writeContinueIfExpected(h, answerDue: order.answerDue)
        case .body(var buffer):
            if streaming {
                // Passed on at once: the caller sees the bytes as the function writes them. Beyond 200 MB the rest is dropped.
                if let bytes = buffer.readBytes(length: buffer.readableBytes) { _ = session.streamed(bytes, from: ObjectIdentifier(context.channel)) }
                return
            }
            bodyLength += buffer.readableBytes
            let room = keepBody ? max(0, RuntimeAPILimits.maxResponseBytes + 1 - body.count) : 0
            if room > 0, let bytes = buffer.readBytes(length: min(room, buffer.readableBytes)) { body += bytes }
        case .end(let trailers):
            guard let head else { return }
            self.head = nil
            if keepBody { session.bodyDone(ObjectIdentifier(context.channel)) }
            keepBody = false
            var request = RuntimeAPIRequest(method: head.method.rawValue, path: head.uri,
                                            headers: head.headers.map { ($0.name, $0.value) }, body: body, bodyLength: bodyLength)
            if streaming {
                streaming = false
                request.streamed = true
                request.bodyLength = session.streamDone(ObjectIdentifier(context.channel))
                request.trailers = trailers.map { $0.map { ($0.name, $0.value) } } ?? []
            }
            body = []
            if let now = order.admit(Pending(request: request, framing: RequestFraming(head))) {
                handle(now, context: context)
            }
        }
    }

    private func handle(_ pending: Pending, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        Router.route(pending.request, session: session, connection: ObjectIdentifier(context.channel)) { response in
            let (handler, context) = loopBound.value
            context.writeHTTPResponse(status: response.status, headers: response.headers, body: response.body, for: pending.framing)
            // Without keep-alive the connection is closing: whatever the client sent after is dropped.
            if pending.framing.keepAlive { handler.answered(context: context) }
        }
    }

    private func answered(context: ChannelHandlerContext) {
        if let next = order.answered(on: context) { handle(next, context: context) }
    }

    func read(context: ChannelHandlerContext) {
        if order.mayRead() { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted { session.connectionClosed(ObjectIdentifier(context.channel)) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.closeAfterError(error, answerDue: order.answerDue)
    }
}
