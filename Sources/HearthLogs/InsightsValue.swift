import Foundation

/// A value in a Logs Insights query: a string, a number, or absent.
enum InsightsValue: Sendable, Hashable {
    case string(String)
    case number(Double)
    case none

    var number: Double? {
        switch self {
        case .number(let n): return n
        case .string(let s): return Double(s)
        case .none: return nil
        }
    }

    var text: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return Self.format(n)
        case .none: return nil
        }
    }

    var isPresent: Bool { if case .none = self { return false } else { return true } }

    /// Integers without a fraction; others as Swift prints the shortest exact form.
    static func format(_ n: Double) -> String {
        if n.isFinite, n == n.rounded(), abs(n) < 1e15 { return String(Int64(n)) }
        return String(n)
    }

    static func compare(_ a: InsightsValue, _ b: InsightsValue) -> Int? {
        if let x = a.number, let y = b.number, !(isText(a) && isText(b)) { return x < y ? -1 : (x > y ? 1 : 0) }
        guard let x = a.text, let y = b.text else { return nil }
        return x < y ? -1 : (x > y ? 1 : 0)
    }

    private static func isText(_ v: InsightsValue) -> Bool { if case .string = v { return true } else { return false } }
}

/// The fields Logs Insights finds in a Lambda log event: the system fields, what Lambda's START, END and
/// REPORT lines carry (@type, @requestId, @duration, @billedDuration, @initDuration in ms; @memorySize,
/// @maxMemoryUsed in bytes, as Lambda's Insights fields are), and the keys of a JSON message (nested
/// keys joined with dots).
enum InsightsFields {
    static func of(_ event: LogEvent, group: String, account: String) -> [String: InsightsValue] {
        var fields: [String: InsightsValue] = [
            "@timestamp": .number(Double(event.timestamp)), "@ingestionTime": .number(Double(event.timestamp)),
            "@message": .string(event.message), "@logStream": .string(event.stream), "@log": .string(account + ":" + group),
        ]
        let message = event.message
        if message.hasPrefix("REPORT RequestId: ") {
            fields["@type"] = .string("REPORT")
            for part in message.split(separator: "\t") {
                guard let colon = part.range(of: ": ") else { continue }
                let key = part[..<colon.lowerBound], value = part[colon.upperBound...]
                // A field whose value is not a number is left out, as Insights leaves it.
                let number = Double(value.split(separator: " ").first ?? "")
                switch key {
                case "REPORT RequestId": fields["@requestId"] = .string(String(value))
                case "Duration": fields["@duration"] = number.map(InsightsValue.number)
                case "Billed Duration": fields["@billedDuration"] = number.map(InsightsValue.number)
                case "Init Duration": fields["@initDuration"] = number.map(InsightsValue.number)
                case "Memory Size": fields["@memorySize"] = number.map { .number($0 * 1_000_000) }
                case "Max Memory Used": fields["@maxMemoryUsed"] = number.map { .number($0 * 1_000_000) }
                default: break
                }
            }
        } else if message.hasPrefix("START RequestId: ") || message.hasPrefix("END RequestId: ") {
            fields["@type"] = .string(message.hasPrefix("START") ? "START" : "END")
            let id = message.split(separator: " ").dropFirst(2).first.map(String.init) ?? ""
            fields["@requestId"] = .string(id)
        } else if message.hasPrefix("{"), let data = message.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            flatten(object, prefix: "", into: &fields)
        }
        return fields
    }

    private static func flatten(_ object: [String: Any], prefix: String, into fields: inout [String: InsightsValue]) {
        for (key, value) in object {
            let name = prefix + key
            if let nested = value as? [String: Any] {
                flatten(nested, prefix: name + ".", into: &fields)
            } else if let string = value as? String {
                fields[name] = .string(string)
            } else if let number = value as? NSNumber {
                fields[name] = JSONCondition.isBoolean(number) ? .string(number.boolValue ? "true" : "false") : .number(number.doubleValue)
            }
        }
    }
}
