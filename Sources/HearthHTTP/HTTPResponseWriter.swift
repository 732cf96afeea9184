import NIOCore
import NIOHTTP1

extension ChannelHandlerContext {
    /// Writes one whole HTTP/1.1 response (head with Content-Length, body, end) for the
    /// Runtime API and the control API alike; without keep-alive the connection closes after it.
    public func writeHTTPResponse(status: Int, headers: [(String, String)], body: [UInt8], keepAlive: Bool,
                                  version: HTTPVersion = .http1_1) {
        guard channel.isActive else { return }
        var fields = HTTPHeaders(headers)
        fields.replaceOrAdd(name: "Content-Length", value: String(body.count))
        if !keepAlive { fields.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: fields)
        write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        if !body.isEmpty {
            write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: promise)
        if !keepAlive { promise.futureResult.whenComplete { _ in self.close(promise: nil) } }
    }
}
