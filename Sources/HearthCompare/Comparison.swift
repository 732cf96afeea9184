import Foundation

/// A comparison's plan: what will run, before anything does (`--dry-run` prints it).
public struct ComparisonPlan: Sendable, Codable, Equatable {
    public var function: String
    public var memoryMB: Int
    public var trace: String
    /// The trace in its own time.
    public var summary: Trace.Summary
    public var speedup: Double
    /// The busiest second of the replay (the trace's arrivals sped up; the function's durations are not).
    public var replayPeakPerSecond: Int
    public var keepAlivePolicy: String
    public var idleTimeoutSeconds: Double
    /// Always-on environments and invocations each serves at once, and how they were chosen.
    public var environments: Int
    public var perEnvironment: Int
    public var sizing: String
    /// The replay's real length for both arms, the trace's own pace divided by the speedup.
    public var expectedSeconds: Double
    public var pricing: Pricing

    public init(function: String, memoryMB: Int, trace: Trace, replayPeakPerSecond: Int, speedup: Double, keepAlivePolicy: String, idleTimeoutSeconds: Double,
                environments: Int, perEnvironment: Int, sizing: String, pricing: Pricing) {
        self.function = function
        self.memoryMB = memoryMB
        self.trace = trace.name
        summary = trace.summary
        self.speedup = speedup
        self.replayPeakPerSecond = replayPeakPerSecond
        self.keepAlivePolicy = keepAlivePolicy
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.environments = environments
        self.perEnvironment = perEnvironment
        self.sizing = sizing
        expectedSeconds = 2 * trace.span / speedup
        self.pricing = pricing
    }

    public func render() -> String {
        let s = summary
        var lines = [
            "function      \(function) (\(memoryMB) MB)",
            "trace         \(trace): \(s.requests) requests over \(Format.duration(s.spanSeconds)), mean \(Format.number(s.meanPerSecond))/s, "
                + "peak \(s.peakPerSecond)/s and \(s.peakPerMinute)/min" + (s.meanDurationMs.map { ", mean duration \(Format.number($0)) ms" } ?? ""),
            "speedup       \(Format.number(speedup))x: each arm replays in \(Format.duration(expectedSeconds / 2)), \(Format.duration(expectedSeconds)) in all"
                + (speedup != 1 ? "; the replay peaks at \(replayPeakPerSecond)/s (durations are not sped up)" : ""),
            "serverless    on-demand sandboxes, keep-alive \(keepAlivePolicy) (idle timeout \(Format.duration(idleTimeoutSeconds)) of trace time)",
            "always-on     \(environments) environment\(environments == 1 ? "" : "s") x \(perEnvironment) at once, never scaled to zero (\(sizing))",
            "prices        Lambda $\(Format.price(pricing.perMillionRequests))/M requests + $\(Format.price(pricing.perGBSecond))/GB-s; "
                + "always-on $\(Format.price(pricing.perVCPUHour))/vCPU-h + $\(Format.price(pricing.perGBHour))/GB-h",
        ]
        if s.requests == 0 { lines.append("note          the trace has no requests in this window") }
        return lines.joined(separator: "\n")
    }
}

/// Both arms' reports, and what they say.
public struct Comparison: Sendable, Codable, Equatable {
    public var plan: ComparisonPlan
    public var serverless: ArmReport
    public var alwaysOn: ArmReport
    /// The request rate above which the always-on capacity as sized costs less than Lambda.
    public var breakEvenRequestsPerSecond: Double?
    public var verdict: String
    public var generatedAt: String

    public init(plan: ComparisonPlan, serverless: ArmReport, alwaysOn: ArmReport) {
        self.plan = plan
        self.serverless = serverless
        self.alwaysOn = alwaysOn
        let meanBilled = serverless.requests > 0 ? Double(serverless.billedDurationMs) / Double(serverless.requests) : 0
        breakEvenRequestsPerSecond = plan.pricing.breakEvenPerSecond(environments: plan.environments, memoryMB: plan.memoryMB,
                                                                   meanBilledMs: meanBilled)
        verdict = Self.verdict(serverless, alwaysOn)
        generatedAt = ISO8601DateFormatter().string(from: Date())
    }

