import ArgumentParser
import Foundation
import HearthModel
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where the CLI finds the daemon: --endpoint, else HEARTH_ENDPOINT, else the
/// local socket when it exists, else http://127.0.0.1:9000.
struct ClientOptions: ParsableArguments {
    @Option(help: "The daemon: http://HOST:PORT or unix:/PATH (default: HEARTH_ENDPOINT, the local socket, http://127.0.0.1:9000).")
    var endpoint: String?

    @Flag(help: "Print JSON for scripts instead of a table.") var json = false

    func client() throws -> APIClient {
        let text = endpoint ?? ProcessInfo.processInfo.environment["HEARTH_ENDPOINT"]
            ?? (FileManager.default.fileExists(atPath: APIClient.defaultSocket) ? "unix:" + APIClient.defaultSocket : "http://127.0.0.1:9000")
        return try APIClient(endpoint: text)
    }
}

/// A minimal HTTP/1.1 client for Hearth's API over TCP or a unix socket.
struct APIClient {
    static let defaultSocket = "/run/hearth/hearth.sock"

    enum Target { case tcp(String, Int), unix(String) }
    let target: Target
    let display: String

    init(endpoint: String) throws {
        display = endpoint
        if endpoint.hasPrefix("unix:") {
            var path = String(endpoint.dropFirst(5))
            while path.hasPrefix("//") { path.removeFirst() }
            guard path.hasPrefix("/") else { throw HearthError.invalidArgument("a unix endpoint needs an absolute path: \(endpoint)") }
            target = .unix(path)
        } else if endpoint.hasPrefix("http://") {
            let rest = endpoint.dropFirst(7).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            let address = try ListenAddress.parse(rest.contains(":") ? rest : rest + ":80")
            target = .tcp(address.host, address.port)
        } else {
            throw HearthError.invalidArgument("the endpoint must be http://HOST:PORT or unix:/PATH, got '\(endpoint)'")
        }
    }

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    func request(_ method: HTTPMethod, _ path: String, json: Any? = nil, body: [UInt8] = [], headers: [(String, String)] = []) throws -> Response {
        var payload = body
        var allHeaders = headers
        if let json {
            payload = Array(try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
            allHeaders.append(("Content-Type", "application/json"))
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Response.self)
        let bootstrap = ClientBootstrap(group: group).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
            }
        }
        let channel: Channel
        do {
            switch target {
            case .tcp(let host, let port): channel = try bootstrap.connect(host: host, port: port).wait()
            case .unix(let path): channel = try bootstrap.connect(unixDomainSocketPath: path).wait()
            }
        } catch {
            promise.fail(error)
            throw HearthError.system("cannot reach the Hearth daemon at \(display) (is `hearth serve` running?): \(error)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: { if case .tcp(let h, let p) = target { return "\(h):\(p)" } else { return "localhost" } }())
        head.headers.add(name: "Content-Length", value: String(payload.count))
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in allHeaders { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if !payload.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: payload))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { _ = channel.close() }
        return try promise.futureResult.wait()
    }

    /// The response, or an error carrying Lambda's exception name and message.
    func call(_ method: HTTPMethod, _ path: String, json: Any? = nil, body: [UInt8] = [], headers: [(String, String)] = [],
              accept: Set<Int> = [200, 201, 202, 204]) throws -> Response {
        let response = try request(method, path, json: json, body: body, headers: headers)
        guard accept.contains(response.status) else {
            let type = response.headers["x-amzn-errortype"] ?? "HTTP \(response.status)"
            let message = response.object["Message"] as? String ?? response.object["message"] as? String ?? response.text
            throw APIError(status: response.status, type: type, message: message)
        }
        return response
    }

    /// A function's zip from its GetFunction answer's Code.Location (the daemon's own code route; the
    /// host in the URL is whatever the request named, so only the path is used).
    func downloadCode(_ function: [String: Any], name: String) throws -> [UInt8] {
        let code = function["Code"] as? [String: Any] ?? [:]
        guard let location = code["Location"] as? String, let range = location.range(of: "/hearth/v1/code/") else {
            throw HearthError.system("the daemon's answer for \(name) has no Code.Location to download its code from")
        }
        return try call(.GET, String(location[range.lowerBound...])).body
    }

    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? component
    }
}

struct APIError: Error, CustomStringConvertible {
    var status: Int
    var type: String
    var message: String
    var description: String { "\(type): \(message)" }
}

private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<APIClient.Response>
    private var response = APIClient.Response(status: 0, headers: [:], body: [])
    private var done = false

    private func finish(_ result: Result<APIClient.Response, Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    init(promise: EventLoopPromise<APIClient.Response>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response.status = Int(head.status.code)
            for (name, value) in head.headers { response.headers[name.lowercased()] = value }
        case .body(var buffer):
            response.body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            finish(.success(response))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(HearthError.system("the daemon closed the connection before answering")))
    }
}

/// Plain text tables for people.
enum Table {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

func printJSON(_ object: Any) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
    print(String(decoding: data, as: UTF8.self))
}
