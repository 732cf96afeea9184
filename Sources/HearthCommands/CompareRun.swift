#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthCompare
import HearthLogs
import HearthModel
import HearthRegistry
import HearthSandbox
import HearthState
import HearthSupervisor

/// The comparison itself: a private registry and supervisor per arm (nothing shared with a running
/// daemon but the runtime images), the two replays, the reports; everything it made goes at the end.
enum CompareRun {
    static func run(_ command: CompareCommand, _ settings: CompareCommand.Settings) async throws {
        let lease = try UIDBlockLease.acquire()
        SandboxIdentity.owner = .daemon(block: lease.block)
        defer { withExtendedLifetime(lease) {} }
        let state = NSTemporaryDirectory() + "hearth-compare-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: state) }
        let say = { (line: String) in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        // /tmp as `hearth serve` gives it (a disk when the host can make one), so the memory compared is the same.
        let engine = try HostEngine.make(shareRoots: true, scopePrefix: "hearth-compare",
                                         ephemeralDisks: try HostEngine.ephemeralDisks(in: state, announce: say), announce: say)
        defer {
            engine.shutdown()
            engine.cgroups.releaseIfUnused()
        }
        let images = SandboxRunCommand.imagesDirectory(command.imagesDirectory)
        let catalog = try FunctionCatalog(stateDirectory: state, imagesDirectory: images, region: "us-east-1", accountConcurrency: 1000)
        let definition = try CompareFunction.define(settings.source, memoryMB: command.memory ?? settings.trace.memoryMB,
                                                    codeDirectory: catalog.codeDirectory) { try command.client.client() }
        let record: FunctionRecord
        do {
            record = try catalog.create(name: definition.name, packageType: definition.packageType, code: definition.code,
                                        settings: definition.settings, publish: false)
        } catch {
            throw HearthError.invalidArgument("cannot make \(definition.name) to compare: \(error)")
        }
        let event = try command.event.map { path -> [UInt8] in
            guard let data = FileManager.default.contents(atPath: path) else { throw HearthError.invalidArgument("cannot read the event \(path)") }
            return Array(data)
        } ?? Array("{}".utf8)
        let mode: String? = if case .builtin(let m) = settings.source { m } else { nil }
        let workMs = command.workMs
        let payload: @Sendable (Arrival) -> [UInt8] = { arrival in
            guard let mode else { return event }
            return Array("{\"ms\":\(arrival.durationMs ?? workMs),\"mode\":\"\(mode)\"}".utf8)
        }
        let logs = try FunctionLogs(directory: state + "/logs")
        func supervisor(policy: KeepAlivePolicy) throws -> Supervisor {
            var options = SupervisorOptions()
            options.sandboxUIDs = lease.uids
            options.idleTimeoutSeconds = command.idleTimeout
            options.keepAlive = policy
            options.freezeIdle = false
            return try Supervisor(registry: catalog, engine: engine, logs: logs, options: options, clock: ScaledClock(factor: settings.speedup))
        }

        // The function's duration as it runs here, for choosing N: a few warm runs (of the trace's mean
        // duration for a built-in; a busy loop at a small memory size runs longer than its CPU time).
        var meanMs: Double?
        if command.environments == nil {
            let probe = Arrival(offset: 0, durationMs: settings.trace.summary.meanDurationMs)
            meanMs = try await calibrate(try supervisor(policy: .fixed), function: record.name, payload: payload(probe))
        }
        let plan = command.makePlan(settings, memoryMB: record.memorySize, meanDurationMs: meanMs)
        say(plan.render())

        say("serverless arm: replaying \(settings.trace.arrivals.count) requests over \(String(format: "%.1f", settings.trace.span)) s")
        // The box's own load (kernel threads, other services), taken out of each arm's CPU.
        let idleLoad = await ArmCPU.baseline(seconds: 2)
        /// One arm: a fresh supervisor (a cold state), what `prepare` starts in it, the replay, the
        /// shutdown, and the CPU the box spent meanwhile beyond its idle load.
        func arm(_ kind: ArmReport.Kind, policy: KeepAlivePolicy, environments: Int?,
                 prepare: (Scheduler) async throws -> Void = { _ in }) async throws -> ArmReport {
            let cpu = ArmCPU.now(), started = Date()
            let supervisor = try supervisor(policy: policy)
            try await supervisor.start()
            do {
                try await prepare(supervisor.scheduler)
            } catch {
                await supervisor.shutdown()
                throw error
            }
            let record = await Replay.run(settings.trace, on: SchedulerTarget(scheduler: supervisor.scheduler, function: name, payload: payload),
                                          progress: ProgressBar.update)
            ProgressBar.finish()
            await supervisor.shutdown()
            return ArmReport(arm: kind, policy: kind == .serverless ? policy.description : "always-on", memoryMB: memoryMB,
                             environments: environments, perEnvironment: environments.map { _ in plan.perEnvironment }, record: record,
                             speedup: settings.speedup, traceSeconds: settings.trace.span * settings.speedup,
                             cpuSeconds: max(0, ArmCPU.now() - cpu - idleLoad * Date().timeIntervalSince(started)), pricing: settings.pricing)
        }
        let name = record.name, memoryMB = record.memorySize
        let serverlessReport = try await arm(.serverless, policy: settings.policy, environments: nil)

        say("always-on arm: starting \(plan.environments) environment\(plan.environments == 1 ? "" : "s"), then the same replay")
        let alwaysOnReport = try await arm(.alwaysOn, policy: .fixed, environments: plan.environments) { scheduler in
            do {
                try await scheduler.keepAlwaysOn(FunctionReference(name: name, qualifier: nil), environments: plan.environments,
                                                 perEnvironment: plan.perEnvironment)
            } catch {
                throw HearthError.system("cannot start the always-on environments: \(error)")
            }
        }

        let comparison = Comparison(plan: plan, serverless: serverlessReport, alwaysOn: alwaysOnReport)
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let out = command.out ?? "hearth-compare-\(record.name)-\(stamp)"
        let files = try comparison.write(to: out)
        if command.client.json {
            print(String(decoding: try comparison.json(), as: UTF8.self))
        } else {
            print(comparison.table())
        }
        say("wrote \(files.joined(separator: " and "))")
    }

    /// The mean of five warm runs after a cold one, in ms.
    static func calibrate(_ supervisor: Supervisor, function: String, payload: [UInt8]) async throws -> Double {
        try await supervisor.start()
        var total = 0.0
        do {
            for round in 0..<6 {
                let outcome = try await supervisor.scheduler.invoke(FunctionReference(name: function, qualifier: nil),
                                                                     requestId: UUID().uuidString.lowercased(), payload: payload, clientContext: nil)
                guard case .success = outcome.result.end else {
                    throw HearthError.invalidArgument("\(function) did not run to success when measured (\(outcome.result.end)); fix it or give --environments")
                }
                if round > 0 { total += outcome.result.report.durationMs }
            }
        } catch {
            await supervisor.shutdown()
            throw error
        }
        await supervisor.shutdown()
        return total / 5
    }

    static func say(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}

/// The replay's progress on stderr: a bar redrawn in place on a terminal, a line every 10% otherwise.
enum ProgressBar {
    static let terminal = isatty(2) == 1
    nonisolated(unsafe) static var lastTenth = -1

    @Sendable static func update(_ p: ReplayProgress) {
        let fraction = p.total > 0 ? Double(p.sent) / Double(p.total) : 1
        if terminal {
            let filled = Int(fraction * 30)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
            let text = String(format: "\r[%@] %3.0f%%  %d/%d requests  %.0f/%.0f s", bar, fraction * 100, p.sent, p.total, p.elapsed, p.span)
            FileHandle.standardError.write(Data(text.utf8))
        } else if Int(fraction * 10) > lastTenth {
            lastTenth = Int(fraction * 10)
            FileHandle.standardError.write(Data(String(format: "%3.0f%%  %d/%d requests  %.0f s\n", fraction * 100, p.sent, p.total, p.elapsed).utf8))
        }
    }

    static func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        lastTenth = -1
    }
}

/// The CPU an arm cost the box: busy time from /proc/stat (user, nice, system, irq, softirq) less this
/// process's own (the replay driver) and less the box's idle load, measured before the arms. Per-sandbox figures are not to be had everywhere: v1 hosts often
/// mount cpuacct apart from cpu, and a sandbox's processes killed with its init are reaped unaccounted.
/// The kernel work of starting and tearing down sandboxes is counted, as it is a cost of the arm; other
/// work on the box that changes during the run is counted too, so compare on a quiet box.
enum ArmCPU {
    static func now() -> Double { host() - own() }

    /// CPU seconds per second the box spends with nothing of ours running.
    static func baseline(seconds: Double) async -> Double {
        let before = now()
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        return max(0, (now() - before) / seconds)
    }

    static func host() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 7 else { return 0 }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / (hz > 0 ? hz : 100)
    }

    static func own() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