    static func verdict(_ s: ArmReport, _ a: ArmReport) -> String {
        let (cs, ca) = (s.bill.dollars, a.bill.dollars)
        let cost: String
        if cs == ca {
            cost = "both cost the same"
        } else {
            let cheaper = cs < ca ? "serverless" : "always-on"
            let ratio = max(cs, ca) / max(min(cs, ca), 1e-12)
            cost = "\(cheaper) is cheaper by \(Format.ratio(ratio)) ($\(Format.dollars(min(cs, ca))) against $\(Format.dollars(max(cs, ca))))"
        }
        guard let ls = s.latency, let la = a.latency else { return cost + "; no latency to compare" }
        let better = ls.p99Ms <= la.p99Ms ? "serverless" : "always-on"
        let ratio = max(ls.p99Ms, la.p99Ms) / max(min(ls.p99Ms, la.p99Ms), 1e-9)
        return cost + "; \(better) has the better tail by \(Format.ratio(ratio)) (p99 \(Format.ms(min(ls.p99Ms, la.p99Ms))) "
            + "against \(Format.ms(max(ls.p99Ms, la.p99Ms))))"
    }

    /// The HTML report (self-contained, offline).
    public func html() -> String { HTMLReport.render(self) }

    /// Writes comparison.json and report.html into `directory` (made if missing); their paths.
    public func write(to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let json = directory + "/comparison.json", html = directory + "/report.html"
        try self.json().write(to: URL(fileURLWithPath: json), options: .atomic)
        try Data(self.html().utf8).write(to: URL(fileURLWithPath: html), options: .atomic)
        return [json, html]
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The terminal table: one column per arm.
    public func table() -> String {
        func row(_ name: String, _ f: (ArmReport) -> String) -> [String] { [name, f(serverless), f(alwaysOn)] }
        func lat(_ f: @escaping (ArmReport.Latency) -> Double) -> (ArmReport) -> String { { $0.latency.map { Format.ms(f($0)) } ?? "-" } }
        let rows = [
            ["", "serverless", "always-on"],
            row("setup") { $0.arm == .serverless ? "keep-alive \($0.policy)" : "\($0.environments ?? 0) x \($0.perEnvironment ?? 1)" },
            row("requests") { "\($0.requests)" },
            row("p50", lat(\.p50Ms)), row("p90", lat(\.p90Ms)), row("p99", lat(\.p99Ms)), row("p99.9", lat(\.p999Ms)), row("max", lat(\.maxMs)),
            row("cold starts") { "\($0.coldStarts) (\(Format.percent($0.coldStartShare)))" },
            row("throttles / errors") { "\($0.throttles) / \($0.functionErrors + $0.failures)" },
            row("memory held") { "\(Format.number($0.reservedGBSeconds)) GB-s" },
            row("memory used") { "\(Format.number($0.usedGBSeconds)) GB-s" },
            row("CPU used") { "\(Format.number($0.cpuSeconds)) s" },
            row("peak environments") { "\($0.peakEnvironments)" },
            row("bill") { "$\(Format.dollars($0.bill.dollars)) (\($0.bill.model))" },
            row("driver lag p99") { $0.driverLag.map { Format.ms($0.p99Ms) } ?? "-" },
        ]
        let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = rows.map { cells in
            cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        if let rate = breakEvenRequestsPerSecond {
            out.append("break-even: above \(Format.number(rate)) requests/s the always-on capacity as sized costs less than Lambda")
        }
        out.append(verdict)
        return out.joined(separator: "\n")
    }
}

/// Numbers as the report prints them.
enum Format {
    static func number(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 100 { return String(format: "%.0f", v) }
        if abs(v) >= 10 { return String(format: "%.1f", v) }
        if abs(v) >= 0.01 { return String(format: "%.2f", v) }
        return String(format: "%.2g", v)
    }
    static func ms(_ v: Double) -> String { number(v) + " ms" }
    static func percent(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
    static func ratio(_ v: Double) -> String { v.isFinite ? String(format: "%.1fx", v) : "an unbounded factor" }
    /// A price without exponent or trailing zeros: 0.0000166667.
    static func price(_ v: Double) -> String {
        var text = String(format: "%.10f", v)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
    static func dollars(_ v: Double) -> String { v >= 1 ? String(format: "%.2f", v) : String(format: "%.6f", v) }
    static func duration(_ seconds: Double) -> String {
        if seconds >= 3600 { return String(format: "%.1f h", seconds / 3600) }
        if seconds >= 60 { return String(format: "%.1f min", seconds / 60) }
        return String(format: "%.1f s", seconds)
    }
}
