import Foundation

/// One arm's results, measured: latency, cold starts, failures, memory held and used, CPU, the bill.
/// Memory held and used are in trace time (the replay's real time times the speedup: what the arm would
/// hold replaying the trace at its own pace); latencies, durations and CPU are real.
public struct ArmReport: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case serverless, alwaysOn = "always-on" }

    public struct Latency: Sendable, Codable, Equatable {
        public var p50Ms: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var p999Ms: Double
        public var maxMs: Double
    }

    public struct Bill: Sendable, Codable, Equatable {
        /// "lambda" (requests and GB-seconds) or "capacity" (vCPU-hours and GB-hours held).
        public var model: String
        public var dollars: Double
        public var billedGBSeconds: Double?
        public var heldVCPUHours: Double?
        public var heldGBHours: Double?
    }

    public var arm: Kind
    public var policy: String
    public var memoryMB: Int
    /// Always-on environments (N) and invocations each serves at once (C); nil for the serverless arm.
    public var environments: Int?
    public var perEnvironment: Int?
    public var requests: Int
    public var succeeded: Int
    public var functionErrors: Int
    public var throttles: Int
    public var failures: Int
    public var coldStarts: Int
    public var coldStartShare: Double
    public var latency: Latency?
    /// Whole milliseconds billed over all requests, and so the GB-seconds Lambda would bill.
    public var billedDurationMs: Int
    public var reservedGBSeconds: Double
    public var usedGBSeconds: Double
    public var cpuSeconds: Double
    public var peakEnvironments: Int
    public var bill: Bill
    public var driverLag: Latency?
    /// The replay's real length, and the trace time it stood for.
    public var elapsedSeconds: Double
    public var traceSeconds: Double

    /// Time series for the charts: per bucket of trace time, requests per second and environments held.
    public var timeline: [TimelinePoint]
    /// Latency percentiles 0...100 in steps (a CDF to draw).
    public var latencyCDF: [Double]

    public struct TimelinePoint: Sendable, Codable, Equatable {
        public var at: Double
        public var requestsPerSecond: Double
        public var environments: Int
        public var reservedMB: Double
        public var usedMB: Double
        public var cumulativeDollars: Double
    }

    /// - Parameter cpuSeconds: CPU time the arm cost (the box's busy time over the arm, less the replay driver's).
    public init(arm: Kind, policy: String, memoryMB: Int, environments: Int?, perEnvironment: Int?, record: ReplayRecord,
                speedup: Double, traceSeconds: Double, cpuSeconds: Double, pricing: Pricing) {
        self.arm = arm
        self.policy = policy
        self.memoryMB = memoryMB
        self.environments = environments
        self.perEnvironment = perEnvironment
        let results = record.requests.map(\.result)
        requests = results.count
        succeeded = results.filter { $0.kind == .success }.count
        functionErrors = results.filter { $0.kind == .functionError }.count
        throttles = results.filter { $0.kind == .throttled }.count
        failures = results.filter { $0.kind == .failed }.count
        coldStarts = results.filter(\.cold).count
        coldStartShare = requests > 0 ? Double(coldStarts) / Double(requests) : 0
        let answered = record.requests.filter { $0.result.kind == .success || $0.result.kind == .functionError }.map { $0.latency * 1000 }
        latency = Self.latency(answered)
        driverLag = Self.latency(record.requests.map { $0.lag * 1000 })
        billedDurationMs = results.reduce(0) { $0 + $1.billedMs }
        elapsedSeconds = record.elapsed
        self.traceSeconds = traceSeconds
        // Trapezoids between samples, in trace time.
        var reserved = 0.0, used = 0.0
        for (a, b) in zip(record.samples, record.samples.dropFirst()) {
            let dt = (b.at - a.at) * speedup
            reserved += (a.reservedMB + b.reservedMB) / 2 * dt
            used += (a.usedMB + b.usedMB) / 2 * dt
        }
        reservedGBSeconds = reserved / 1024
        usedGBSeconds = used / 1024
        self.cpuSeconds = cpuSeconds
        peakEnvironments = record.samples.map(\.environments).max() ?? 0
        switch arm {
        case .serverless:
            bill = Bill(model: "lambda", dollars: pricing.lambda(requests: requests, billedMs: billedDurationMs, memoryMB: memoryMB),
                        billedGBSeconds: pricing.gbSeconds(billedMs: billedDurationMs, memoryMB: memoryMB))
        case .alwaysOn:
            let n = environments ?? peakEnvironments
            bill = Bill(model: "capacity", dollars: pricing.capacity(environments: n, memoryMB: memoryMB, seconds: traceSeconds),
                        heldVCPUHours: Double(n) * Pricing.vcpus(memoryMB: memoryMB) * traceSeconds / 3600,
                        heldGBHours: Double(n) * Double(memoryMB) / 1024 * traceSeconds / 3600)
        }
        timeline = Self.timeline(record, arm: arm, speedup: speedup, traceSeconds: traceSeconds, memoryMB: memoryMB,
                                 environments: environments, pricing: pricing)
        let sorted = answered.sorted()
        latencyCDF = sorted.isEmpty ? [] : (0...100).map { Self.percentile(sorted, Double($0)) }
    }

    static func latency(_ values: [Double]) -> Latency? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return Latency(p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90), p99Ms: percentile(sorted, 99),
                       p999Ms: percentile(sorted, 99.9), maxMs: sorted[sorted.count - 1])
    }

    /// The nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        // Less a hair, so 99.9% of 1,000 is the 999th despite floating point.
        let rank = Int((p / 100 * Double(sorted.count) - 1e-9).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// 200 buckets over the trace: its request rate (over the last second at least, so a short bucket
    /// does not alias evenly spaced arrivals), what the arm held, and its bill so far.
    static func timeline(_ record: ReplayRecord, arm: Kind, speedup: Double, traceSeconds: Double, memoryMB: Int,
                         environments: Int?, pricing: Pricing) -> [TimelinePoint] {
        guard traceSeconds > 0 else { return [] }
        let buckets = 200
        let width = traceSeconds / Double(buckets)
        var counts = Array(repeating: 0, count: buckets)
        var billed = Array(repeating: 0, count: buckets)
        let window = max(width, 1)
        let dues = record.requests.map { $0.due * speedup }
        var windowStart = 0, windowEnd = 0
        for request in record.requests {
            let bucket = min(buckets - 1, max(0, Int(request.due * speedup / width)))
            counts[bucket] += 1
            billed[bucket] += request.result.billedMs
        }
        var points: [TimelinePoint] = []
        var sampleIndex = 0
        var requestsSoFar = 0, billedSoFar = 0
        for bucket in 0..<buckets {
            let end = Double(bucket + 1) * width
            while sampleIndex + 1 < record.samples.count && record.samples[sampleIndex + 1].at * speedup <= end { sampleIndex += 1 }
            let sample = record.samples.isEmpty ? UsageSample(reservedMB: 0, usedMB: 0, environments: 0) : record.samples[sampleIndex]
            requestsSoFar += counts[bucket]
            billedSoFar += billed[bucket]
            while windowEnd < dues.count && dues[windowEnd] < end { windowEnd += 1 }
            while windowStart < windowEnd && dues[windowStart] < end - window { windowStart += 1 }
            let dollars = arm == .serverless
                ? pricing.lambda(requests: requestsSoFar, billedMs: billedSoFar, memoryMB: memoryMB)
                : pricing.capacity(environments: environments ?? sample.environments, memoryMB: memoryMB, seconds: end)
            points.append(TimelinePoint(at: end, requestsPerSecond: Double(windowEnd - windowStart) / min(window, end), environments: sample.environments,
                                        reservedMB: sample.reservedMB, usedMB: sample.usedMB, cumulativeDollars: dollars))
        }
        return points
    }
}
