import Foundation

/// One request of a trace: when it arrives (seconds from the trace's start) and, when the trace says,
/// how long the function ran for it.
public struct Arrival: Sendable, Equatable {
    public var offset: Double
    public var durationMs: Double?

    public init(offset: Double, durationMs: Double? = nil) {
        self.offset = offset
        self.durationMs = durationMs
    }
}

/// A traffic trace ready to replay: arrivals in order, over a span (a trace may end in silence).
public struct Trace: Sendable {
    /// What it was read from, for the report ("azure2019 d01 function 9a3e1f…").
    public var name: String
    public var arrivals: [Arrival]
    public var span: Double
    /// The memory the trace gives the function (Azure 2019's app memory), if any.
    public var memoryMB: Int?

    /// Traces larger than this are refused before they are built (24 bytes an arrival).
    public static let maximumArrivals = 10_000_000

    public init(name: String, arrivals: [Arrival], span: Double? = nil, memoryMB: Int? = nil) {
        self.name = name
        self.arrivals = arrivals.sorted { $0.offset < $1.offset }
        self.span = max(span ?? 0, self.arrivals.last?.offset ?? 0)
        self.memoryMB = memoryMB
    }

    /// The first `seconds` of the trace.
    public func cut(to seconds: Double) -> Trace {
        var cut = self
        cut.arrivals = arrivals.filter { $0.offset < seconds }
        cut.span = min(span, seconds)
        return cut
    }

    /// The trace replayed `factor` times faster: arrivals closer together, the functions' durations unchanged.
    public func spedUp(by factor: Double) -> Trace {
        guard factor != 1 else { return self }
        var fast = self
        fast.arrivals = arrivals.map { Arrival(offset: $0.offset / factor, durationMs: $0.durationMs) }
        fast.span = span / factor
        return fast
    }

    public struct Summary: Sendable, Equatable, Codable {
        public var requests: Int
        public var spanSeconds: Double
        public var meanPerSecond: Double
        /// The most arrivals in any one-second window, and in any minute.
        public var peakPerSecond: Int
        public var peakPerMinute: Int
        /// Arrivals with a duration of their own, and their mean.
        public var withDurations: Int
        public var meanDurationMs: Double?
        /// Gaps between arrivals: the median and the longest.
        public var medianGapSeconds: Double?
        public var longestGapSeconds: Double?
    }

    public var summary: Summary {
        let durations = arrivals.compactMap(\.durationMs)
        var gaps = zip(arrivals.dropFirst(), arrivals).map { $0.offset - $1.offset }
        gaps.sort()
        return Summary(requests: arrivals.count, spanSeconds: span,
                       meanPerSecond: span > 0 ? Double(arrivals.count) / span : Double(arrivals.count),
                       peakPerSecond: peak(window: 1), peakPerMinute: peak(window: 60),
                       withDurations: durations.count,
                       meanDurationMs: durations.isEmpty ? nil : durations.reduce(0, +) / Double(durations.count),
                       medianGapSeconds: gaps.isEmpty ? nil : gaps[gaps.count / 2], longestGapSeconds: gaps.last)
    }

    /// The most arrivals inside any window of `window` seconds (two pointers over the sorted offsets;
    /// a nanosecond of slack, so evenly spaced arrivals computed in floating point count as evenly spaced).
    func peak(window: Double) -> Int {
        var best = 0
        var start = 0
        for end in arrivals.indices {
            while arrivals[end].offset - arrivals[start].offset >= window - 1e-9 { start += 1 }
            best = max(best, end - start + 1)
        }
        return best
    }
}

/// A trace that cannot be read, with where.
public struct TraceError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// "FILE:LINE: what"
    static func at(_ file: String, _ line: Int, _ what: String) -> TraceError { TraceError("\(file):\(line): \(what)") }
}
