/// One line of a function's log as it is stored and served: when it was written (ms since the epoch),
/// its place in the function's log (the CloudWatch eventId is made from it), the log stream of the
/// execution environment that wrote it, and the line without its newline.
public struct LogEvent: Sendable, Equatable {
    public var timestamp: Int64
    public var sequence: UInt64
    public var stream: String
    public var message: String

    public init(timestamp: Int64, sequence: UInt64, stream: String, message: String) {
        self.timestamp = timestamp
        self.sequence = sequence
        self.stream = stream
        self.message = message
    }

    /// The stored form, one line: "<ms> <sequence> <stream> <message>\n". A stream name has no space
    /// (LogStreamName makes them), a message no newline (FunctionLogs splits output at them).
    static func encode(timestamp: Int64, sequence: UInt64, stream: String, message: ArraySlice<UInt8>, into out: inout [UInt8]) {
        out += String(timestamp).utf8
        out.append(0x20)
        out += String(sequence).utf8
        out.append(0x20)
        out += stream.utf8
        out.append(0x20)
        out += message
        out.append(0x0A)
    }

    /// A stored line (without its newline), or nil for one that is not in the stored form (a log
    /// written by an older Hearth, say).
    static func parse(_ line: ArraySlice<UInt8>) -> LogEvent? {
        var fields: [ArraySlice<UInt8>] = []
        var rest = line
        for _ in 0..<3 {
            guard let space = rest.firstIndex(of: 0x20) else { return nil }
            fields.append(rest[rest.startIndex..<space])
            rest = rest[(space + 1)...]
        }
        guard let timestamp = Int64(decimal: fields[0]), let sequence = UInt64(decimal: fields[1]), !fields[2].isEmpty else { return nil }
        return LogEvent(timestamp: timestamp, sequence: sequence, stream: String(decoding: fields[2], as: UTF8.self),
                        message: String(decoding: rest, as: UTF8.self))
    }

    /// CloudWatch's eventId: a string of digits unique in the log group.
    public var eventId: String {
        let digits = String(sequence)
        return String(timestamp) + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}

extension FixedWidthInteger {
    /// Only ASCII digits, at most 18 of them: no sign, no overflow.
    init?(decimal bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value: Self = 0
        for byte in bytes {
            guard (0x30...0x39).contains(byte) else { return nil }
            value = value * 10 + Self(byte - 0x30)
        }
        self = value
    }
}
