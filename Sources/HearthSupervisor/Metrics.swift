import Foundation

/// Counters, gauges and histograms by function, rendered in Prometheus's text format.
public final class Metrics: @unchecked Sendable {
    /// Seconds: from 1 ms to 15 min, as invocations range.
    public static let durationBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900]

    private struct Histogram {
        var counts: [Int]
        var sum = 0.0
        var count = 0
        init() { counts = Array(repeating: 0, count: Metrics.durationBuckets.count) }
        mutating func observe(_ value: Double) {
            for (i, bound) in Metrics.durationBuckets.enumerated() where value <= bound { counts[i] += 1 }
            sum += value
            count += 1
        }
    }

    private let lock = NSLock()
    /// By name, then by the sample's label text (`function="f"` or more labels).
    private var counters: [String: [String: Int]] = [:]
    private var histograms: [String: [String: Histogram]] = [:]

    static let counterHelp: [(String, String)] = [
        ("hearth_invocations_total", "Invocations, by function."),
        ("hearth_errors_total", "Invocations that ended in a function or platform error."),
        ("hearth_throttles_total", "Invocations refused with 429 TooManyRequestsException."),
        ("hearth_cold_starts_total", "Invocations that started a new execution environment."),
        ("hearth_warm_starts_total", "Invocations served by an idle warm execution environment."),
        ("hearth_prepared_starts_total", "Cold starts that specialised a pre-built sandbox of the runtime image."),
        ("hearth_async_events_accepted_total", "Asynchronous invocations accepted (synced to the queue before 202)."),
        ("hearth_async_attempts_total", "Attempts of queued events."),
        ("hearth_async_retries_total", "Function errors retried after Lambda's delay."),
        ("hearth_async_throttles_total", "Attempts of queued events refused for concurrency (back to the queue, not an attempt)."),
        ("hearth_async_failures_total", "Queued events that ended in failure handling, by condition."),
        ("hearth_async_dropped_total", "Queued events dropped, by reason."),
        ("hearth_async_destination_deliveries_total", "Records and events delivered to a destination or dead-letter queue."),
        ("hearth_async_destination_failures_total", "Records kept because their destination could not be reached."),
        ("hearth_async_store_errors_total", "Outcomes the queue could not write (the event runs again)."),
        ("hearth_schedule_fires_total", "Schedule fires written to the event queue, by schedule (group/name)."),
        ("hearth_schedule_misses_total", "Fires missed while the daemon was down and older than the target's maximum event age."),
        ("hearth_schedule_errors_total", "Schedule fires that could not be written (tried again)."),
        ("hearth_async_read_errors_total", "Events whose settings or payload could not be read when due (they wait and run later)."),
    ]
    static let histogramHelp: [(String, String)] = [
        ("hearth_invocation_duration_seconds", "Invocation duration (the REPORT line's Duration)."),
        ("hearth_init_duration_seconds", "Init phase duration of new execution environments."),
        ("hearth_async_start_delay_seconds", "From an event's acceptance (before its sync) to the start of its first attempt."),
    ]

    public init() {}

    public func increment(_ name: String, function: String) {
        let key = Self.label(function)
        lock.withLock { counters[name, default: [:]][key, default: 0] += 1 }
    }

    /// A counter with labels of its own, e.g. [("function", "f"), ("condition", "RetriesExhausted")].
    public func increment(_ name: String, labels: [(String, String)]) {
        let key = labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
        lock.withLock { counters[name, default: [:]][key, default: 0] += 1 }
    }

    private static func label(_ function: String) -> String { "function=\"\(escape(function))\"" }

    public func observe(_ name: String, function: String, seconds: Double) {
        lock.withLock { histograms[name, default: [:]][function, default: Histogram()].observe(seconds) }
    }

    public func counter(_ name: String, function: String) -> Int {
        let key = Self.label(function)
        return lock.withLock { counters[name]?[key] ?? 0 }
    }

    public func forget(function: String) {
        lock.withLock {
            let key = Self.label(function)
            for name in counters.keys { counters[name] = counters[name]?.filter { $0.key != key && !$0.key.hasPrefix(key + ",") } }
            for key in histograms.keys { histograms[key]?[function] = nil }
        }
    }

    /// The exposition text; `gauges` are (name, help, [(labels, value)]) sampled by the caller.
    public func render(gauges: [(String, String, [(String, Double)])]) -> String {
        lock.lock()
        defer { lock.unlock() }
        var out = ""
        for (name, help) in Self.counterHelp {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for (labels, value) in (counters[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                out += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n"
            }
        }
        for (name, help) in Self.histogramHelp {
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for (function, h) in (histograms[name] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let label = "function=\"\(Self.escape(function))\""
                for (i, bound) in Self.durationBuckets.enumerated() {
                    out += "\(name)_bucket{\(label),le=\"\(Self.format(bound))\"} \(h.counts[i])\n"
                }
                out += "\(name)_bucket{\(label),le=\"+Inf\"} \(h.count)\n"
                out += "\(name)_sum{\(label)} \(Self.format(h.sum))\n"
                out += "\(name)_count{\(label)} \(h.count)\n"
            }
        }
        for (name, help, samples) in gauges {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (labels, value) in samples {
                out += labels.isEmpty ? "\(name) \(Self.format(value))\n" : "\(name){\(labels)} \(Self.format(value))\n"
            }
        }
        return out
    }

    /// A label value as the text format quotes it. Every counted event passes here: most values
    /// (function names) have nothing to escape and are returned as they are, without Foundation's
    /// string search, which cost more than the rest of the count.
    static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return value
        }
        var out = ""
        out.reserveCapacity(value.utf8.count + 8)
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
