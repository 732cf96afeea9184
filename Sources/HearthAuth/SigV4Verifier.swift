import Crypto
import Foundation
import HearthModel

/// A request as SigV4 needs it: the method, the target exactly as it came off the wire (never a decoded
/// or re-encoded router path), every header as received, and the body's SHA-256.
public struct SignedRequest: Sendable {
    public var method: String
    public var rawTarget: String
    public var headers: [(name: String, value: String)]
    /// Lower-case hex SHA-256 of the body.
    public var payloadSHA256: String

    public init(method: String, rawTarget: String, headers: [(name: String, value: String)], payloadSHA256: String) {
        self.method = method
        self.rawTarget = rawTarget
        self.headers = headers
        self.payloadSHA256 = payloadSHA256
    }

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
}

/// A request whose head passed: its signature is checked once the body's hash is known.
public struct PendingSignature: Sendable {
    let keyID: String
    let canonicalHead: String
    /// X-Amz-Content-Sha256, if the client sent one.
    let declaredPayload: String?
    /// A presigned URL: botocore signs the body's hash (an empty one's, for a GET), S3-style signers
    /// UNSIGNED-PAYLOAD; either is accepted.
    let presigned: Bool
    let date: String
    let scope: String
    /// The derived signing key (its bytes: Crypto's key type is not Sendable).
    let key: [UInt8]
    let signature: [UInt8]

    /// Whether the client said it did not sign the body: then its hash is not needed.
    public var unsignedPayload: Bool { declaredPayload == "UNSIGNED-PAYLOAD" }

    /// The access key id, or Lambda's 403.
    public func verify(payloadSHA256: String) throws(ServiceError) -> String {
        let payloadHash: String
        if unsignedPayload {
            payloadHash = "UNSIGNED-PAYLOAD"
        } else {
            // A body changed on the way no longer matches the hash the client signed.
            if let declaredPayload, declaredPayload.lowercased() != payloadSHA256 {
                throw AuthFailure.signatureMismatch("The provided 'x-amz-content-sha256' header does not match what was computed.")
            }
            payloadHash = payloadSHA256
        }
        guard signs(payloadHash) || (presigned && signs("UNSIGNED-PAYLOAD")) else { throw AuthFailure.signatureMismatch() }
        return keyID
    }

    private func signs(_ payloadHash: String) -> Bool {
        let canonical = canonicalHead + payloadHash
        let stringToSign = ["AWS4-HMAC-SHA256", date, scope, SigV4Verifier.hex(SHA256.hash(data: Array(canonical.utf8)))].joined(separator: "\n")
        // Constant time: the comparison must not tell how much of a forged signature was right.
        return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array(stringToSign.utf8), using: SymmetricKey(data: key))
    }
}

/// AWS Signature Version 4, as AWS checks it for Lambda: the Authorization header or the query string
/// (presigned) forms, the payload's hash (or UNSIGNED-PAYLOAD), the credential's scope (date, this
/// daemon's region, the `lambda` service), and a 5-minute window around the request's time. Failures
/// are Lambda's 403s, named as AWS names them.
public struct SigV4Verifier: Sendable {
    public let region: String
    public let service: String
    /// AWS refuses a request dated more than 5 minutes from its own clock.
    public let maxSkewSeconds: Double = 300
    /// Whether the Scheduler's paths are signed for `scheduler` (the API's listener); a function URL's
    /// paths are the function's own and always signed for `service`.
    public let servicesByPath: Bool
    let secret: @Sendable (String) -> String?

    /// - Parameter secret: the secret access key of an access key id, or nil for an unknown one.
    public init(region: String, service: String = "lambda", servicesByPath: Bool = true, secret: @escaping @Sendable (String) -> String?) {
        self.region = region
        self.service = service
        self.servicesByPath = servicesByPath
        self.secret = secret
    }

