import ArgumentParser
import CBenchSupport
import Foundation
import HearthCgroups
import HearthModel
import HearthSandbox

/// `hearth-bench sandbox`: wall time to start and finish `busybox true` in a full
/// Hearth sandbox, next to a bare process, unshare, bubblewrap, crun and runc on
/// the same rootfs, interleaved in one run; then creation rates with concurrent loops.
struct SandboxBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sandbox", abstract: "Sandbox start-up versus its peers.")

    @Option(help: "Timed runs per method.") var runs = 60
    @Option(help: "Untimed warm-up runs per method.") var warmups = 5
    @Option(help: "Seconds per creation-rate measurement.") var rateSeconds = 3.0
    @Option(help: "Path of hearth-init.") var initPath: String?
    @Option(help: "Path of the hearth CLI, timed as a whole `hearth sandbox run` command (as crun run is).") var hearthPath: String?
    @Option(help: "Slots (cgroup and network namespace) prepared ahead for the 'hearth prepared' row.") var prepared = 4
    @Option(help: "Only these methods (comma-separated names as printed), e.g. for profiling.") var only: String?

    func run() throws { try reportingLeaks(measure) }

    /// Everything measured; its defers have run when the leak check looks.
    private func measure() throws {
        guard geteuid() == 0 else { throw ValidationError("the sandbox benchmark needs root") }
        let workspace = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-\(getpid())").path
        let rootfs = workspace + "/bundle/rootfs"
        try makeBusyboxRootfs(rootfs, applets: ["true"])
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let cgroups = try CgroupDetector.currentManager()
        let runtime = try RuntimeDirectory(path: workspace + "/run")
        let initBinary = try initPath ?? InitBinary.locate()
        let cold = try SandboxEngine(cgroups: cgroups, runtime: runtime, initPath: initBinary)
        let warm = try SandboxEngine(cgroups: cgroups, runtime: runtime, initPath: initBinary,
                                     prepared: prepared > 0 ? (prepared, Self.limits) : nil)
        // What the freezer's cgroup costs a start where it is a hierarchy of its own (v1, hybrid).
        let unfrozenCgroups = try CgroupDetector.currentManager(v1Freezer: false)
        let unfrozen = try SandboxEngine(cgroups: unfrozenCgroups, runtime: runtime, initPath: initBinary)
        defer {
            warm.shutdown()
            cold.shutdown()
            unfrozen.shutdown()
            cgroups.releaseIfUnused()
        }
        warm.slots?.waitUntilFull()
        var (methods, notes) = try buildMethods(cold: cold, prepared: warm, unfrozen: cgroups.kind == "v2" ? nil : unfrozen, rootfs: rootfs,
                                                bundle: workspace + "/bundle")
        if let only {
            let wanted = Set(only.split(separator: ",").map(String.init))
            methods = methods.filter { wanted.contains($0.name) }
        }
        defer { Self.peer?.close() }

        print("# Sandbox start: `busybox true`, \(runs) runs each after \(warmups) warm-ups, interleaved in a new random order each round")
        print("# host: \(hostDescription()); cgroups: \(cgroups.kind)")
        for note in notes { print("# \(note)") }
        print("")

        for m in methods { for i in 0..<warmups { _ = m.run(-1 - i) } }
        var samples = [String: [Double]]()
        var failures = [String: Int]()
        // A new order every round: what ran just before a start (a peer's cgroup joins, say) changes its cost
        // (a cgroup join waits for an RCU grace period when none ran for a while), so no method always follows the same one.
        var order = RoundOrder(count: methods.count)
        for round in 0..<runs {
            for k in order.next() {
                let m = methods[k]
                let t0 = DispatchTime.now().uptimeNanoseconds
                let ok = m.run(round)
                let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                if ok { samples[m.name, default: []].append(ms) } else { failures[m.name, default: 0] += 1 }
            }
        }

        print("| method | median ms | p90 ms | failed runs |")
        print("|---|---|---|---|")
        for m in methods {
            let s = Sample(values: samples[m.name] ?? [])
            print("| \(m.name) | \(formatMs(s.median)) | \(formatMs(s.p90)) | \(failures[m.name] ?? 0) |")
        }
        print("")
        if let cli = samples[Self.cliRow].map({ Sample(values: $0) }), let crun = samples["crun"].map({ Sample(values: $0) }) {
            print(String(format: "%@/crun run: median ratio %.3f (budget: at most 1), p90 ratio %.3f", Self.cliRow, cli.median / crun.median,
                         cli.p90 / crun.p90))
        }
        for name in Self.hearthRows where samples[name] != nil {
            let hearth = Sample(values: samples[name] ?? [])
            if let crun = samples["crun"].map({ Sample(values: $0) }) {
                print(String(format: "%@/crun: median ratio %.3f (budget: at most 0.35), p90 ratio %.3f", name, hearth.median / crun.median, hearth.p90 / crun.p90))
            }
            if let bare = samples["bare posix_spawn"].map({ Sample(values: $0).median }) {
                print(String(format: "%@ - bare median: %.2f ms", name, hearth.median - bare))
            }
            let phases = phaseTimes[name] ?? PhaseTimes()
            let names = ["start", "run (init, command, exit)", "teardown"]
            print("  phases, median ms: " + names.enumerated().map { "\($0.element) \(formatMs(Sample(values: phases.values($0.offset)).median))" }.joined(separator: "; "))
            print("  start, median ms:  " + StartTimings.names.enumerated().map { "\($0.element) \(formatMs(Sample(values: phases.startValues($0.offset)).median))" }.joined(separator: "; "))
            print("  start, p90 ms:     " + StartTimings.names.enumerated().map { "\($0.element) \(formatMs(Sample(values: phases.startValues($0.offset)).p90))" }.joined(separator: "; "))
        }

        print("")
        print("# Creation rate (runs/s, whole box), \(rateSeconds) s per measurement")
        print("| method | 1 loop | 2 loops |")
        print("|---|---|---|")
        var rates = [String: Double]()
        for m in methods where Self.hearthRows.contains(m.name) || m.name == "crun" {
            let one = rate(m, loops: 1), two = rate(m, loops: 2)
            rates[m.name] = two
            print("| \(m.name) | \(String(format: "%.0f", one)) | \(String(format: "%.0f", two)) |")
        }
        for name in Self.hearthRows {
            if let h = rates[name], let c = rates["crun"] {
                print(String(format: "%@/crun rate at 2 loops: %.2fx (budget: at least 2x)", name, h / c))
            }
        }
    }

    private func rate(_ method: Method, loops: Int) -> Double {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(rateSeconds * 1e9)
        let counts = LoopCounts(loops)
        let group = DispatchGroup()
        let start = DispatchTime.now().uptimeNanoseconds
        for loop in 0..<loops {
            group.enter()
            Thread {
                var n = 0
                while DispatchTime.now().uptimeNanoseconds < deadline {
                    if method.run(1_000_000 * (loop + 1) + n) { n += 1 }
                }
                counts.set(loop, n)
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(counts.total) / elapsed
    }

    nonisolated(unsafe) private static var peer: CrunPeer?
    static let limits = ResourceLimits(memoryMB: 512, pids: 1024, tmpSizeMB: 64)
    private static let hearthRows = ["hearth", "hearth prepared", "hearth, no freezer"]
    /// The one-shot CLI, process start included.
    static let cliRow = "hearth sandbox run"
    private static let phaseTimesByRow = ["hearth": PhaseTimes(), "hearth prepared": PhaseTimes(), "hearth, no freezer": PhaseTimes()]
    private var phaseTimes: [String: PhaseTimes] { Self.phaseTimesByRow }

    private func buildMethods(cold: SandboxEngine, prepared: SandboxEngine, unfrozen: SandboxEngine?, rootfs: String,
                              bundle: String) throws -> ([Method], [String]) {
        var methods: [Method] = []
        var notes: [String] = []
        let truePath = rootfs + "/bin/true"
        methods.append(commandMethod("bare posix_spawn", path: truePath, arguments: { _ in [] }))

        if let unshare = which("unshare") {
            methods.append(commandMethod("unshare pid,mnt,uts,ipc,net,cgroup", path: unshare,
                                         arguments: { _ in ["-fpmuinC", "--root", rootfs, "/bin/true"] }))
        } else { notes.append("unshare not installed: skipped (util-linux)") }

        if let bwrap = which("bwrap") {
            methods.append(commandMethod("bubblewrap +net", path: bwrap, arguments: { _ in
                ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup",
                 "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"]
            }))
        } else { notes.append("bwrap not installed: skipped (bubblewrap)") }

        var skipped: String?
        if let crun = CrunPeer.make(skipped: &skipped) {
            Self.peer = crun
            notes += crun.notes
            // A configuration (and so a cgroup) per loop of the rate measurement, which runs two at once.
            let configs = try (0...2).map { try crun.writeConfig(bundle: bundle, cgroup: "loop\($0)", args: ["/bin/true"], memoryMB: 512, pids: 1024) }
            let pid = getpid()
            methods.append(commandMethod("crun", path: crun.path, arguments: { i in
                ["run", "--bundle", bundle, "--config", configs[max(0, min(2, i / 1_000_000))], "hb-crun-\(pid)-\(i)"]
            }, mountNamespace: crun.mountNamespace))
            if let runc = which("runc") {
                let config = try crun.writeConfig(bundle: bundle, cgroup: "runc", args: ["/bin/true"], memoryMB: 512, pids: 1024)
                try FileManager.default.moveItem(atPath: config, toPath: bundle + "/config.json")
                methods.append(commandMethod("runc", path: runc, arguments: { i in ["run", "--bundle", bundle, "hb-runc-\(pid)-\(i)"] }))
            } else { notes.append("runc not installed: skipped") }
        } else { notes.append(skipped ?? "crun skipped") }

        if let hearthPath {
            methods.append(commandMethod(Self.cliRow, path: hearthPath, arguments: { _ in
                ["sandbox", "run", "--rootfs", rootfs, "--memory", "512", "--pids", "1024", "--tmp-size", "64", "--", "/bin/true"]
            }))
        }

        let ids = SandboxIdentity.oneShot()
        for (name, engine) in [("hearth", cold), ("hearth prepared", prepared)] + (unfrozen.map { [("hearth, no freezer", $0)] } ?? []) {
            let phases = phaseTimes[name] ?? PhaseTimes()
            methods.append(Method(name: name) { index in
                let devnull = open("/dev/null", O_RDWR | O_CLOEXEC)
                defer { close(devnull) }
                let spec = SandboxSpec(id: SandboxIdentity.newID(), layers: [rootfs], command: ["/bin/true"],
                                       limits: Self.limits, uid: ids.uid, gid: ids.gid)
                let t0 = DispatchTime.now().uptimeNanoseconds
                guard let sandbox = try? engine.start(spec, stdio: .init(stdin: devnull, stdout: devnull, stderr: devnull)) else { return false }
                let t1 = DispatchTime.now().uptimeNanoseconds
                let exit = sandbox.wait()
                let t2 = DispatchTime.now().uptimeNanoseconds
                let destroyed = (try? sandbox.destroy()) != nil
                let t3 = DispatchTime.now().uptimeNanoseconds
                if index >= 0 && index < 1_000_000 {
                    phases.record([t1 - t0, t2 - t1, t3 - t2], start: sandbox.startTimings.values)
                }
                return destroyed && exit.status == .exited(0)
            })
        }
        notes.append("hearth is timed in-process (start, wait, teardown); the others as whole commands")
        if unfrozen != nil {
            notes.append("hearth, no freezer: as hearth, without the v1 freezer hierarchy's cgroup that lets the supervisor freeze an idle sandbox (its cost on the start path)")
        }
        notes.append("hearth: cgroup and network namespace made on the start path; hearth prepared: taken from \(self.prepared) slots made ahead on a background thread while no start runs (as the supervisor will), each used once; their cost is off the start path but counted in the rate")
        return (methods, notes)
    }

    private func hostDescription() -> String {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "Linux \(release), \(ProcessInfo.processInfo.activeProcessorCount) CPUs"
    }
}

