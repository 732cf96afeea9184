#if canImport(Glibc)
import Glibc
#endif

/// Times as Lambda's logs write them, in UTC with milliseconds, without Foundation's formatters (on
/// every JSON log record).
public enum LogTime {
    public static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec / 1_000_000)
    }

    /// "2026-12-03T13:49:15.123Z": LoggingConfig's JSON records, `hearth logs --timestamps`.
    public static func iso8601(milliseconds ms: Int64) -> String { format(ms, dateSeparator: "T", zone: "Z") }

    /// "2026-12-03 13:49:15.123": Logs Insights' @timestamp.
    public static func insights(milliseconds ms: Int64) -> String { format(ms, dateSeparator: " ", zone: "") }

    static func format(_ ms: Int64, dateSeparator: String, zone: String) -> String {
        let (seconds, millis) = ms.quotientAndRemainder(dividingBy: 1000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ n: Int64, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(parts.tm_year + 1900)-\(pad(Int64(parts.tm_mon) + 1, 2))-\(pad(Int64(parts.tm_mday), 2))\(dateSeparator)"
            + "\(pad(Int64(parts.tm_hour), 2)):\(pad(Int64(parts.tm_min), 2)):\(pad(Int64(parts.tm_sec), 2)).\(pad(abs(millis), 3))\(zone)"
    }
}
