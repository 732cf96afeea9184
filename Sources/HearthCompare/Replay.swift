import Foundation
import Synchronization

/// How one request of a replay ended, as the arm saw it.
public struct RequestResult: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// The function answered (its own error included: Lambda bills it).
        case success, functionError
        /// Refused for a limit (Lambda's 429).
        case throttled
        /// The platform failed it (a timeout, a crash, a sandbox that could not start).
        case failed
    }
    public var kind: Kind
    public var cold: Bool
    /// The function's run time as Lambda bills it (whole milliseconds, rounded up); 0 when it never ran.
    public var billedMs: Int

    public init(kind: Kind, cold: Bool, billedMs: Int) {
        self.kind = kind
        self.cold = cold
        self.billedMs = billedMs
    }
}

/// What a replay drives: one arm's way of running the function, and what it holds.
public protocol ReplayTarget: Sendable {
    func invoke(_ arrival: Arrival) async -> RequestResult
    func sample() async -> UsageSample
}

/// What an arm holds and uses at one moment.
public struct UsageSample: Sendable, Equatable, Codable {
    /// Seconds since the replay began (real time).
    public var at: Double
    /// Memory set aside for its environments (their configured size, as a bill counts it).
    public var reservedMB: Double
    /// Memory its environments' cgroups use now.
    public var usedMB: Double
    public var environments: Int

    public init(at: Double = 0, reservedMB: Double, usedMB: Double, environments: Int) {
        self.at = at
        self.reservedMB = reservedMB
        self.usedMB = usedMB
        self.environments = environments
    }
}

/// One request as replayed: when it was due, how late the driver sent it, how long it took.
public struct ReplayedRequest: Sendable {
    public var due: Double
    public var lag: Double
    public var latency: Double
    public var result: RequestResult
}

/// Everything a replay measured, in real seconds from its start.
public struct ReplayRecord: Sendable {
    public var requests: [ReplayedRequest]
    public var samples: [UsageSample]
    public var elapsed: Double
}

/// Progress of a running replay, for the terminal's bar.
public struct ReplayProgress: Sendable {
    public var sent: Int
    public var total: Int
    public var elapsed: Double
    public var span: Double
}

/// Replays a trace open-loop: every arrival is sent at its time whatever happened to the ones before
/// (a request that waits does not hold back the next, as in a real client population), each from a
/// task of its own. The driver's own lag (how late each request left) is recorded, so a driver that
/// could not keep up is seen rather than mistaken for a slow function.
public enum Replay {
    public static func run(_ trace: Trace, on target: any ReplayTarget, sampleEvery: Double = 0.1,
                           progress: (@Sendable (ReplayProgress) -> Void)? = nil) async -> ReplayRecord {
        let clock = ContinuousClock()
        let start = clock.now
        @Sendable func seconds(_ instant: ContinuousClock.Instant) -> Double {
            let d = instant - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        let samples = Mutex<[UsageSample]>([])
        let finished = Atomic(false)
        let sampler = Task {
            while !finished.load(ordering: .acquiring) {
                var sample = await target.sample()
                sample.at = seconds(clock.now)
                samples.withLock { $0.append(sample) }
                try? await clock.sleep(for: .seconds(sampleEvery))
            }
        }
        let total = trace.arrivals.count
        var lastProgress = -1.0
        let requests = await withTaskGroup(of: ReplayedRequest.self, returning: [ReplayedRequest].self) { group in
            for (index, arrival) in trace.arrivals.enumerated() {
                let due = start + .nanoseconds(Int64(arrival.offset * 1e9))
                if clock.now < due { try? await clock.sleep(until: due, tolerance: .zero) }
                group.addTask {
                    let sent = clock.now
                    let result = await target.invoke(arrival)
                    let done = clock.now
                    return ReplayedRequest(due: arrival.offset, lag: max(0, seconds(sent) - arrival.offset),
                                           latency: seconds(done) - seconds(sent), result: result)
                }
                if let progress {
                    let now = seconds(clock.now)
                    if now - lastProgress >= 0.25 || index == total - 1 {
                        lastProgress = now
                        progress(ReplayProgress(sent: index + 1, total: total, elapsed: now, span: trace.span))
                    }
                }
            }
            // The trace's silent end counts too: what an arm holds then is part of its bill.
            let end = start + .nanoseconds(Int64(trace.span * 1e9))
            if clock.now < end { try? await clock.sleep(until: end, tolerance: .zero) }
            var all: [ReplayedRequest] = []
            all.reserveCapacity(total)
            for await request in group { all.append(request) }
            return all
        }
        finished.store(true, ordering: .releasing)
        await sampler.value
        var last = await target.sample()
        last.at = seconds(clock.now)
        samples.withLock { $0.append(last) }
        return ReplayRecord(requests: requests.sorted { $0.due < $1.due }, samples: samples.withLock { $0 }, elapsed: seconds(clock.now))
    }
}