    /// The access key id the request was signed with.
    public func verify(_ request: SignedRequest, now: Date) throws(ServiceError) -> String {
        try verifyHead(method: request.method, rawTarget: request.rawTarget, headers: request.headers, now: now)
            .verify(payloadSHA256: request.payloadSHA256)
    }

    /// What can be checked before the body arrives (that it is signed, by a known key, in scope and in
    /// time), so an unsigned upload is refused before it is read; the signature itself needs the body's hash.
    public func verifyHead(method: String, rawTarget: String, headers: [(name: String, value: String)],
                           now: Date) throws(ServiceError) -> PendingSignature {
        let request = SignedRequest(method: method, rawTarget: rawTarget, headers: headers, payloadSHA256: "")
        let split = request.rawTarget.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let rawPath = split[0], rawQuery = split.count == 2 ? split[1] : ""
        let query = Self.parameters(rawQuery)
        let service = servicesByPath ? Self.service(forPath: rawPath, target: request.header("x-amz-target"), otherwise: self.service) : self.service
        let presigned = request.header("authorization") == nil && query["X-Amz-Algorithm"] != nil

        let credential: String, signedHeaders: String, signature: String, date: String
        if presigned {
            guard query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" else {
                throw AuthFailure.incomplete("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
            }
            let names = ["X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires"]
            let missing = names.filter { query[$0] == nil }
            guard missing.isEmpty else {
                throw AuthFailure.incomplete("AWS query-string parameters must include \(missing.map { "'\($0)'" }.joined(separator: ", ")). Re-examine the query-string parameters.")
            }
            credential = query["X-Amz-Credential"] ?? ""
            signedHeaders = query["X-Amz-SignedHeaders"] ?? ""
            signature = query["X-Amz-Signature"] ?? ""
            date = query["X-Amz-Date"] ?? ""
        } else {
            guard let authorization = request.header("authorization") else { throw AuthFailure.missing }
            let fields = try Self.authorizationFields(authorization)
            credential = fields.credential
            signedHeaders = fields.signedHeaders
            signature = fields.signature
            guard let amzDate = request.header("x-amz-date") else {
                throw AuthFailure.incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=\(String(authorization.prefix(200)))")
            }
            date = amzDate
        }

        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, !scope[0].isEmpty else {
            throw AuthFailure.incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '\(String(credential.prefix(200)))'")
        }
        guard let secretKey = secret(scope[0]) else { throw AuthFailure.unknownKey }
        guard let signedAt = Self.parseDate(date) else {
            throw AuthFailure.incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", got '\(String(date.prefix(40)))'")
        }
        if presigned {
            guard let expires = query["X-Amz-Expires"].flatMap(Int.init), (1...604_800).contains(expires) else {
                throw AuthFailure.incomplete("X-Amz-Expires must be a number of seconds from 1 to 604800")
            }
            if now.timeIntervalSince(signedAt) > Double(expires) { throw AuthFailure.expired(signedAt: signedAt, now: now, window: Double(expires)) }
            if signedAt.timeIntervalSince(now) > maxSkewSeconds { throw AuthFailure.notYetCurrent(signedAt: signedAt, now: now) }
        } else {
            if now.timeIntervalSince(signedAt) > maxSkewSeconds { throw AuthFailure.expired(signedAt: signedAt, now: now, window: maxSkewSeconds) }
            if signedAt.timeIntervalSince(now) > maxSkewSeconds { throw AuthFailure.notYetCurrent(signedAt: signedAt, now: now) }
        }
        guard scope[1] == String(date.prefix(8)) else {
            throw AuthFailure.badScope("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scope[1])' != '\(date.prefix(8))', from '\(date)'.")
        }
        guard scope[2] == region else { throw AuthFailure.badScope("Credential should be scoped to a valid region. ") }
        guard scope[3] == service else { throw AuthFailure.badScope("Credential should be scoped to correct service: '\(service)'. ") }
        guard scope[4] == "aws4_request" else {
            throw AuthFailure.badScope("Credential should be scoped with a valid terminator: 'aws4_request', not '\(scope[4])'. ")
        }

