import Crypto
import Foundation
import HearthModel

/// Signs an outgoing request with SigV4 (header form), as AWS's SDKs do: what Hearth sends to SQS.
/// The canonical request is built by the same code that checks incoming signatures.
public enum SigV4Signer {
    /// The headers to add: X-Amz-Date, X-Amz-Content-Sha256 (unless `contentHashHeader` is false) and
    /// Authorization. `headers` must hold Host; every header given is signed. `rawPath` and `rawQuery` are
    /// as they will be sent (already encoded).
    public static func sign(method: String, rawPath: String, rawQuery: String = "", headers: [(name: String, value: String)], body: [UInt8],
                            service: String, region: String, accessKey: String, secretKey: String, date: Date = Date(),
                            contentHashHeader: Bool = true) -> [(String, String)] {
        let stamp = timestamp(date)
        let day = String(stamp.prefix(8))
        let payloadHash = SigV4Verifier.hex(SHA256.hash(data: body))
        var all = headers
        all.append(("X-Amz-Date", stamp))
        if contentHashHeader { all.append(("X-Amz-Content-Sha256", payloadHash)) }
        let signed = Array(Set(all.map { $0.name.lowercased() })).sorted()
        let canonical = [method, SigV4Canonical.uri(rawPath: Substring(rawPath)), SigV4Canonical.query(rawQuery: Substring(rawQuery)) ?? "",
                         SigV4Canonical.headers(all, signed: signed) ?? "", signed.joined(separator: ";"), payloadHash].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, SigV4Verifier.hex(SHA256.hash(data: Array(canonical.utf8)))].joined(separator: "\n")
        let key = SigV4Verifier.signingKey(secret: secretKey, date: day, region: region, service: service)
        let signature = SigV4Verifier.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        return [("X-Amz-Date", stamp)] + (contentHashHeader ? [("X-Amz-Content-Sha256", payloadHash)] : []) + [
                ("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)")]
    }

    /// A path as SigV4 encodes it (each byte but unreserved ones and '/'): what S3 is sent and signs.
    public static func encodedPath(_ path: String) -> String { SigV4Canonical.encode(path.utf8, keepSlash: true) }

    /// A query value as SigV4 encodes it.
    public static func encodedComponent(_ value: String) -> String { SigV4Canonical.encode(value.utf8) }

    /// 20150830T123600Z
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}
