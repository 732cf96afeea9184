import Foundation

/// How many always-on environments a trace needs: the fewest that serve its busiest second with a
/// queueing delay whose 99th percentile stays within the target, by the M/M/c queue (Erlang C): arrivals
/// at the peak rate, service at the function's mean duration. A model for choosing, not a measurement:
/// the replay then measures what that choice gave.
public enum Sizing {
    /// - Parameters: peakPerSecond: arrivals in the busiest second; meanDurationSeconds: the function's
    ///   mean run time; targetWait: the 99th-percentile wait allowed (seconds); perEnvironment: the
    ///   invocations each environment serves at once (its places are the queue's servers; the duration is
    ///   taken as the same when they are shared).
    public static func environments(peakPerSecond: Double, meanDurationSeconds: Double, targetWait: Double, perEnvironment: Int = 1,
                                    limit: Int = 10_000) -> Int {
        let places = max(1, perEnvironment)
        let servers = servers(peakPerSecond: peakPerSecond, meanDurationSeconds: meanDurationSeconds, targetWait: targetWait, limit: limit * places)
        return min(limit, (servers + places - 1) / places)
    }

    /// The fewest servers of the M/M/c queue that keep the 99th-percentile wait within `targetWait`.
    static func servers(peakPerSecond: Double, meanDurationSeconds: Double, targetWait: Double, limit: Int) -> Int {
        guard peakPerSecond > 0, meanDurationSeconds > 0 else { return 1 }
        let load = peakPerSecond * meanDurationSeconds
        var n = max(1, Int(load.rounded(.up)))
        if Double(n) <= load { n += 1 }
        while n < limit {
            if waitP99(servers: n, load: load, meanDuration: meanDurationSeconds) <= targetWait { return n }
            n += 1
        }
        return limit
    }

    /// The 99th percentile of the wait in an M/M/c queue with `servers` and offered `load` (Erlangs).
    static func waitP99(servers: Int, load: Double, meanDuration: Double) -> Double {
        let c = Double(servers)
        guard load < c else { return .infinity }
        let pWait = erlangC(servers: servers, load: load)
        guard pWait > 0.01 else { return 0 }
        // P(W > t) = pWait · e^(-(c - load) t / meanDuration)
        return log(pWait / 0.01) * meanDuration / (c - load)
    }

    /// The probability that an arrival waits (Erlang's C formula), summed stably term by term.
    static func erlangC(servers: Int, load: Double) -> Double {
        var term = 1.0
        var sum = 1.0
        for k in 1..<max(1, servers) {
            term *= load / Double(k)
            sum += term
        }
        let last = term * load / Double(servers)
        let tail = last * Double(servers) / (Double(servers) - load)
        return tail / (sum + tail)
    }
}
