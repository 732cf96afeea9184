#if canImport(Glibc)
import Glibc
#endif
import CSystemd

/// systemd's journal, written with structured fields (sd_journal_sendv), so `journalctl FUNCTION=name`
/// finds a function's lines. Field values are bytes: a sandbox's output is sent as it came, whatever it holds.
public enum Journal {
    /// syslog priorities the journal understands.
    public static let error: Int = 3
    public static let warning: Int = 4
    public static let info: Int = 6

    /// Whether this process's output goes to the journal (systemd sets JOURNAL_STREAM for a service whose
    /// StandardOutput is the journal).
    public static var isConnected: Bool { getenv("JOURNAL_STREAM") != nil }

    /// One entry; each field is NAME (upper case, digits, underscores) and its value.
    public static func send(_ fields: [(name: String, value: [UInt8])]) {
        // One buffer holding every NAME=value, and vectors into it, all valid for the one call.
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: field.value)
            ranges.append(start..<buffer.count)
        }
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            let vectors = ranges.map { iovec(iov_base: base + $0.lowerBound, iov_len: $0.count) }
            _ = sd_journal_sendv(vectors, Int32(vectors.count))
        }
    }
}
