import Foundation

/// An HTTP request to a function URL as the function receives it: Lambda's payload format 2.0
/// (header names lower-cased and repeats comma-joined, cookies apart, query parameters decoded and
/// comma-joined, a body that is not text in base64).
public struct URLRequestEvent: Sendable {
    public var method: String
    /// The path and query as the client sent them (still percent-encoded), below the URL's root.
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var sourceIp: String
    public var httpVersion: String
    public var urlId: String
    /// The Host the client named (Lambda's domainName).
    public var domainName: String
    public var requestId: String
    /// Unix milliseconds.
    public var timeEpochMs: Int64
    /// For AWS_IAM URLs: the access key that signed the request.
    public var callerAccessKey: String?
    public var accountId: String

    public init(method: String, target: String, headers: [(name: String, value: String)], body: [UInt8], sourceIp: String, httpVersion: String,
                urlId: String, domainName: String, requestId: String, timeEpochMs: Int64, callerAccessKey: String? = nil, accountId: String) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.sourceIp = sourceIp
        self.httpVersion = httpVersion
        self.urlId = urlId
        self.domainName = domainName
        self.requestId = requestId
        self.timeEpochMs = timeEpochMs
        self.callerAccessKey = callerAccessKey
        self.accountId = accountId
    }

    /// The event as JSON.
    public func json() -> [UInt8] {
        let split = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = split.first.map(String.init) ?? "/"
        let rawQuery = split.count == 2 ? String(split[1]) : ""

        var headerMap: [String: String] = [:]
        var cookies: [String] = []
        for (name, value) in headers {
            let key = name.lowercased()
            if key == "cookie" {
                cookies += value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                continue
            }
            headerMap[key] = headerMap[key].map { $0 + "," + value } ?? value
        }

        var event: [String: Any] = [
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": rawPath,
            "rawQueryString": rawQuery,
            "headers": headerMap,
            "isBase64Encoded": false,
            "requestContext": requestContext(rawPath: rawPath, userAgent: headerMap["user-agent"] ?? ""),
        ]
        if !cookies.isEmpty { event["cookies"] = cookies }
        if let query = Self.queryParameters(rawQuery) { event["queryStringParameters"] = query }
        if !body.isEmpty {
            if Self.isText(contentType: headerMap["content-type"]), let text = String(validating: body, as: UTF8.self) {
                event["body"] = text
            } else {
                event["body"] = Data(body).base64EncodedString()
                event["isBase64Encoded"] = true
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }

    private func requestContext(rawPath: String, userAgent: String) -> [String: Any] {
        var context: [String: Any] = [
            "accountId": callerAccessKey == nil ? "anonymous" : accountId,
            "apiId": urlId,
            "domainName": domainName,
            "domainPrefix": urlId,
            "http": ["method": method, "path": rawPath, "protocol": httpVersion, "sourceIp": sourceIp, "userAgent": userAgent],
            "requestId": requestId,
            "routeKey": "$default",
            "stage": "$default",
            "time": Self.clfTime(timeEpochMs),
            "timeEpoch": timeEpochMs,
        ]
        if let key = callerAccessKey {
            context["authorizer"] = ["iam": ["accessKey": key, "accountId": accountId, "callerId": key, "cognitoIdentity": NSNull(),
                                             "principalOrgId": NSNull(), "userArn": "arn:aws:iam::\(accountId):user/\(key)", "userId": key]]
        }
        return context
    }

    /// Decoded parameters, repeats comma-joined in order; nil when there is no query.
    static func queryParameters(_ raw: String) -> [String: String]? {
        guard !raw.isEmpty else { return nil }
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(kv[0]), value = kv.count == 2 ? decode(kv[1]) : ""
            out[name] = out[name].map { $0 + "," + value } ?? value
        }
        return out.isEmpty ? nil : out
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