/// Per-loop run counts, each written once by its own thread and read after all have finished.
final class LoopCounts: @unchecked Sendable {
    private var counts: [Int]
    private let lock = NSLock()
    init(_ loops: Int) { counts = Array(repeating: 0, count: loops) }
    func set(_ loop: Int, _ n: Int) { lock.withLock { counts[loop] = n } }
    var total: Int { lock.withLock { counts.reduce(0, +) } }
}

/// Per-phase durations of Hearth's runs.
final class PhaseTimes: @unchecked Sendable {
    private var samples: [[Double]] = [[], [], []]
    private var start: [[Double]] = Array(repeating: [], count: StartTimings.names.count)
    private let lock = NSLock()
    func record(_ ns: [UInt64], start ms: [Double]) {
        lock.withLock {
            for (i, v) in ns.enumerated() { samples[i].append(Double(v) / 1e6) }
            for (i, v) in ms.enumerated() { start[i].append(v) }
        }
    }
    func values(_ phase: Int) -> [Double] { lock.withLock { samples[phase] } }
    func startValues(_ step: Int) -> [Double] { lock.withLock { start[step] } }
}

/// A shuffled order of `count` methods for each round, from a fixed seed (runs are comparable).
struct RoundOrder {
    let count: Int
    private var state: UInt64 = 0x9E37_79B9_7F4A_7C15

    init(count: Int) { self.count = count }

    mutating func next() -> [Int] {
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            // splitmix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            order.swapAt(i, Int(z % UInt64(i + 1)))
        }
        return order
    }
}
