#if canImport(Glibc)
import Glibc
#endif

/// Lambda's log stream names: one per execution environment, "YYYY/MM/DD/[VERSION]<32 hex digits>",
/// the date (UTC) the environment started. Built by hand: a DateFormatter costs more than the rest of a
/// cold start's bookkeeping together.
public enum LogStreamName {
    public static func make(version: String, startedAt seconds: Int64, id: String) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : String(n) }
        // A version is "$LATEST" or digits; the hex part only hex digits: nothing that breaks the stored form.
        let hex = String(id.lowercased().filter { $0.isHexDigit }.prefix(32))
        let safeVersion = version.filter { $0.isLetter || $0.isNumber || $0 == "$" }
        return "\(parts.tm_year + 1900)/\(two(parts.tm_mon + 1))/\(two(parts.tm_mday))/[\(safeVersion)]"
            + hex + String(repeating: "0", count: 32 - hex.count)
    }

    /// A new environment's name: 32 random hex digits.
    public static func random(version: String, startedAt seconds: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<2).map { _ in
            let digits = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
        return make(version: version, startedAt: seconds, id: hex)
    }
}
