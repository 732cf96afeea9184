import HearthModel
import HearthRegistry
import NIOCore
import NIOEmbedded
import NIOHTTP1
import HearthSupervisor

/// Entry point for `hearth-fuzz` (scripts/fuzz): bytes a client could send to the control API,
/// through everything that reads them before the supervisor does.
package enum ControlAPIFuzzing {
    /// Decodes `bytes` with the server's HTTP decoder; every request it yields goes through the
    /// request parsing, route matching and the parsers of bodies, headers and names.
    package static func requests(_ bytes: [UInt8]) {
        let collector = Collector()
        let channel = EmbeddedChannel()
        guard (try? channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))) != nil,
              (try? channel.pipeline.syncOperations.addHandler(collector)) != nil else { return }
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        _ = try? channel.finish()
        for request in collector.requests { parse(request) }
    }

    static func parse(_ request: APIRequest) {
        for route in LambdaAPI.routes {
            guard let params = LambdaAPI.match(route.pattern, request.segments) else { continue }
            if let name = params["name"] { _ = try? FunctionReference.parse(name, qualifier: request.query["Qualifier"]) }
        }
        _ = try? LambdaAPI.clientContext(request.headers["x-amz-client-context"])
        guard let body = try? JSONBody(request.body, required: false) else { return }
        _ = try? LambdaAPI.settings(body)
        _ = try? LambdaAPI.code(body, directory: "/dev/shm")
        _ = try? LambdaAPI.s3Location(body)
        if let settings = try? LambdaAPI.settings(body) { _ = try? settings.validate() }
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var requests: [APIRequest] = []
        private var head: HTTPRequestHead?
        private var body: [UInt8] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
                body = []
            case .body(var buffer):
                if body.count < 1 << 20 { body += buffer.readBytes(length: buffer.readableBytes) ?? [] }
            case .end:
                guard let h = head else { return }
                var headers: [String: String] = [:]
                for (name, value) in h.headers { headers[name.lowercased()] = value }
                requests.append(APIRequest(method: h.method.rawValue, uri: h.uri, headers: headers, body: body))
                head = nil
            }
        }
    }
}
