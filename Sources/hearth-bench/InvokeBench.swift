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
        for c in concurrency {
            let h = try wrk(invokeURL, connections: c, seconds: seconds, script: work + "/post.lua")
            let n = try wrk(nginx.url, connections: c, seconds: seconds, script: nil)
            print(String(format: "%-11d  %13.0f  %6.0f  %-8.0f  %12.0f  %6.0f  %-8.0f  %.2f",
                         c, h.p50us, h.p99us, h.rate, n.p50us, n.p99us, n.rate, h.rate / n.rate))
        }
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
        let plain = try Daemon(bin: binDir, work: work + "/plain", images: images, idle: 0, extra: ["--prepared", "0"])
        defer { plain.stop() }
        let fresh = try coldStarts(daemon: plain, hearth: hearth, zip: work + "/noop.zip", waitForPrepared: false)
        plain.stop()
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
        let systemKiB = Double(after.usedKiB - before.usedKiB) / n
        let daemonKiB = Double(after.daemonRssKiB - before.daemonRssKiB) / n
        let ownKiB = Double(after.sandboxChargedKiB - before.sandboxChargedKiB) / n
        let runtimeKiB = Double(after.runtimeKiB - before.runtimeKiB) / n
        print(String(format: "%d idle sandboxes held (started in %.1f s, %.1f ms each)", idle, startSeconds, startSeconds * 1000 / n))
        print(String(format: "  per sandbox: %.0f KiB of host memory in all; %.0f KiB charged to its cgroup (runtime, Hearth's init, tmpfs, kernel objects on v1); daemon RSS %.0f KiB",
                     systemKiB, ownKiB, daemonKiB))
        print(String(format: "  the runtime process's own memory (anonymous, page tables, kernel stack): %.0f KiB", runtimeKiB))
        print(String(format: "  beyond the runtime's own memory: %.0f KiB (budget: at most 400 KiB); beyond the sandbox's whole cgroup: %.0f KiB",
                     systemKiB - runtimeKiB, systemKiB - ownKiB))
        try sh("\(endpoint) \(hearth) delete idle >/dev/null")
    }

    struct WrkResult { var p50us: Double, p99us: Double, rate: Double }

    /// Pre-built sandboxes per image in the main daemon; cold starts wait until the image has them all.
    static let prepared = 2

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
        let threads = min(2, connections)
        var command = "wrk -t\(threads) -c\(connections) -d\(seconds)s --latency"
        if let script { command += " -s \(script)" }
        let (status, out) = shell(command + " " + url)
        guard status == 0 else { throw ValidationError("wrk failed: \(out)") }
        func latency(_ label: String) -> Double {
            guard let line = out.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }) else { return .nan }
            let value = line.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init) ?? ""
            for (unit, scale) in [("us", 1.0), ("ms", 1000.0), ("s", 1_000_000.0)] where value.hasSuffix(unit) {
                return (Double(value.dropLast(unit.count)) ?? .nan) * scale
            }
            return .nan
        }
        let rate = out.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? .nan
        if out.contains("Non-2xx") { print("# note: wrk saw non-2xx answers from \(url)") }
        return WrkResult(p50us: latency("50%"), p99us: latency("99%"), rate: rate)
    }

    /// `hearth serve` on a free port with its own state.
    final class Daemon {
        let process = Process()
        var endpoint = ""
        var pid: Int32 { process.processIdentifier }

        init(bin: String, work: String, images: String, idle: Int, extra: [String] = []) throws {
            process.executableURL = URL(fileURLWithPath: bin + "/hearth")
            process.arguments = ["serve", "--listen", "127.0.0.1:0", "--socket", "none", "--state-dir", work + "/state", "--images-dir", images,
                                 "--memory-budget", String(max(200_000, (idle + 200) * 128)), "--account-concurrency", String(idle + 200)] + extra
            process.environment = ["HEARTH_RUNTIME_DIR": work + "/run", "PATH": "/usr/bin:/bin"]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            guard let range = line.range(of: "http://127.0.0.1:"), let port = Int(line[range.upperBound...].prefix { $0.isNumber }) else {
                process.terminate()
                throw ValidationError("hearth serve did not start: \(line)")
            }
            endpoint = "http://127.0.0.1:\(port)"
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
    var daemonRssKiB: Int
    var sandboxChargedKiB: Int
    var runtimeKiB: Int

    static func take(daemonPid: Int32) -> MemorySnapshot {
        func field(_ text: String, _ name: String) -> Int {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
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
        return MemorySnapshot(usedKiB: field(meminfo, "MemTotal") - field(meminfo, "MemAvailable"), daemonRssKiB: field(status, "VmRSS"),
                              sandboxChargedKiB: charged, runtimeKiB: runtimesOwnKiB(field))
    }

    /// What the function's runtime processes would take on their own, outside any sandbox: their anonymous
    /// memory, page tables and kernel stacks (16 KiB a thread). They are the children of the sandboxes' inits;
    /// the inits are Hearth's cost, not the runtime's.
    private static func runtimesOwnKiB(_ field: (String, String) -> Int) -> Int {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
        var parent: [Int32: Int32] = [:], isInit: Set<Int32> = []
        for pid in pids {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            if rest.count > 1, let ppid = Int32(rest[1]) { parent[pid] = ppid }
            if let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")),
               cmdline.split(separator: 0).first.map({ String(decoding: $0, as: UTF8.self) }) == "hearth-init" {
                isInit.insert(pid)
            }
        }
        var total = 0
        for (pid, ppid) in parent where isInit.contains(ppid) && !isInit.contains(pid) {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { continue }
            total += field(status, "RssAnon") + field(status, "VmPTE") + 16 * max(1, field(status, "Threads"))
        }
        return total
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

private func sh(_ command: String) throws {
    let (status, out) = shell(command)
    guard status == 0 else { throw ValidationError("'\(command)' failed: \(out)") }
}
