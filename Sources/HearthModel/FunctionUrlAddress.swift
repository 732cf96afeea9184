/// Where function URLs are served and how a request names one: by host name
/// (`<url-id>.<domain>`, Lambda's form with a local domain) or, without DNS, by path
/// (`/lambda-url/<url-id>/...` on the URL listener).
public struct FunctionUrlAddress: Sendable, Equatable {
    /// The host names' suffix after the id, e.g. `lambda-url.us-east-1.localhost`.
    public var domain: String
    /// The URL listener's port, written into each URL unless it is 80.
    public var port: Int

    public static let pathPrefix = "lambda-url"

    public init(domain: String, port: Int) {
        self.domain = domain
        self.port = port
    }

    /// Lambda's domain shape under `.localhost`, which resolvers (and curl) send to loopback.
    public static func defaultDomain(region: String) -> String { "lambda-url.\(region).localhost" }

    /// FunctionUrl as the API answers it.
    public func url(id: String) -> String {
        "http://\(id).\(domain)" + (port == 80 ? "" : ":\(port)") + "/"
    }

    /// The id a Host header names (`ID.DOMAIN[:PORT]`, any case), or nil.
    public func id(fromHost host: String) -> String? {
        var name = Substring(host)
        if let colon = name.lastIndex(of: ":"), !name.contains("]") { name = name[..<colon] }
        if name.hasSuffix(".") { name = name.dropLast() }
        guard let dot = name.firstIndex(of: "."), name[name.index(after: dot)...].lowercased() == domain.lowercased() else { return nil }
        let id = name[..<dot].lowercased()
        return Self.isId(id) ? id : nil
    }

    /// The id and the function's own path of a path-form target (`/lambda-url/ID/rest?query`), or nil.
    public static func id(fromPath target: Substring) -> (id: String, rest: Substring)? {
        let prefix = "/" + pathPrefix + "/"
        guard target.hasPrefix(prefix) else { return nil }
        let afterPrefix = target.dropFirst(prefix.count)
        let end = afterPrefix.firstIndex { $0 == "/" || $0 == "?" } ?? afterPrefix.endIndex
        let id = afterPrefix[..<end].lowercased()
        guard isId(id) else { return nil }
        var rest = afterPrefix[end...]
        if rest.isEmpty || rest.first == "?" { rest = Substring("/" + rest) }
        return (id, rest)
    }

    /// A request target in origin form (`/path?query`): an absolute-form target (`http://host/path`, which
    /// HTTP/1.1 servers must accept) loses its scheme and authority; anything else not starting with `/` is `/`.
    public static func originForm(_ target: String) -> String {
        if target.hasPrefix("/") { return target }
        for scheme in ["http://", "https://"] where target.lowercased().hasPrefix(scheme) {
            let rest = target.dropFirst(scheme.count)
            guard let start = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
            return rest[start] == "?" ? "/" + rest[start...] : String(rest[start...])
        }
        return "/"
    }

    /// 32 lower-case letters and digits (what Hearth makes; AWS's ids have the same shape).
    public static func isId(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) }
    }
}
