import HearthHTTP
import NIOCore
import NIOHTTP1

/// One HTTP connection from a runtime: collects each request (body capped, length
/// counted), routes it, writes the answer. Keep-alive, as runtimes reuse connections.
final class RuntimeAPIHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let session: RuntimeSession
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyLength = 0

    init(session: RuntimeSession) { self.session = session }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            bodyLength = 0
        case .body(var buffer):
            bodyLength += buffer.readableBytes
            let room = max(0, RuntimeAPILimits.maxResponseBytes + 1 - body.count)
            if room > 0, let bytes = buffer.readBytes(length: min(room, buffer.readableBytes)) { body += bytes }
        case .end:
            guard let head else { return }
            self.head = nil
            let request = RuntimeAPIRequest(method: head.method.rawValue, path: head.uri,
                                            headers: head.headers.map { ($0.name, $0.value) }, body: body, bodyLength: bodyLength)
            body = []
            let keepAlive = head.isKeepAlive
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            Router.route(request, session: session, connection: ObjectIdentifier(context.channel)) { response in
                let (handler, context) = loopBound.value
                handler.write(response, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func write(_ response: RuntimeAPIResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        context.writeHTTPResponse(status: response.status, headers: response.headers, body: response.body, keepAlive: keepAlive)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.connectionClosed(ObjectIdentifier(context.channel))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
