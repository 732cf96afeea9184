import NIOCore
import NIOHTTP1

/// Hearth's two HTTP servers (the control API, the Runtime API) decode requests with NIO's llhttp
/// decoder and write each response as one buffer of their own making: NIO's response encoder,
/// header validator and pipelining handler cost ~15% of the daemon's CPU per invocation, three
/// responses to an invocation. Requests are still answered one at a time, in order (`OneAtATime`).
extension ChannelPipeline.SynchronousOperations {
    public func configureHTTPServer(_ handler: some ChannelInboundHandler) throws {
        try addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        try addHandler(handler)
    }
}

/// What of a request its answer depends on: the version, whether the connection stays open, HEAD.
public struct RequestFraming: Sendable {
    public var version: HTTPVersion
    public var keepAlive: Bool
    public var headRequest: Bool

    public init(_ head: HTTPRequestHead) {
        self.init(version: head.version, keepAlive: head.isKeepAlive, headRequest: head.method == .HEAD)
    }

    public init(version: HTTPVersion = .http1_1, keepAlive: Bool, headRequest: Bool = false) {
        self.version = version
        self.keepAlive = keepAlive
        self.headRequest = headRequest
    }
}

/// One whole HTTP/1.x response as bytes: status line, the given headers, Content-Length (none for 1xx and 204),
/// `Connection: close` without keep-alive (`keep-alive` with it, to HTTP/1.0), the body (none for a HEAD request).
public enum HTTPResponseBytes {
    /// nil if a header would break the message: a name that is not an RFC 9110 token, or a value
    /// holding CR, LF or NUL (a value that came from a client, say, must not add header lines).
    public static func encode(status: Int, headers: [(String, String)], body: [UInt8], for request: RequestFraming,
                              allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard var buffer = encodeHead(status: status, headers: headers, contentLength: body.count, for: request, allocator: allocator,
                                      reserving: request.headRequest ? 0 : body.count) else { return nil }
        if !request.headRequest && !(status < 200 || status == 204) { buffer.writeBytes(body) }
        return buffer
    }

