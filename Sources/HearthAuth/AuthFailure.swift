import Foundation
import HearthModel

/// Why a request is not authentic, as AWS answers it: 403 with the exception name in x-amzn-ErrorType.
enum AuthFailure {
    static let missing = ServiceError(status: 403, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token")

    static let unknownKey = ServiceError(status: 403, type: "UnrecognizedClientException",
                                         message: "The security token included in the request is invalid.")

    static func incomplete(_ message: String) -> ServiceError {
        ServiceError(status: 403, type: "IncompleteSignatureException", message: message)
    }

    static func badScope(_ message: String) -> ServiceError {
        ServiceError(status: 403, type: "InvalidSignatureException", message: message)
    }

    static func signatureMismatch(
        _ message: String = "The request signature we calculated does not match the signature you provided. "
            + "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    ) -> ServiceError {
        ServiceError(status: 403, type: "InvalidSignatureException", message: message)
    }

    static func expired(signedAt: Date, now: Date, window: Double) -> ServiceError {
        let limit = now.addingTimeInterval(-window)
        return ServiceError(status: 403, type: "InvalidSignatureException",
                            message: "Signature expired: \(stamp(signedAt)) is now earlier than \(stamp(limit)) (\(stamp(now)) - \(minutes(window)).)")
    }

    static func notYetCurrent(signedAt: Date, now: Date) -> ServiceError {
        let limit = now.addingTimeInterval(300)
        return ServiceError(status: 403, type: "InvalidSignatureException",
                            message: "Signature not yet current: \(stamp(signedAt)) is still later than \(stamp(limit)) (\(stamp(now)) + 5 min.)")
    }

    static func minutes(_ seconds: Double) -> String {
        seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60)) min" : "\(Int(seconds)) s"
    }

    /// yyyyMMdd'T'HHmmss'Z' in UTC.
    static func stamp(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }
}
