import HearthLogs
import HearthSupervisor
import HearthSystemd

/// Function logs in the journal, one entry per line, with FUNCTION, REQUEST_ID and a priority, so
/// `journalctl -u hearth` shows them and `journalctl FUNCTION=name` picks one function's.
struct JournalLogMirror: LogMirror {
    let writer = JournalWriter()

    /// The journal keeps longer fields, but a line past this is a runaway write, not a log line.
    static let maxLine = 16 << 10

    func record(function: String, requestId: String, _ bytes: [UInt8]) {
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            let line = bytes[start..<min(end, start + Self.maxLine)]
            if !line.isEmpty {
                writer.send([
                    ("MESSAGE", Array(line)),
                    ("PRIORITY", Array(String(Self.priority(of: line)).utf8)),
                    ("FUNCTION", Array(function.utf8)),
                    ("REQUEST_ID", Array(requestId.utf8)),
                    ("SYSLOG_IDENTIFIER", Array("hearth".utf8)),
                ])
            }
            start = end < bytes.endIndex ? end + 1 : end
        }
    }

    /// Error for Lambda's error lines (the Python runtime's "[ERROR]", Node's "\tERROR\t"), info for the rest.
    static func priority(of line: ArraySlice<UInt8>) -> Int {
        let text = String(decoding: line.prefix(256), as: UTF8.self)
        return text.hasPrefix("[ERROR]") || text.contains("\tERROR\t") ? Journal.error : Journal.info
    }
}