    /// The status line and headers of a response whose body of `contentLength` bytes follows separately.
    /// - Parameter contentLength: nil for a body written as it is made: chunked to HTTP/1.1 (see `chunk`), and to
    ///   HTTP/1.0 delimited by the connection's close (the caller's `request` must then not keep it alive).
    public static func encodeHead(status: Int, headers: [(String, String)], contentLength: Int?, for request: RequestFraming,
                                  allocator: ByteBufferAllocator, reserving: Int = 0) -> ByteBuffer? {
        let version = request.version
        var buffer = allocator.buffer(capacity: 128 + headers.count * 48 + reserving)
        buffer.writeString("HTTP/\(version.major).\(version.minor) \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n")
        for (name, value) in headers {
            guard isToken(name), isFieldValue(value) else { return nil }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        // 1xx and 204 have no body, and RFC 9110 forbids their Content-Length.
        let bodiless = status < 200 || status == 204
        if !bodiless {
            if let contentLength {
                buffer.writeStaticString("Content-Length: ")
                buffer.writeString(String(contentLength))
                buffer.writeStaticString("\r\n")
            } else if version != .http1_0 {
                buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
            }
        }
        if !request.keepAlive {
            buffer.writeStaticString("Connection: close\r\n")
        } else if version == .http1_0 {
            // An HTTP/1.0 client closes unless told the connection stays open.
            buffer.writeStaticString("Connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// One piece of a body whose head had no length: a chunk to HTTP/1.1, the bytes themselves to HTTP/1.0;
    /// an empty piece is HTTP/1.1's last chunk (nothing to HTTP/1.0, which ends with the connection).
    public static func chunk(_ bytes: [UInt8], version: HTTPVersion, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard version != .http1_0 else { return allocator.buffer(bytes: bytes) }
        var buffer = allocator.buffer(capacity: bytes.count + 12)
        buffer.writeString(String(bytes.count, radix: 16))
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    public static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    public static func isFieldValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
    }
}

extension ChannelHandlerContext {
    /// Writes and flushes one whole response; without keep-alive the connection closes after it.
    /// A response whose headers would break the message goes out as a bare 500, and the connection closes.
    /// With `lingering`, a response that ends the connection leaves it open for the caller to close: a
    /// refused request's body is still arriving, and closing on a client that is sending makes its
    /// kernel reset the connection, often before it has read the answer.
    public func writeHTTPResponse(status: Int, headers: [(String, String)], body: [UInt8], for request: RequestFraming, lingering: Bool = false) {
        guard channel.isActive else { return }
        guard let encoded = HTTPResponseBytes.encode(status: status, headers: headers, body: body, for: request, allocator: channel.allocator) else {
            return writeBareResponseAndClose(status: 500, version: request.version)
        }
        if request.keepAlive || lingering {
            writeAndFlush(NIOAny(encoded), promise: nil)
        } else {
            let channel = self.channel
            writeAndFlush(NIOAny(encoded)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Writes a response whose body is the first `length` bytes of the open file `fd`, sent by the kernel
    /// (sendfile) and never held in memory; takes ownership of `fd`. Without keep-alive the connection
    /// closes after it.
    public func writeHTTPFileResponse(status: Int, headers: [(String, String)], fd: Int32, length: Int, for request: RequestFraming) {
        let file = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
        guard channel.isActive,
              let head = HTTPResponseBytes.encodeHead(status: status, headers: headers, contentLength: length, for: request, allocator: channel.allocator) else {
            try? file.close()
            return channel.isActive ? writeBareResponseAndClose(status: 500, version: request.version) : ()
        }
        write(NIOAny(head), promise: nil)
        let sent: EventLoopFuture<Void>
        if request.headRequest || length == 0 {
            sent = writeAndFlush(NIOAny(ByteBuffer()))
        } else {
            sent = writeAndFlush(NIOAny(IOData.fileRegion(FileRegion(fileHandle: file, readerIndex: 0, endIndex: length))))
        }
        let channel = self.channel
        let keepAlive = request.keepAlive
        sent.whenComplete { _ in
            try? file.close()
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    /// The head of a response whose body follows in pieces (`writeBodyPiece`, then `writeBodyEnd`). To HTTP/1.0
    /// the body ends with the connection, which is then closed whatever `request` said. False (a bare 500 was
    /// sent and the connection is closing) when a header would break the message.
    public func writeStreamingHead(status: Int, headers: [(String, String)], for request: RequestFraming) -> Bool {
        guard channel.isActive else { return false }
        var framing = request
        if request.version == .http1_0 { framing.keepAlive = false }
        guard let head = HTTPResponseBytes.encodeHead(status: status, headers: headers, contentLength: nil, for: framing, allocator: channel.allocator) else {
            writeBareResponseAndClose(status: 500, version: request.version)
            return false
        }
        writeAndFlush(NIOAny(head), promise: nil)
        return true
    }

    public func writeBodyPiece(_ bytes: [UInt8], for request: RequestFraming) {
        guard channel.isActive, !bytes.isEmpty, !request.headRequest else { return }
        writeAndFlush(NIOAny(HTTPResponseBytes.chunk(bytes, version: request.version, allocator: channel.allocator)), promise: nil)
    }

    /// The body is complete; the connection closes after it unless it is kept alive. Whether it stays open.
    @discardableResult
    public func writeBodyEnd(for request: RequestFraming) -> Bool {
        guard channel.isActive else { return false }
        let keepAlive = request.keepAlive && request.version != .http1_0
        let channel = self.channel
        if request.version == .http1_0 || request.headRequest {
            flush()
        } else {
            writeAndFlush(NIOAny(HTTPResponseBytes.chunk([], version: request.version, allocator: channel.allocator))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
            return keepAlive
        }
        if !keepAlive { channel.close(promise: nil) }
        return keepAlive
    }

    /// `100 Continue` for a request that asks for it before sending its body (curl does for bodies over 1 MB,
    /// and waits a second without one). Not while an earlier request's answer is due: it would overtake it.
    public func writeContinueIfExpected(_ head: HTTPRequestHead, answerDue: Bool) {
        guard !answerDue, head.version == .http1_1,
              let expect = head.headers.first(name: "expect"), expect.lowercased() == "100-continue" else { return }
        writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
    }

    /// An error on the connection. A request the decoder refused gets 400 and a hang-up (what NIO's protocol
    /// error handler did), unless an answer to an earlier request is still due, which it must not overtake:
    /// then, as for any other error, only the hang-up.
    public func closeAfterError(_ error: Error, answerDue: Bool) {
        if error is HTTPParserError, !answerDue, channel.isActive {
            writeBareResponseAndClose(status: 400, version: .http1_1)
        } else {
            close(promise: nil)
        }
    }

    private func writeBareResponseAndClose(status: Int, version: HTTPVersion) {
        guard let bare = HTTPResponseBytes.encode(status: status, headers: [], body: [], for: RequestFraming(version: version, keepAlive: false),
                                                  allocator: channel.allocator) else { return close(promise: nil) }
        let channel = self.channel
        writeAndFlush(NIOAny(bare)).whenComplete { _ in channel.close(promise: nil) }
    }
}

extension OneAtATime {
    /// The current request is answered on `context`'s connection: returns the next one to handle, if one is
    /// held, and reads put off while it was resume.
    public mutating func answered(on context: ChannelHandlerContext) -> Item? {
        let (next, resume) = finish()
        if resume { context.read() }
        return next
    }
}