        let signed = signedHeaders.split(separator: ";").map { $0.lowercased() }
        guard signed.contains("host") else { throw AuthFailure.badScope("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.") }
        guard let canonicalQuery = SigV4Canonical.query(rawQuery: rawQuery, excluding: presigned ? "X-Amz-Signature" : nil),
              let canonicalHeaders = SigV4Canonical.headers(request.headers, signed: signed),
              let given = Self.unhex(signature), given.count == SHA256.byteCount else {
            throw AuthFailure.signatureMismatch()
        }
        let declared: String? = presigned ? nil : request.header("x-amz-content-sha256")
        // Everything of the canonical request but the payload's hash, which comes last.
        let head = [request.method, SigV4Canonical.uri(rawPath: rawPath), canonicalQuery, canonicalHeaders,
                    signed.joined(separator: ";")].joined(separator: "\n") + "\n"
        return PendingSignature(keyID: scope[0], canonicalHead: head, declaredPayload: declared, presigned: presigned, date: date,
                                scope: scope[1...4].joined(separator: "/"),
                                key: Self.signingKey(secret: secretKey, date: scope[1], region: region, service: service).withUnsafeBytes { Array($0) },
                                signature: given)
    }

    /// EventBridge Scheduler's paths are signed for "scheduler", CloudWatch Logs' calls (POST / with
    /// X-Amz-Target: Logs_20140328.Op) for "logs"; everything else for the API's own service.
    static func service(forPath rawPath: Substring, target: String? = nil, otherwise: String) -> String {
        if rawPath == "/", target?.hasPrefix("Logs_20140328.") == true { return "logs" }
        return rawPath == "/schedules" || rawPath.hasPrefix("/schedules/") || rawPath == "/schedule-groups" || rawPath.hasPrefix("/schedule-groups/")
            ? "scheduler" : otherwise
    }

    static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }

    /// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
    static func authorizationFields(_ header: String) throws(ServiceError) -> (credential: String, signedHeaders: String, signature: String) {
        let prefix = "AWS4-HMAC-SHA256 "
        guard header.hasPrefix(prefix) else {
            throw AuthFailure.incomplete("Authorization header requires the AWS4-HMAC-SHA256 algorithm, got '\(String(header.prefix(40)))'")
        }
        var fields: [String: String] = [:]
        for part in header.dropFirst(prefix.count).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        let missing = ["Credential", "SignedHeaders", "Signature"].filter { fields[$0] == nil }
        guard missing.isEmpty else {
            throw AuthFailure.incomplete("Authorization header requires \(missing.map { "'\($0)'" }.joined(separator: ", ")) parameter. Authorization=\(String(header.prefix(200)))")
        }
        return (fields["Credential"] ?? "", fields["SignedHeaders"] ?? "", fields["Signature"] ?? "")
    }

    /// The query's parameters, decoded (the presigned form's X-Amz-* values).
    static func parameters(_ rawQuery: Substring) -> [String: String] {
        var out: [String: String] = [:]
        for part in rawQuery.split(separator: "&") {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = SigV4Canonical.decode(kv[0]), let value = kv.count == 2 ? SigV4Canonical.decode(kv[1]) : [] else { continue }
            out[String(decoding: name, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        return out
    }

    /// yyyyMMdd'T'HHmmss'Z', read digit by digit (no formatter: this is on every request's path).
    static func parseDate(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for i in range {
                guard (48...57).contains(b[i]) else { return nil }
                n = n * 10 + Int(b[i] - 48)
            }
            return n
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm), valid for any Gregorian date.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Date(timeIntervalSince1970: Double(days * 86_400 + hour * 3_600 + minute * 60 + second))
    }

    /// Lower-case hex, as SigV4 writes hashes and signatures.
    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ text: String) -> [UInt8]? {
        let b = Array(text.utf8)
        guard b.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            guard let h = SigV4Canonical.hexValue(b[i]), let l = SigV4Canonical.hexValue(b[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
