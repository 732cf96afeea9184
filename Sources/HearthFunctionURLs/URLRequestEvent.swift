import Foundation
import HearthModel

/// An HTTP request to a function URL as the function receives it: Lambda's payload format 2.0
/// (header names lower-cased and repeats comma-joined, cookies apart, query parameters decoded and
/// comma-joined, a body that is not text in base64).
public struct URLRequestEvent: Sendable {
    /// The request as received, its target the path and query below the URL's root (still percent-encoded).
    public var request: FunctionUrlHandler.Request
    public var urlId: String
    /// The Host the client named (Lambda's domainName).
    public var domainName: String
    public var requestId: String
    /// Unix milliseconds.
    public var timeEpochMs: Int64
    /// For AWS_IAM URLs: the access key that signed the request.
    public var callerAccessKey: String?
    public var accountId: String

    public init(request: FunctionUrlHandler.Request, urlId: String, domainName: String, requestId: String, timeEpochMs: Int64,
                callerAccessKey: String? = nil, accountId: String) {
        self.request = request
        self.urlId = urlId
        self.domainName = domainName
        self.requestId = requestId
        self.timeEpochMs = timeEpochMs
        self.callerAccessKey = callerAccessKey
        self.accountId = accountId
    }

    /// The event as JSON, written directly: Foundation's JSONSerialization took a quarter of the daemon's CPU
    /// per URL request (scripts/bench invoke, perf), more than the rest of the request's handling.
    public func json() -> [UInt8] {
        let (method, target, headers, body) = (request.method, request.target, request.headers, request.body)
        let split = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = split.first.map(String.init) ?? "/"
        let rawQuery = split.count == 2 ? String(split[1]) : ""

        var headerMap: [String: String] = [:]
        var order: [String] = []
        var cookies: [String] = []
        for (name, value) in headers {
            let key = name.lowercased()
            if key == "cookie" {
                cookies += value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                continue
            }
            if let existing = headerMap[key] { headerMap[key] = existing + "," + value } else {
                headerMap[key] = value
                order.append(key)
            }
        }

        var w = JSONText()
        w.open("{")
        w.key("version"); w.string("2.0")
        w.key("routeKey"); w.string("$default")
        w.key("rawPath"); w.string(rawPath)
        w.key("rawQueryString"); w.string(rawQuery)
        if !cookies.isEmpty {
            w.key("cookies"); w.open("[")
            for cookie in cookies { w.element(); w.string(cookie) }
            w.close("]")
        }
        w.key("headers"); w.object(order.map { ($0, headerMap[$0] ?? "") })
        if let query = Self.queryParameters(rawQuery) { w.key("queryStringParameters"); w.object(query) }
        w.key("requestContext"); w.open("{")
        w.key("accountId"); w.string(callerAccessKey == nil ? "anonymous" : accountId)
        w.key("apiId"); w.string(urlId)
        if let key = callerAccessKey {
            w.key("authorizer"); w.open("{"); w.key("iam"); w.open("{")
            w.key("accessKey"); w.string(key)
            w.key("accountId"); w.string(accountId)
            w.key("callerId"); w.string(key)
            w.key("cognitoIdentity"); w.null()
            w.key("principalOrgId"); w.null()
            w.key("userArn"); w.string("arn:aws:iam::\(accountId):user/\(key)")
            w.key("userId"); w.string(key)
            w.close("}"); w.close("}")
        }
        w.key("domainName"); w.string(domainName)
        w.key("domainPrefix"); w.string(urlId)
        w.key("http"); w.open("{")
        w.key("method"); w.string(method)
        w.key("path"); w.string(rawPath)
        w.key("protocol"); w.string(request.httpVersion)
        w.key("sourceIp"); w.string(request.sourceIp)
        w.key("userAgent"); w.string(headerMap["user-agent"] ?? "")
        w.close("}")
        w.key("requestId"); w.string(requestId)
        w.key("routeKey"); w.string("$default")
        w.key("stage"); w.string("$default")
        w.key("time"); w.string(Self.clfTime(timeEpochMs))
        w.key("timeEpoch"); w.raw(String(timeEpochMs))
        w.close("}")
        if !body.isEmpty {
            if Self.isText(contentType: headerMap["content-type"]), let text = String(validating: body, as: UTF8.self) {
                w.key("body"); w.string(text)
                w.key("isBase64Encoded"); w.raw("false")
            } else {
                w.key("body"); w.string(Data(body).base64EncodedString())
                w.key("isBase64Encoded"); w.raw("true")
            }
        } else {
            w.key("isBase64Encoded"); w.raw("false")
        }
        w.close("}")
        return w.bytes
    }

    /// Decoded parameters in the order they first came, repeats comma-joined; nil when there is no query.
    static func queryParameters(_ raw: String) -> [(String, String)]? {
        guard !raw.isEmpty else { return nil }
        var values: [String: String] = [:]
        var order: [String] = []
        for pair in raw.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(kv[0]), value = kv.count == 2 ? decode(kv[1]) : ""
            if let existing = values[name] { values[name] = existing + "," + value } else {
                values[name] = value
                order.append(name)
            }
        }
        return order.isEmpty ? nil : order.map { ($0, values[$0] ?? "") }
    }

    private static func decode(_ part: Substring) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Bodies Lambda passes as text; anything else (forms, uploads, no type at all) arrives in base64.
    static func isText(contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return type.hasPrefix("text/") || type.hasSuffix("+json") || type.hasSuffix("+xml")
            || ["application/json", "application/xml", "application/javascript", "application/graphql"].contains(type)
    }

    /// "12/Mar/2020:19:03:58 +0000", the common log format's time.
    static func clfTime(_ epochMs: Int64) -> String {
        var seconds = time_t(epochMs / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = months[Int(parts.tm_mon) % 12]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(parts.tm_mday))/\(month)/\(parts.tm_year + 1900):\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}
