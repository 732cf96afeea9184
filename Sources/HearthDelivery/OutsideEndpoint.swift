import AsyncHTTPClient
import Foundation

/// An outside service's endpoint as the daemon's settings give it (http(s)://HOST[:PORT]): its base URL without a
/// trailing slash, the Host header it is signed for, and a client that follows no redirect.
struct OutsideEndpoint {
    let base: String
    let host: String
    let client: HTTPClient

    /// `setting` names the setting in the error (sqs_endpoint, s3_endpoint).
    init(_ text: String, setting: String, readTimeout: Int64) throws {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), let host = url.host,
              url.path.isEmpty || url.path == "/" else {
            throw OutsideEndpointError(description: "\(setting) must be http(s)://HOST[:PORT], got '\(text)'")
        }
        base = text.hasSuffix("/") ? String(text.dropLast()) : text
        self.host = url.port.map { "\(host):\($0)" } ?? host
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(readTimeout))
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

struct OutsideEndpointError: Error, CustomStringConvertible {
    var description: String
}
