import HearthState

/// A function URL's CORS settings applied as Lambda applies them: a preflight is answered without invoking
/// the function, and on other answers Lambda's CORS headers replace whatever the function set.
public struct CorsRules: Sendable {
    public let config: FunctionUrlCors

    public init(_ config: FunctionUrlCors) { self.config = config }

    /// A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.
    public static func isPreflight(method: String, headers: [String: String]) -> Bool {
        method == "OPTIONS" && headers["origin"] != nil && headers["access-control-request-method"] != nil
    }

    /// The preflight's answer: the allowed origin, methods, headers, max age and credentials when the origin
    /// is allowed; without them (the browser then refuses) when it is not.
    public func preflight(headers: [String: String]) -> URLResponse {
        guard let origin = headers["origin"], let allowOrigin = allowedOrigin(origin) else { return URLResponse(status: 200) }
        var out: [(String, String)] = [("Access-Control-Allow-Origin", allowOrigin)]
        let methods = config.allowMethods ?? []
        if let asked = headers["access-control-request-method"], methods.contains("*") || methods.contains(where: { $0.uppercased() == asked.uppercased() }) {
            out.append(("Access-Control-Allow-Methods", methods.contains("*") ? asked : methods.joined(separator: ",")))
        }
        if let asked = headers["access-control-request-headers"] {
            let allowed = (config.allowHeaders ?? []).map { $0.lowercased() }
            let names = asked.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
            let granted = allowed.contains("*") ? names : names.filter(allowed.contains)
            if !granted.isEmpty { out.append(("Access-Control-Allow-Headers", granted.joined(separator: ","))) }
        }
        if let age = config.maxAge { out.append(("Access-Control-Max-Age", "\(age)")) }
        if config.allowCredentials == true { out.append(("Access-Control-Allow-Credentials", "true")) }
        if allowOrigin != "*" { out.append(("Vary", "Origin")) }
        return URLResponse(status: 200, headers: out)
    }

    /// The function's answer with the CORS headers Lambda sets in place of the function's own.
    public func apply(to response: URLResponse, origin: String?) -> URLResponse {
        var out = response
        out.headers.removeAll { $0.0.lowercased().hasPrefix("access-control-") }
        guard let origin, let allowOrigin = allowedOrigin(origin) else { return out }
        out.headers.append(("Access-Control-Allow-Origin", allowOrigin))
        if let expose = config.exposeHeaders, !expose.isEmpty { out.headers.append(("Access-Control-Expose-Headers", expose.joined(separator: ","))) }
        if config.allowCredentials == true { out.headers.append(("Access-Control-Allow-Credentials", "true")) }
        if allowOrigin != "*" { out.headers.append(("Vary", "Origin")) }
        return out
    }

    /// "*" for any origin (the origin itself when credentials are allowed: browsers refuse "*" with them), the
    /// origin when it is listed (scheme and host compare without case), nil otherwise.
    func allowedOrigin(_ origin: String) -> String? {
        let origins = config.allowOrigins ?? []
        if origins.contains("*") { return config.allowCredentials == true ? origin : "*" }
        return origins.contains(where: { $0.lowercased() == origin.lowercased() }) ? origin : nil
    }
}
