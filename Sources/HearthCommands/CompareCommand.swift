#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import HearthCompare
import HearthModel
import HearthSupervisor

/// `hearth compare`: the same function and traffic run serverless and as always-on containers, one arm
/// after the other on this box, each from a cold state, and the two measured side by side.
public struct CompareCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Replay a traffic trace serverless and always-on, and compare latency, memory, CPU and cost.",
        discussion: """
            FUNCTION is a function deployed on the daemon (its code and configuration are fetched; the daemon's own \
            sandboxes are not touched), or give --zip with --runtime and --handler, or --builtin sleep|busy to run each \
            request for the duration the trace gives it. --trace is a file (Azure Functions 2019 invocations_per_function \
            with its durations and memory files beside it, the Azure 2021 invocation trace, or a CSV of SECONDS[,DURATION_MS]) \
            or a shape: steady:RATE, sparse:GAP, bursty:BASE,PEAK,EVERY,FOR, diurnal:PEAK,PERIOD. Needs root: it runs sandboxes.
            """)

    @Argument(help: "A function deployed on the daemon.") var function: String?
    @Option(help: "The traffic: a trace file or a synthetic shape.") var trace: String
    @Option(help: "The function to take from a trace with many (a prefix of its hash; default the first).") var select: String?
    @Option(help: "Replay only the trace's first D (seconds, or with s, m, h; the length of a synthetic shape, default 10m).") var duration: String?
    @Option(help: "Replay K times faster than the trace (arrivals and keep-alive; the function's own durations unchanged).") var speedup = 1.0
    @Option(help: "Where the JSON and HTML reports go (default ./hearth-compare-FUNCTION-TIME).") var out: String?
    @Option(help: "A built-in function instead of yours: sleep or busy, for each arrival's duration.") var builtin: String?
    @Option(help: "A Lambda zip to compare instead of a deployed function.") var zip: String?
    @Option(help: "The zip's runtime.") var runtime: String?
    @Option(help: "The zip's handler.") var handler: String?
    @Option(help: "Memory in MB (default: the function's, the trace's, or 128).") var memory: Int?
    @Option(name: .customLong("work-ms"), help: "A built-in function's duration for arrivals the trace gives none (default 10).") var workMs = 10.0
    @Option(help: "The event for your function (a JSON file; default {}).") var event: String?
    @Option(name: .customLong("keep-alive-policy"), help: "The serverless arm's keep-alive: fixed or hybrid.") var keepAlivePolicy = "fixed"
    @Option(name: .customLong("idle-timeout"), help: "The fixed keep-alive, in seconds of trace time (default 600, Lambda's).") var idleTimeout = 600.0
    @Option(help: "Always-on environments (default: the fewest that serve the trace's busiest second within --target-p99-wait).") var environments: Int?
    @Option(name: .customLong("per-environment"),
            help: "Invocations each always-on environment serves at once (1-32; its runtime is told by AWS_LAMBDA_MAX_CONCURRENCY).")
    var perEnvironment = 1
    @Option(name: .customLong("target-p99-wait"), help: "Queueing allowed at the 99th percentile when choosing N, in ms (default 50).") var targetWaitMs = 50.0
    @Option(name: .customLong("request-price"), help: "Lambda's price per million requests (default 0.20).") var requestPrice: Double?
    @Option(name: .customLong("gb-second-price"), help: "Lambda's price per GB-second (default 0.0000166667).") var gbSecondPrice: Double?
    @Option(name: .customLong("vcpu-hour-price"), help: "Always-on price per vCPU-hour (default 0.04048).") var vcpuHourPrice: Double?
    @Option(name: .customLong("gb-hour-price"), help: "Always-on price per GB-hour (default 0.004445).") var gbHourPrice: Double?
    @Option(help: "Seed for sampled durations and synthetic arrivals.") var seed: UInt64 = 1
    @Flag(name: .customLong("dry-run"), help: "Print the plan and stop.") var dryRun = false
    @Option(name: .customLong("images-dir"), help: "Runtime images (default: HEARTH_IMAGES_DIR or /var/lib/hearth/images).") var imagesDirectory: String?
    @OptionGroup var client: ClientOptions

    public init() {}

    /// Everything checked before anything runs.
    struct Settings {
        var source: CompareFunction.Source
        /// The trace as read (its own time), and as replayed (sped up).
        var original: Trace
        var trace: Trace
        var policy: KeepAlivePolicy
        var pricing: Pricing
        var speedup: Double
    }

    func settings() throws -> Settings {
        let sources = [function != nil, zip != nil, builtin != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give one function: FUNCTION (deployed), --zip with --runtime and --handler, or --builtin sleep|busy") }
        let source: CompareFunction.Source
        if let builtin {
            guard builtin == "sleep" || builtin == "busy" else { throw ValidationError("--builtin must be sleep or busy, got '\(builtin)'") }
            source = .builtin(builtin)
        } else if let zip {
            guard let runtime, let handler else { throw ValidationError("--zip needs --runtime and --handler") }
            source = .zip(path: zip, runtime: runtime, handler: handler)
        } else {
            source = .deployed(function ?? "")
        }
        guard speedup.isFinite, speedup > 0, speedup <= 100_000 else { throw ValidationError("--speedup must be above 0 and at most 100000, got \(speedup)") }
        guard idleTimeout.isFinite, idleTimeout > 0 else { throw ValidationError("--idle-timeout must be a positive number of seconds, got \(idleTimeout)") }
        guard targetWaitMs.isFinite, targetWaitMs > 0 else { throw ValidationError("--target-p99-wait must be a positive number of ms, got \(targetWaitMs)") }
        guard workMs.isFinite, workMs >= 0, workMs <= 900_000 else { throw ValidationError("--work-ms must be from 0 to 900000, got \(workMs)") }
        if let memory, !LambdaLimits.memoryMB.contains(memory) {
            throw ValidationError("--memory must be from \(LambdaLimits.memoryMB.lowerBound) to \(LambdaLimits.memoryMB.upperBound) MB, got \(memory)")
        }
        if let environments, !(1...1000).contains(environments) { throw ValidationError("--environments must be from 1 to 1000, got \(environments)") }
        guard RuntimeConcurrency.range.contains(perEnvironment) else {
            throw ValidationError("--per-environment must be from \(RuntimeConcurrency.range.lowerBound) to \(RuntimeConcurrency.range.upperBound), got \(perEnvironment)")
        }
        guard let policy = KeepAlivePolicy(name: keepAlivePolicy) else { throw ValidationError("--keep-alive-policy must be fixed or hybrid, got '\(keepAlivePolicy)'") }
        var pricing = Pricing()
        for (flag, value, path) in [("--request-price", requestPrice, \Pricing.perMillionRequests), ("--gb-second-price", gbSecondPrice, \.perGBSecond),
                                    ("--vcpu-hour-price", vcpuHourPrice, \.perVCPUHour), ("--gb-hour-price", gbHourPrice, \.perGBHour)] {
            guard let value else { continue }
            guard value.isFinite, value >= 0 else { throw ValidationError("\(flag) must be a price from 0, got \(value)") }
            pricing[keyPath: path] = value
        }
        var length: Double?
        if let duration {
            guard let seconds = SyntheticShape.seconds(duration), seconds > 0 else {
                throw ValidationError("--duration must be a positive time (seconds, or with s, m or h), got '\(duration)'")
            }
            length = seconds
        }
        var trace: Trace
        do {
            trace = try TraceSource.parse(self.trace).load(select: select, duration: length ?? 600, seed: seed)
        } catch {
            throw ValidationError("\(error)")
        }
        if let length { trace = trace.cut(to: length) }
        return Settings(source: source, original: trace, trace: trace.spedUp(by: speedup), policy: policy, pricing: pricing, speedup: speedup)
    }

    public func run() throws {
        let settings = try settings()
        if dryRun {
            let memoryMB = memory ?? settings.trace.memoryMB ?? 128
            let plan = makePlan(settings, memoryMB: memoryMB, meanDurationMs: planDurationMs(settings))
            if client.json { return printJSON(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(plan))) }
            print(plan.render())
            if environments == nil && planDurationMs(settings) == nil {
                print("note          N is chosen at the start of the run from the function's measured duration (--environments sets it)")
            }
            return
        }
        guard geteuid() == 0 else { throw HearthError.invalidArgument("hearth compare runs sandboxes: run it as root") }
        nonisolated(unsafe) let command = self
        try blockingRun { try await CompareRun.run(command, settings) }
    }

    /// The function's mean duration as the trace gives it (what a built-in function runs for).
    func planDurationMs(_ settings: Settings) -> Double? {
        guard builtin != nil else { return nil }
        return settings.trace.summary.meanDurationMs ?? workMs
    }

    func makePlan(_ settings: Settings, memoryMB: Int, meanDurationMs: Double?) -> ComparisonPlan {
        // The replay's peak: arrivals come K times closer together while durations stay as they are.
        let summary = settings.trace.summary
        let n: Int
        let sizing: String
        if let environments {
            n = environments
            sizing = "as given"
        } else if let meanDurationMs {
            n = Sizing.environments(peakPerSecond: Double(summary.peakPerSecond), meanDurationSeconds: meanDurationMs / 1000,
                                    targetWait: targetWaitMs / 1000, perEnvironment: perEnvironment)
            sizing = "the fewest for the replay's peak of \(summary.peakPerSecond)/s at \(String(format: "%.1f", meanDurationMs)) ms each "
                + "(\(dryRun ? "the trace's mean; measured when it runs" : "measured")) within a p99 wait of \(Int(targetWaitMs)) ms"
        } else {
            n = 1
            sizing = "to be chosen from the measured duration"
        }
        return ComparisonPlan(function: name(settings), memoryMB: memoryMB, trace: settings.original, replayPeakPerSecond: summary.peakPerSecond,
                              speedup: settings.speedup,
                              keepAlivePolicy: settings.policy.description, idleTimeoutSeconds: idleTimeout, environments: n,
                              perEnvironment: perEnvironment, sizing: sizing, pricing: settings.pricing)
    }

    func name(_ settings: Settings) -> String {
        switch settings.source {
        case .deployed(let name): name
        case .zip(let path, _, _): CompareFunction.sanitized(((path as NSString).lastPathComponent as NSString).deletingPathExtension)
        case .builtin(let mode): "builtin-\(mode)"
        }
    }
}
