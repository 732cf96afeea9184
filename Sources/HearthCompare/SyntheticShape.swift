import Foundation

/// Traffic shapes made up for a comparison, repeatable for a seed:
///
/// - `steady:RATE`: RATE requests a second, evenly spaced.
/// - `sparse:GAP`: Poisson arrivals GAP apart on average (`sparse:300`, `sparse:5m`).
/// - `bursty:BASE,PEAK,EVERY,FOR`: Poisson at BASE a second, at PEAK for FOR at the start of every EVERY.
/// - `diurnal:PEAK,PERIOD`: Poisson whose rate rises from 0 to PEAK and back over each PERIOD.
///
/// Times are seconds, or a number with `s`, `m` or `h`.
public enum SyntheticShape: Sendable, Equatable, CustomStringConvertible {
    case steady(rate: Double)
    case sparse(gap: Double)
    case bursty(base: Double, peak: Double, every: Double, for: Double)
    case diurnal(peak: Double, period: Double)

    static let names: Set<String> = ["steady", "sparse", "bursty", "diurnal"]
    /// Rates above this are more than one box can be sent (the replay's budget is 2,000 a second).
    static let maximumRate = 100_000.0

    public var description: String {
        switch self {
        case .steady(let rate): "steady:\(rate)"
        case .sparse(let gap): "sparse:\(gap)s"
        case .bursty(let base, let peak, let every, let length): "bursty:\(base),\(peak),\(every)s,\(length)s"
        case .diurnal(let peak, let period): "diurnal:\(peak),\(period)s"
        }
    }

    static func parse(_ text: String) throws(TraceError) -> SyntheticShape {
        let parts = text.split(separator: ":", maxSplits: 1)
        let kind = String(parts[0])
        let args = parts.count > 1 ? parts[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init) : []
        func want(_ n: Int, _ form: String) throws(TraceError) {
            guard args.count == n else { throw TraceError("'\(text)': expected \(form)") }
        }
        func rate(_ s: String, _ what: String) throws(TraceError) -> Double {
            guard let v = Double(s), v.isFinite, v >= 0, v <= maximumRate else {
                throw TraceError("'\(text)': \(what) must be a rate from 0 to \(Int(maximumRate)) a second, got '\(s)'")
            }
            return v
        }
        func time(_ s: String, _ what: String) throws(TraceError) -> Double {
            guard let v = seconds(s), v > 0 else { throw TraceError("'\(text)': \(what) must be a positive time (seconds, or with s, m or h), got '\(s)'") }
            return v
        }
        switch kind {
        case "steady":
            try want(1, "steady:RATE")
            let r = try rate(args[0], "RATE")
            guard r > 0 else { throw TraceError("'\(text)': RATE must be above 0") }
            return .steady(rate: r)
        case "sparse":
            try want(1, "sparse:GAP")
            return .sparse(gap: try time(args[0], "GAP"))
        case "bursty":
            try want(4, "bursty:BASE,PEAK,EVERY,FOR")
            let shape = SyntheticShape.bursty(base: try rate(args[0], "BASE"), peak: try rate(args[1], "PEAK"),
                                              every: try time(args[2], "EVERY"), for: try time(args[3], "FOR"))
            if case .bursty(_, _, let every, let length) = shape, length > every {
                throw TraceError("'\(text)': FOR must be at most EVERY")
            }
            return shape
        default:
            try want(2, "diurnal:PEAK,PERIOD")
            return .diurnal(peak: try rate(args[0], "PEAK"), period: try time(args[1], "PERIOD"))
        }
    }

    /// `90`, `90s`, `5m`, `2h` in seconds.
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        var number = Substring(text)
        var unit = 1.0
        if let last = text.last, let factor = units[last] {
            number = number.dropLast()
            unit = factor
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * unit < 1e9 else { return nil }
        return value * unit
    }

    /// The arrivals over `duration` seconds.
    func generate(duration: Double, seed: UInt64) -> Trace {
        var random = SplitMix64(seed: seed)
        var arrivals: [Arrival] = []
        func exponential(_ rate: Double) -> Double { -log(1 - random.nextUnit()) / rate }
        switch self {
        case .steady(let rate):
            let count = min(Int((duration * rate).rounded(.down)), Trace.maximumArrivals)
            arrivals = (0..<count).map { Arrival(offset: Double($0) / rate) }
        case .sparse(let gap):
            var t = exponential(1 / gap)
            while t < duration && arrivals.count < Trace.maximumArrivals {
                arrivals.append(Arrival(offset: t))
                t += exponential(1 / gap)
            }
        case .bursty(let base, let peak, let every, let length):
            // Thinning: candidates at the higher rate, each kept with the rate of its moment over it.
            let top = max(base, peak)
            guard top > 0 else { break }
            var t = exponential(top)
            while t < duration && arrivals.count < Trace.maximumArrivals {
                let rate = t.truncatingRemainder(dividingBy: every) < length ? peak : base
                if random.nextUnit() * top < rate { arrivals.append(Arrival(offset: t)) }
                t += exponential(top)
            }
        case .diurnal(let peak, let period):
            guard peak > 0 else { break }
            var t = exponential(peak)
            while t < duration && arrivals.count < Trace.maximumArrivals {
                let rate = peak * (1 - cos(2 * Double.pi * t / period)) / 2
                if random.nextUnit() * peak < rate { arrivals.append(Arrival(offset: t)) }
                t += exponential(peak)
            }
        }
        return Trace(name: description, arrivals: arrivals, span: duration)
    }
}
