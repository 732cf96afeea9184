import Foundation

/// How long an idle environment is kept, and whether one is started before an expected invocation.
///
/// - `fixed`: Lambda's way: every environment is kept for the idle timeout after its last use.
/// - `hybrid`: the hybrid histogram policy of "Serverless in the Wild" (Shahrad et al., ATC'20): per
///   function version, a histogram of its idle times (from the end of its last running invocation to the
///   next arrival); when the histogram is representative, the environment is unloaded as soon as it is
///   idle, one is pre-warmed at the idle times' head percentile and kept to their tail percentile, each
///   widened by a margin. Otherwise (too few idle times, too many beyond the histogram's range, or
///   spread too evenly to predict) the fixed idle timeout applies. The paper forecasts idle times beyond
///   the range with ARIMA; Hearth falls back to the fixed timeout for those instead.
public enum KeepAlivePolicy: Sendable, Equatable, CustomStringConvertible {
    case fixed
    case hybrid(HybridKeepAlive)

    /// `fixed` or `hybrid` (with the paper's settings).
    public init?(name: String) {
        switch name {
        case "fixed": self = .fixed
        case "hybrid": self = .hybrid(HybridKeepAlive())
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .fixed: "fixed"
        case .hybrid: "hybrid"
        }
    }
}

/// The hybrid policy's settings; the defaults are the paper's (a 4-hour range at minute granularity,
/// the 5th and 99th percentiles, a 10% margin, a coefficient of variation of at least 2).
public struct HybridKeepAlive: Sendable, Equatable {
    public var binSeconds: Double = 60
    public var bins: Int = 240
    public var headPercentile: Double = 5
    public var tailPercentile: Double = 99
    public var margin: Double = 0.10
    /// Fewer idle times than this inside the range say nothing yet.
    public var minimumSamples: Int = 10
    /// Bin counts spread more evenly than this (their standard deviation over their mean) predict nothing.
    public var minimumCV: Double = 2
    /// A larger share of idle times beyond the range is a pattern the histogram cannot see.
    public var maximumOutOfRangeShare: Double = 0.5

    public init() {}
}

/// What the policy decided for one function version: keep no environment for `preWarm` seconds after
/// it became idle, then keep one for `keepAlive` seconds more.
struct KeepAliveWindows: Equatable {
    var preWarm: Double
    var keepAlive: Double
    /// From a representative histogram (else the fixed idle timeout).
    var predicted: Bool

    var end: Double { preWarm + keepAlive }

    static func fixed(_ seconds: Double) -> KeepAliveWindows { KeepAliveWindows(preWarm: 0, keepAlive: seconds, predicted: false) }
}

/// A function version's idle times, binned.
struct IdleTimeHistogram {
    private(set) var counts: [Int]
    private(set) var inRange = 0
    private(set) var outOfRange = 0
    let binSeconds: Double

    init(_ settings: HybridKeepAlive) {
        counts = Array(repeating: 0, count: max(1, settings.bins))
        binSeconds = max(0.001, settings.binSeconds)
    }

    mutating func record(idleSeconds: Double) {
        guard idleSeconds.isFinite, idleSeconds >= 0 else { return }
        let bin = idleSeconds / binSeconds
        guard bin < Double(counts.count) else {
            outOfRange += 1
            return
        }
        counts[Int(bin)] += 1
        inRange += 1
    }

    /// The windows these idle times predict, or the fixed timeout when they predict nothing.
    func windows(_ settings: HybridKeepAlive, fixed: Double) -> KeepAliveWindows {
        let total = inRange + outOfRange
        guard inRange >= settings.minimumSamples, total > 0,
              Double(outOfRange) / Double(total) <= settings.maximumOutOfRangeShare,
              coefficientOfVariation >= settings.minimumCV,
              let head = binIndex(atPercentile: settings.headPercentile),
              let tail = binIndex(atPercentile: settings.tailPercentile) else { return .fixed(fixed) }
        // The head bin's start and the tail bin's end, widened by the margin (pre-warm earlier, keep longer).
        let preWarm = Double(head) * binSeconds * (1 - settings.margin)
        let end = Double(tail + 1) * binSeconds * (1 + settings.margin)
        return KeepAliveWindows(preWarm: preWarm, keepAlive: end - preWarm, predicted: true)
    }

    /// The bin holding the `percentile`th in-range idle time.
    func binIndex(atPercentile percentile: Double) -> Int? {
        guard inRange > 0 else { return nil }
        let wanted = max(1, (Double(inRange) * percentile / 100).rounded(.up))
        var seen = 0
        for (index, count) in counts.enumerated() {
            seen += count
            if Double(seen) >= wanted { return index }
        }
        return counts.count - 1
    }

    /// The bin counts' standard deviation over their mean: high when idle times gather in a few bins.
    var coefficientOfVariation: Double {
        let n = Double(counts.count)
        let mean = Double(inRange) / n
        guard mean > 0 else { return 0 }
        let variance = counts.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return variance.squareRoot() / mean
    }
}

/// A function version's idle history as the scheduler keeps it: the histogram, how many of its
/// invocations run now, and since when none has.
struct IdleHistory {
    var histogram: IdleTimeHistogram
    var running = 0
    var idleSince: Date?
    /// An environment was pre-warmed in the current idle period (once per period).
    var preWarmed = false

    init(_ settings: HybridKeepAlive) { histogram = IdleTimeHistogram(settings) }

    /// An invocation arrives: the idle period it ends is one more idle time.
    mutating func arrive(at now: Date) {
        if running == 0, let since = idleSince { histogram.record(idleSeconds: now.timeIntervalSince(since)) }
        running += 1
        idleSince = nil
        preWarmed = false
    }

    /// An invocation ended; true if it was the last one running.
    mutating func leave(at now: Date) -> Bool {
        running = max(0, running - 1)
        guard running == 0 else { return false }
        idleSince = now
        return true
    }
}
