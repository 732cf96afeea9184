import Foundation

/// A deliberately small HTTP/1.1 client over a plain socket, so the tests see
/// exactly the bytes a runtime sends and receives.
final class RawHTTP: @unchecked Sendable {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        // A response that never comes fails the test instead of hanging it.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Hangs up now, even while another thread is blocked reading.
    func hangUp() { shutdown(fd, Int32(SHUT_RDWR)) }

    func send(_ method: String, _ path: String, body: Data = Data(), headers: [String: String] = [:]) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.count)\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        try write(Data(head.utf8) + body)
        return try readResponse()
    }

    /// Sends bytes as they are (several requests at once, or no HTTP at all).
    func sendRaw(_ text: String) throws { try write(Data(text.utf8)) }

    /// Whether the server closed the connection (a read finds the end of the stream).
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        return read(fd, &byte, 1) == 0
    }

    private func write(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                guard n > 0 else { throw POSIXError(.EPIPE) }
                offset += n
            }
        }
    }

    private var buffer = Data()

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = read(fd, &chunk, chunk.count)
        guard n > 0 else { throw POSIXError(.ECONNRESET) }
        buffer.append(contentsOf: chunk[0..<n])
    }

    func readResponse() throws -> Response {
        let separator = Data("\r\n\r\n".utf8)
        while buffer.range(of: separator) == nil { try fill() }
        let end = buffer.range(of: separator)!
        let head = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self)
        buffer = Data(buffer[end.upperBound...])
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        let body = Data(buffer.prefix(length))
        buffer = Data(buffer.dropFirst(length))
        return Response(status: status, headers: headers, body: body)
    }
}

extension RawHTTP {
    /// A runtime's GET /next on a new connection and a thread of its own (it blocks until an event is
    /// there): the connection, and a wait of up to 5 s for the answer.
    static func nextInBackground(port: Int) throws -> (RawHTTP, () -> Response?) {
        let client = try RawHTTP(port: port)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Response?
        Thread {
            result = try? client.send("GET", "/2018-06-01/runtime/invocation/next")
            done.signal()
        }.start()
        return (client, { done.wait(timeout: .now() + 5) == .success ? result : nil })
    }
}
