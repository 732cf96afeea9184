#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// `hearth-bench invoke`: the daemon end to end with a no-op function on the
/// static-binary runtime. Warm latency and throughput at concurrency 1, 8 and
/// 64 with wrk, next to nginx answering `return 200` on the same box (the
/// ceiling of one HTTP hop); cold-start latency; memory per idle sandbox with
/// many held (kernel and daemon). One run, side by side.
struct InvokeBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "invoke", abstract: "Warm and cold invocations through hearth serve, versus nginx.")

    @Option(help: "Seconds per wrk run.") var seconds = 10
    @Option(help: "Concurrency levels.") var concurrency: [Int] = [1, 8, 64]
    @Option(help: "Cold starts measured.") var coldRuns = 30
    @Option(help: "Idle sandboxes held for the memory figure.") var idle = 1000
    @Option(help: "Repository root (scripts/fixtures).") var repo = FileManager.default.currentDirectoryPath
    @Option(help: "Runtime images (scripts/build-images).") var imagesDir: String?
    @Option(help: "Directory holding the release hearth and hearth-init.") var binDir: String

    func run() throws { try reportingLeaks(measure) }

    private func measure() throws {
        guard geteuid() == 0 else { throw ValidationError("the invoke benchmark needs root") }
        for tool in ["wrk", "nginx", "curl", "cc", "zip"] where shell("command -v \(tool) >/dev/null").0 != 0 {
            throw ValidationError("\(tool) is missing: run scripts/setup")
        }
        let images = imagesDir ?? ProcessInfo.processInfo.environment["HEARTH_IMAGES_DIR"] ?? "/var/lib/hearth/images"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-invoke-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work + "/fn", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try sh("cc -static -O2 -o \(work)/fn/bootstrap \(repo)/scripts/fixtures/static-runtime.c && cd \(work)/fn && zip -q ../noop.zip bootstrap")
        try "wrk.method = \"POST\"\nwrk.body = \"{}\"\n".write(toFile: work + "/post.lua", atomically: true, encoding: .utf8)

        let nginx = try Nginx(directory: work + "/nginx")
        defer { nginx.stop() }
        let daemon = try Daemon(bin: binDir, work: work, images: images, idle: idle, extra: ["--prepared", String(Self.prepared)])
        defer { daemon.stop() }
        let hearth = binDir + "/hearth"
        let endpoint = "HEARTH_ENDPOINT=\(daemon.endpoint)"
        // 1,769 MB is one vCPU: the platform's overhead is measured, not the CPU share of a smaller function.
        try sh("\(endpoint) \(hearth) deploy noop --zip \(work)/noop.zip --runtime provided.al2023 --handler x --memory 1769 >/dev/null")
        let invokeURL = daemon.endpoint + "/2015-03-31/functions/noop/invocations"

        print("# hearth-bench invoke: a no-op function on the static-binary runtime, wrk \(seconds) s per run")
        print("# warm invocations through hearth serve, next to nginx `return 200` (one HTTP hop)")
        // Warm-up: enough sandboxes for the highest concurrency.
        _ = try wrk(invokeURL, connections: concurrency.max() ?? 1, seconds: 3, script: work + "/post.lua")
        _ = try wrk(nginx.url, connections: concurrency.max() ?? 1, seconds: 2, script: nil)
        print("concurrency  hearth p50 us  p99 us  req/s     nginx p50 us  p99 us  req/s     hearth/nginx req/s")
        var cpu: [(c: Int, hearth: CPUTimes.PerRequest, nginx: CPUTimes.PerRequest, nginxRate: Double)] = []
        for c in concurrency {
            let hearthCPU = CPUTimes(daemon: daemon.pid, nginx: nil)
            let h = try wrk(invokeURL, connections: c, seconds: seconds, script: work + "/post.lua")
            let hearthUsed = hearthCPU.elapsed(requests: h.rate * Double(seconds))
            let nginxCPU = CPUTimes(daemon: nil, nginx: nginx.pid)
            let n = try wrk(nginx.url, connections: c, seconds: seconds, script: nil)
            let nginxUsed = nginxCPU.elapsed(requests: n.rate * Double(seconds))
            print(String(format: "%-11d  %13.0f  %6.0f  %-8.0f  %12.0f  %6.0f  %-8.0f  %.2f",
                         c, h.p50us, h.p99us, h.rate, n.p50us, n.p99us, n.rate, h.rate / n.rate))
            cpu.append((c, hearthUsed, nginxUsed, n.rate))
        }
        print("CPU per request, us (user + system; /proc of hearth serve, of the runtimes and of nginx's workers; wrk's rusage)")
        print("concurrency  hearth serve (user, system)  runtime  wrk    nginx workers  wrk")
        for row in cpu {
            print(String(format: "%-11d  %5.0f (%4.0f, %4.0f)          %7.0f  %5.0f  %13.0f  %5.0f", row.c,
                         row.hearth.daemonUser + row.hearth.daemonSystem, row.hearth.daemonUser, row.hearth.daemonSystem,
                         row.hearth.runtime, row.hearth.loadGenerator, row.nginx.daemonUser + row.nginx.daemonSystem, row.nginx.loadGenerator))
        }
        if let last = cpu.last {
            // At the highest concurrency the CPUs are full. Take away every microsecond of the daemon's own code:
            // the runtime's work, wrk's and the kernel's for the daemon's system calls still fill them at this rate.
            let floorUs = last.hearth.runtime + last.hearth.loadGenerator + last.hearth.daemonSystem
            let ceiling = Double(ProcessInfo.processInfo.activeProcessorCount) * 1e6 / floorUs
            print(String(format: "with no user time in hearth serve at all, concurrency %d could reach at most %.0f invokes/s (%d CPUs / %.0f us of runtime, wrk and the daemon's system time): %.2fx nginx",
                         last.c, ceiling, ProcessInfo.processInfo.activeProcessorCount, floorUs, ceiling / last.nginxRate))
        }
        try functionURL(daemon: daemon, hearth: hearth, invokeURL: invokeURL, nginx: nginx, script: work + "/post.lua")
        // The handler's own time is Lambda's Duration (event handed over until the response is posted), read from
        // the REPORT lines of the same load: a second function with a log of its own, wrk at concurrency 1.
        try sh("\(endpoint) \(hearth) deploy timed --zip \(work)/noop.zip --runtime provided.al2023 --handler x --memory 1769 >/dev/null")
        let timedURL = daemon.endpoint + "/2015-03-31/functions/timed/invocations"
        _ = try wrk(timedURL, connections: 1, seconds: 1, script: work + "/post.lua")  // cold start and warm-up
        let warmedUp = wholeLog(daemon.endpoint, function: "timed").utf8.count
        let timed = try wrk(timedURL, connections: 1, seconds: 3, script: work + "/post.lua")
        let handlerMs = reportDurations(wholeLog(daemon.endpoint, function: "timed", from: warmedUp))
        let handler = Sample(values: handlerMs).median * 1000
        print(String(format: "warm p50 at concurrency 1: %.0f us; the handler's own time (REPORT Duration, median of the %d warm invocations of that run): %.0f us; over it: %.0f us (budget: at most 250 us)",
                     timed.p50us, handlerMs.count, handler, timed.p50us - handler))
        try sh("\(endpoint) \(hearth) delete timed >/dev/null")

        // Cold: each function's first invocation starts a sandbox (start, init, event, answer): specialising a
        // pre-built sandbox of the runtime image here, making a new one in a second daemon started with --prepared 0.
        let withPrepared = try coldStarts(daemon: daemon, hearth: hearth, zip: work + "/noop.zip", waitForPrepared: true)
        try FileManager.default.createDirectory(atPath: work + "/plain", withIntermediateDirectories: true)
        // The second daemon also leaves idle sandboxes unfrozen, for the freeze's cost on the warm path below.
        // A bridge of its own: a daemon that stops takes its bridge with it, and the first daemon goes on.
        let plain = try Daemon(bin: binDir, work: work + "/plain", images: images, idle: 0,
                               extra: ["--prepared", "0", "--no-freeze-idle", "--network-bridge", "hbplain0", "--network-subnet", "10.219.0.0/16"])
        defer { plain.stop() }
        let fresh = try coldStarts(daemon: plain, hearth: hearth, zip: work + "/noop.zip", waitForPrepared: false)
        let (frozen, unfrozen) = try freezeCost(frozen: daemon, unfrozen: plain, hearth: hearth, zip: work + "/noop.zip", script: work + "/post.lua")
        plain.stop()
        print(String(format: "warm p50 at concurrency 1, frozen between invocations (the default): %.0f us; never frozen (--no-freeze-idle): %.0f us; the freeze and thaw add %.0f us (%.2fx)",
                     frozen, unfrozen, frozen - unfrozen, frozen / unfrozen))
        print(String(format: "cold start through the API with a pre-built sandbox: median %.2f ms, p90 %.2f ms (%d runs; budget: at most 5 ms median)",
                     withPrepared.median, withPrepared.p90, withPrepared.values.count))
        print(String(format: "cold start through the API, new sandbox each (--prepared 0): median %.2f ms, p90 %.2f ms; pre-built/new: %.2fx",
                     fresh.median, fresh.p90, withPrepared.median / fresh.median))

        // Memory: provisioned concurrency holds `idle` initialised sandboxes.
        try sh("\(endpoint) \(hearth) delete noop >/dev/null")
        Thread.sleep(forTimeInterval: 1)
        let before = MemorySnapshot.take(daemonPid: daemon.pid)
        let started = Date()
        try sh("\(endpoint) \(hearth) deploy idle --zip \(work)/noop.zip --runtime provided.al2023 --handler x --provisioned \(idle) >/dev/null")
        while true {
            let (_, out) = shell("curl -s '\(daemon.endpoint)/2019-09-30/functions/idle/provisioned-concurrency?Qualifier=1'")
            if out.contains("\"READY\"") { break }
            if Date().timeIntervalSince(started) > 600 { throw ValidationError("provisioned concurrency never became READY: \(out)") }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let startSeconds = Date().timeIntervalSince(started)
        Thread.sleep(forTimeInterval: 2)
        let after = MemorySnapshot.take(daemonPid: daemon.pid)
        let n = Double(idle)
        let kernelKiB = Double(after.kernelAndAnonymousKiB - before.kernelAndAnonymousKiB) / n
        let usedKiB = Double(after.usedKiB - before.usedKiB) / n
        let daemonKiB = Double(after.daemonRssKiB - before.daemonRssKiB) / n
        let ownKiB = Double(after.sandboxChargedKiB - before.sandboxChargedKiB) / n
        let runtimeKiB = Double(after.runtimeKiB - before.runtimeKiB) / n
        print(String(format: "%d idle sandboxes held (started in %.1f s, %.1f ms each)", idle, startSeconds, startSeconds * 1000 / n))
        print(String(format: "  per sandbox: %.0f KiB of kernel and anonymous memory (Slab, PageTables, KernelStack, Percpu, AnonPages); %.0f KiB of host memory in use (MemTotal - MemAvailable)",
                     kernelKiB, usedKiB))
        print(String(format: "  %.0f KiB charged to its cgroup (runtime, Hearth's init, tmpfs, kernel objects on v1); daemon RSS %.0f KiB; the runtime process's own memory (anonymous, page tables, kernel stack): %.0f KiB",
                     ownKiB, daemonKiB, runtimeKiB))
        print(String(format: "  beyond the runtime's own memory: %.0f KiB (budget: at most 400 KiB); by host memory in use: %.0f KiB; beyond the sandbox's whole cgroup: %.0f KiB",
                     kernelKiB - runtimeKiB, usedKiB - runtimeKiB, kernelKiB - ownKiB))
        try sh("\(endpoint) \(hearth) delete idle >/dev/null")
        try crunIdle(count: idle, work: work, daemonPid: daemon.pid, hearthBeyond: (kernel: kernelKiB - runtimeKiB, used: usedKiB - runtimeKiB))
    }

    /// The same warm function through its URL (the URL listener, a payload 2.0 event, Lambda's response mapping)
    /// next to the Invoke API and nginx, runs interleaved so drift in the machine's speed hits all three alike.
    private func functionURL(daemon: Daemon, hearth: String, invokeURL: String, nginx: Nginx, script: String) throws {
        let (status, printed) = shell("HEARTH_ENDPOINT=\(daemon.endpoint) \(hearth) url noop")
        guard status == 0, let line = printed.split(separator: "\n").first, let host = URL(string: String(line))?.host,
              let id = host.split(separator: ".").first else { throw ValidationError("hearth url failed: \(printed)") }
        let url = "http://127.0.0.1:\(daemon.urlPort)/lambda-url/\(id)/"
        _ = try wrk(url, connections: 1, seconds: 1, script: nil)
        print("warm invocations through the function's URL (path form, GET), the Invoke API (POST) and nginx; p50 of 3 interleaved runs each")
        print("concurrency  URL p50 us  Invoke p50 us  URL - Invoke us  nginx p50 us  URL req/s  Invoke req/s  URL/Invoke req/s")
        for c in [1, 64] {
            var u: [WrkResult] = [], i: [WrkResult] = [], n: [WrkResult] = []
            for _ in 0..<3 {
                u.append(try wrk(url, connections: c, seconds: max(2, seconds / 3), script: nil))
                i.append(try wrk(invokeURL, connections: c, seconds: max(2, seconds / 3), script: script))
                n.append(try wrk(nginx.url, connections: c, seconds: max(2, seconds / 3), script: nil))
            }
            func median(_ r: [WrkResult], _ f: (WrkResult) -> Double) -> Double { r.map(f).sorted()[r.count / 2] }
            let up = median(u, \.p50us), ip = median(i, \.p50us), ur = median(u, \.rate), ir = median(i, \.rate)
            print(String(format: "%-11d  %10.0f  %13.0f  %15.0f  %12.0f  %9.0f  %12.0f  %.2f", c, up, ip, up - ip, median(n, \.p50us), ur, ir, ur / ir))
        }
        print("budget: a function URL adds at most 50 us to a warm invoke's p50 compared with the Invoke API")
    }

    /// The peer's cost for the same isolation: `count` idle crun containers (busybox sleep, a 128 MB memory
    /// limit, the namespaces and masks of a Hearth sandbox), measured as Hearth's idle sandboxes were.
    private func crunIdle(count: Int, work: String, daemonPid: Int32, hearthBeyond: (kernel: Double, used: Double)) throws {
        var skipped: String?
        guard let crun = CrunPeer.make(skipped: &skipped) else { return print("crun idle containers: \(skipped ?? "skipped")") }
        defer { crun.close() }
        let bundle = work + "/crun"
        try makeBusyboxRootfs(bundle + "/rootfs", applets: ["sleep"])
        // sleep's argument marks the containers' processes.
        let mark = String(86_400 + Int(getpid()))
        let ids = (0..<count).map { "hb-idle-\(getpid())-\($0)" }
        let configs = try ids.map { try crun.writeConfig(bundle: bundle, cgroup: $0, args: ["/bin/sleep", mark], memoryMB: 128, pids: 1024) }
        Thread.sleep(forTimeInterval: 1)
        let before = MemorySnapshot.take(daemonPid: daemonPid)
        let started = Date()
        var failed = 0
        for (id, config) in zip(ids, configs) {
            if !crun.run(["run", "--detach", "--bundle", bundle, "--config", config, id]) { failed += 1 }
        }
        let startSeconds = Date().timeIntervalSince(started)
        defer {
            for id in ids { crun.run(["delete", "--force", id]) }
            // A killed container's process and network namespace go a moment after crun returns.
            poll(times: 100, every: 0.1) { MemorySnapshot.processes(withArguments: ["/bin/sleep", mark]).isEmpty }
        }
        Thread.sleep(forTimeInterval: 2)
        let after = MemorySnapshot.take(daemonPid: daemonPid)
        let held = MemorySnapshot.processes(withArguments: ["/bin/sleep", mark])
        guard failed == 0, held.count == count else {
            return print("crun idle containers: \(failed) of \(count) failed to start, \(held.count) running: not measured")
        }
        let n = Double(count)
        let usedKiB = Double(after.usedKiB - before.usedKiB) / n
        let kernelKiB = Double(after.kernelAndAnonymousKiB - before.kernelAndAnonymousKiB) / n
        let processKiB = Double(MemorySnapshot.ownKiB(of: held)) / n
        print(String(format: "crun, the same isolation: %d idle containers of busybox sleep (started in %.1f s, %.1f ms each)", count, startSeconds, startSeconds * 1000 / n))
        print(String(format: "  per container: %.0f KiB of kernel and anonymous memory; %.0f KiB of host memory in use; the process's own memory %.0f KiB",
                     kernelKiB, usedKiB, processKiB))
        print(String(format: "  beyond the process's own memory: %.0f KiB; by host memory in use: %.0f KiB", kernelKiB - processKiB, usedKiB - processKiB))
        print(String(format: "hearth/crun, memory per idle sandbox beyond the runtime's own: %.2f; by host memory in use: %.2f",
                     hearthBeyond.kernel / (kernelKiB - processKiB), hearthBeyond.used / (usedKiB - processKiB)))
    }

    struct WrkResult { var p50us: Double, p99us: Double, rate: Double }

    /// Pre-built sandboxes per image in the main daemon; cold starts wait until the image has them all.
    static let prepared = 2

    /// Warm p50 at concurrency 1 on a daemon that freezes idle sandboxes and on one that does not, in five
    /// interleaved 2 s rounds each (the median of each one's p50s): at concurrency 1 every invocation thaws
    /// its sandbox and freezes it again.
    private func freezeCost(frozen: Daemon, unfrozen: Daemon, hearth: String, zip: String, script: String) throws -> (Double, Double) {
        for daemon in [frozen, unfrozen] {
            try sh("HEARTH_ENDPOINT=\(daemon.endpoint) \(hearth) deploy freeze --zip \(zip) --runtime provided.al2023 --handler x --memory 1769 >/dev/null")
            _ = try wrk(daemon.endpoint + "/2015-03-31/functions/freeze/invocations", connections: 1, seconds: 1, script: script)
        }
        var p50s: ([Double], [Double]) = ([], [])
        for _ in 0..<5 {
            p50s.0.append(try wrk(frozen.endpoint + "/2015-03-31/functions/freeze/invocations", connections: 1, seconds: 2, script: script).p50us)
            p50s.1.append(try wrk(unfrozen.endpoint + "/2015-03-31/functions/freeze/invocations", connections: 1, seconds: 2, script: script).p50us)
        }
        for daemon in [frozen, unfrozen] { try sh("HEARTH_ENDPOINT=\(daemon.endpoint) \(hearth) delete freeze >/dev/null") }
        return (Sample(values: p50s.0).median, Sample(values: p50s.1).median)
    }

    /// Times the first invocation of `coldRuns` new functions, with curl; deletes them after.
    private func coldStarts(daemon: Daemon, hearth: String, zip: String, waitForPrepared: Bool) throws -> Sample {
        let endpoint = "HEARTH_ENDPOINT=\(daemon.endpoint)"
        var times: [Double] = []
        // One function first, so the runtime image is imported and (with pre-building) stocked.
        for i in -1..<coldRuns {
            try sh("\(endpoint) \(hearth) deploy cold\(i + 1) --zip \(zip) --runtime provided.al2023 --handler x >/dev/null")
            if waitForPrepared && i >= 0 {
                // Steady state: the image's pre-built sandboxes are back after the previous start.
                poll(times: 400, every: 0.01) { shell("curl -s \(daemon.endpoint)/hearth/v1/status").1.contains("\"prepared\":\(Self.prepared)") }
            }
            let (status, out) = shell("curl -s -o /dev/null -w '%{time_total}' -X POST --data '{}' \(daemon.endpoint)/2015-03-31/functions/cold\(i + 1)/invocations")
            guard status == 0, let seconds = Double(out.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw ValidationError("cold invoke failed: \(out)") }
            if i >= 0 { times.append(seconds * 1000) }
        }
        for i in 0...coldRuns { try sh("\(endpoint) \(hearth) delete cold\(i) >/dev/null") }
        return Sample(values: times)
    }

    /// A function's log from `offset` to its end, read through the API a chunk at a time (it must stay under the 8 MB rotation).
    private func wholeLog(_ endpoint: String, function: String, from offset: Int = 0) -> String {
        var text = ""
        for _ in 0..<64 {
            let (status, chunk) = shell("curl -s '\(endpoint)/hearth/v1/functions/\(function)/logs?offset=\(offset + text.utf8.count)'")
            guard status == 0, !chunk.isEmpty else { break }
            text += chunk
        }
        return text
    }

    /// Duration (ms) of every warm invocation's REPORT line (cold ones carry an Init Duration).
    private func reportDurations(_ log: String) -> [Double] {
        log.split(separator: "\n").filter { $0.hasPrefix("REPORT") && !$0.contains("Init Duration") }.compactMap { line in
            line.split(separator: "\t").first { $0.hasPrefix("Duration: ") }
                .flatMap { Double($0.dropFirst("Duration: ".count).split(separator: " ").first ?? "") }
        }
    }

    private func wrk(_ url: String, connections: Int, seconds: Int, script: String?) throws -> WrkResult {
        let result = try Wrk.run(url, connections: connections, seconds: seconds, script: script)
        return WrkResult(p50us: result.p50us, p99us: result.p99us, rate: result.rate)
    }

    /// `hearth serve` on a free port with its own state.
    final class Daemon {
        let process = Process()
        var endpoint = ""
        var urlPort = 0
        var pid: Int32 { process.processIdentifier }

        init(bin: String, work: String, images: String, idle: Int, extra: [String] = []) throws {
            process.executableURL = URL(fileURLWithPath: bin + "/hearth")
            process.arguments = ["serve", "--listen", "127.0.0.1:0", "--url-listen", "127.0.0.1:0", "--socket", "none", "--state-dir", work + "/state", "--images-dir", images,
                                 "--memory-budget", String(max(200_000, (idle + 200) * 128)), "--account-concurrency", String(idle + 200)] + extra
            process.environment = ["HEARTH_RUNTIME_DIR": work + "/run", "PATH": "/usr/bin:/bin"]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            var line = ""
            // Two lines: the API's address, then the URL listener's.
            while !line.contains("function URLs on http://127.0.0.1:") || !line.hasSuffix("\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line += String(decoding: chunk, as: UTF8.self)
            }
            guard let range = line.range(of: "http://127.0.0.1:"), let port = Int(line[range.upperBound...].prefix { $0.isNumber }),
                  let urls = line.range(of: "function URLs on http://127.0.0.1:"), let urlPort = Int(line[urls.upperBound...].prefix { $0.isNumber }) else {
                process.terminate()
                throw ValidationError("hearth serve did not start: \(line)")
            }
            endpoint = "http://127.0.0.1:\(port)"
            self.urlPort = urlPort
            out.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
        }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// nginx answering 200 on a free port, two workers.
    final class Nginx {
        let process = Process()
        let url: String
        var pid: Int32 { process.processIdentifier }

        init(directory: String) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let port = Int.random(in: 20_000..<40_000)
            url = "http://127.0.0.1:\(port)/"
            try """
                daemon off; worker_processes 2; pid \(directory)/nginx.pid; error_log \(directory)/error.log;
                events { worker_connections 4096; }
                http { access_log off; client_body_temp_path \(directory); proxy_temp_path \(directory); fastcgi_temp_path \(directory);
                       uwsgi_temp_path \(directory); scgi_temp_path \(directory);
                       server { listen 127.0.0.1:\(port); location / { return 200 '{}'; } } }
                """.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
            process.arguments = ["-c", directory + "/nginx.conf", "-p", directory]
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            poll(times: 50, every: 0.1) { shell("curl -s -o /dev/null \(url)").0 == 0 }
        }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// Host memory in use, the daemon's RSS, what sandbox cgroups are charged, and the runtimes' own memory.
struct MemorySnapshot {
    var usedKiB: Int
    /// Slab, PageTables, KernelStack, Percpu and AnonPages: steadier than MemAvailable between runs.
    var kernelAndAnonymousKiB: Int
    var daemonRssKiB: Int
    var sandboxChargedKiB: Int
    var runtimeKiB: Int

    /// Reclaimable slab (dentries and inodes, which the kernel frees under pressure) is dropped first,
    /// so that the sum counts what the kernel cannot give back.
    static func take(daemonPid: Int32) -> MemorySnapshot {
        if let file = fopen("/proc/sys/vm/drop_caches", "w") {
            fputs("2\n", file)
            fclose(file)
        }
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let status = (try? String(contentsOfFile: "/proc/\(daemonPid)/status", encoding: .utf8)) ?? ""
        // Every sandbox cgroup (sb-<hex>) in the memory hierarchy: v1 usage_in_bytes, or v2 memory.current.
        var charged = 0
        let (_, out) = shell("find /sys/fs/cgroup -name 'sb-*' -type d \\( -path '*/memory/*' -o -path '/sys/fs/cgroup/sb-*' -o -path '/sys/fs/cgroup/*/sb-*' \\) 2>/dev/null")
        for dir in out.split(separator: "\n") {
            for file in ["memory.usage_in_bytes", "memory.current"] {
                if let text = try? String(contentsOfFile: dir + "/" + file, encoding: .utf8), let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    charged += bytes / 1024
                    break
                }
            }
        }
        let kernel = ["Slab", "PageTables", "KernelStack", "Percpu", "AnonPages"].reduce(0) { $0 + field(meminfo, $1) }
        return MemorySnapshot(usedKiB: field(meminfo, "MemTotal") - field(meminfo, "MemAvailable"), kernelAndAnonymousKiB: kernel,
                              daemonRssKiB: field(status, "VmRSS"),
                              sandboxChargedKiB: charged, runtimeKiB: ownKiB(of: ProcessTable.read().runtimes))
    }

    /// A "Name:   value kB" line's number, from /proc/meminfo or a /proc/PID/status; 0 when absent.
    private static func field(_ text: String, _ name: String) -> Int {
        text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
    }

    /// The processes whose whole argument list is `arguments`.
    static func processes(withArguments arguments: [String]) -> [Int32] {
        ProcessTable.read().entries.filter { $0.value.arguments == arguments }.map(\.key)
    }

    /// Anonymous memory, page tables and kernel stacks (16 KiB a thread) of `pids`.
    static func ownKiB(of pids: [Int32]) -> Int {
        pids.reduce(0) { total, pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return total }
            return total + field(status, "RssAnon") + field(status, "VmPTE") + 16 * max(1, field(status, "Threads"))
        }
    }
}

/// Checks `condition` up to `times` times, `every` seconds apart, and stops at the first success
/// (a `for ... where` loop would go on evaluating it).
func poll(times: Int, every seconds: Double, _ condition: () -> Bool) {
    for _ in 0..<times {
        if condition() { return }
        Thread.sleep(forTimeInterval: seconds)
    }
}

/// Runs `command` with /bin/sh and returns its exit status and output (stdout and stderr).
/// popen, not Foundation's Process: Process.waitUntilExit once hung here for minutes
/// after its child had exited.
@discardableResult
func shell(_ command: String) -> (Int32, String) {
    guard let stream = popen(command + " 2>&1", "r") else { return (-1, "popen failed: \(String(cString: strerror(errno)))") }
    var output = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, stream) }
        if n == 0 { break }
        output += buffer[0..<n]
    }
    let status = pclose(stream)
    return (status == -1 ? -1 : (status >> 8) & 0xFF, String(decoding: output, as: UTF8.self))
}

func sh(_ command: String) throws {
    let (status, out) = shell(command)
    guard status == 0 else { throw ValidationError("'\(command)' failed: \(out)") }
}
