#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// `hearth-bench async`: the durable queue. Events accepted per second (each synced to disk before its
/// 202) at concurrency 1 and 64 with wrk, next to the same daemon's synchronous Invoke of the same
/// function and, where installed, Redis appending every LPUSH with fsync (appendfsync always): the
/// usual durable queue on one box. Then the time from acceptance to the function's start with a warm
/// sandbox free (events paced 20 ms apart), from the daemon's hearth_async_start_delay_seconds.
struct AsyncBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "async", abstract: "Durable Event invocations: accept rate and start delay.")

    @Option(help: "Seconds per wrk run.") var seconds = 10
    @Option(help: "Concurrency levels.") var concurrency: [Int] = [1, 64]
    @Option(help: "Repository root (scripts/fixtures).") var repo = FileManager.default.currentDirectoryPath
    @Option(help: "Runtime images (scripts/build-images).") var imagesDir: String?
    @Option(help: "Directory holding the release hearth and hearth-init.") var binDir: String

    func run() throws { try reportingLeaks(measure) }

    private func measure() throws {
        guard geteuid() == 0 else { throw ValidationError("the async benchmark needs root") }
        for tool in ["wrk", "curl", "cc", "zip"] where shell("command -v \(tool) >/dev/null").0 != 0 {
            throw ValidationError("\(tool) is missing: run scripts/setup")
        }
        let images = imagesDir ?? ProcessInfo.processInfo.environment["HEARTH_IMAGES_DIR"] ?? "/var/lib/hearth/images"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-async-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work + "/fn", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try run("cc -static -O2 -o \(work)/fn/bootstrap \(repo)/scripts/fixtures/static-runtime.c && cd \(work)/fn && zip -q ../noop.zip bootstrap")
        let event = work + "/event.lua", sync = work + "/sync.lua", paced = work + "/paced.lua"
        try "wrk.method = \"POST\"\nwrk.body = \"{}\"\nwrk.headers[\"X-Amz-Invocation-Type\"] = \"Event\"\n"
            .write(toFile: event, atomically: true, encoding: .utf8)
        try "wrk.method = \"POST\"\nwrk.body = \"{}\"\n".write(toFile: sync, atomically: true, encoding: .utf8)
        try "wrk.method = \"POST\"\nwrk.body = \"{}\"\nwrk.headers[\"X-Amz-Invocation-Type\"] = \"Event\"\nfunction delay() return 20 end\n"
            .write(toFile: paced, atomically: true, encoding: .utf8)

        let daemon = try InvokeBench.Daemon(bin: binDir, work: work, images: images, idle: 0)
        defer { daemon.stop() }
        let hearth = binDir + "/hearth"
        try run("HEARTH_ENDPOINT=\(daemon.endpoint) \(hearth) deploy noop --zip \(work)/noop.zip --runtime provided.al2023 --handler x --memory 1769 >/dev/null")
        let url = daemon.endpoint + "/2015-03-31/functions/noop/invocations"
        _ = try Wrk.run(url, connections: 64, seconds: 3, script: sync)  // warm sandboxes for every level
        let redis = RedisPeer.start(directory: work + "/redis")
        defer { redis?.stop() }

        print("# hearth-bench async: Event invocations of a no-op function (static-binary runtime), wrk \(seconds) s per run")
        print("# each event is synced to disk (SQLite WAL, synchronous=FULL, group commit) before its 202; the function runs meanwhile")
        print("concurrency  Event accepted/s  p50 us  p99 us   sync Invoke/s  Event/sync   redis LPUSH fsync/s  Event/redis")
        for c in concurrency {
            let accepted = try Wrk.run(url, connections: c, seconds: seconds, script: event)
            try drain(daemon.endpoint)
            let direct = try Wrk.run(url, connections: c, seconds: seconds, script: sync)
            let peer = redis?.lpushRate(connections: c, seconds: seconds)
            print(String(format: "%-11d  %16.0f  %6.0f  %6.0f   %13.0f  %10.2f   %19@  %11@", c, accepted.rate, accepted.p50us, accepted.p99us,
                         direct.rate, accepted.rate / direct.rate, peer.map { String(format: "%.0f", $0) } ?? "-",
                         peer.map { String(format: "%.2f", accepted.rate / $0) } ?? "-"))
        }
        if redis == nil { print("redis: not installed (scripts/setup installs redis-server): no peer figure") }

        // Start delay with a sandbox free: events 20 ms apart on one connection.
        let before = try histogram(daemon.endpoint)
        let pacedRun = try Wrk.run(url, connections: 1, seconds: seconds, script: paced)
        try drain(daemon.endpoint)
        let after = try histogram(daemon.endpoint)
        let delta = zip(after.counts, before.counts).map { $0 - $1 }
        let total = (after.count - before.count)
        let p50 = Self.quantile(0.5, bounds: after.bounds, cumulative: delta, total: total)
        let within5 = zip(after.bounds, delta).first { $0.0 == 0.005 }.map { Double($0.1) / Double(max(1, total)) } ?? 0
        print(String(format: "acceptance to first attempt's start, events 20 ms apart (%d events, 202 p50 %.0f us): p50 %.2f ms (from the histogram's buckets); within 5 ms: %.1f%% (budget: p50 under 5 ms)",
                     total, pacedRun.p50us, p50 * 1000, within5 * 100))
    }

    /// Waits until the queue holds nothing.
    private func drain(_ endpoint: String) throws {
        for _ in 0..<600 {
            let (_, out) = shell("curl -s \(endpoint)/hearth/v1/status")
            let object = (try? JSONSerialization.jsonObject(with: Data(out.utf8))) as? [String: Any]
            let queue = object?["queue"] as? [String: Any]
            if (queue?["queued"] as? [String: Any])?.isEmpty == true, queue?["running"] as? Int == 0 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw ValidationError("the event queue did not drain in 120 s")
    }

    struct Histogram { var bounds: [Double], counts: [Int], count: Int }

    /// hearth_async_start_delay_seconds for noop: cumulative bucket counts and the total.
    private func histogram(_ endpoint: String) throws -> Histogram {
        let (_, text) = shell("curl -s \(endpoint)/metrics")
        var bounds: [Double] = [], counts: [Int] = [], count = 0
        for line in text.split(separator: "\n") where line.hasPrefix("hearth_async_start_delay_seconds") && line.contains("function=\"noop\"") {
            guard let value = line.split(separator: " ").last.flatMap({ Int($0) }) else { continue }
            if line.hasPrefix("hearth_async_start_delay_seconds_count") { count = value }
            if let r = line.range(of: "le=\""), let end = line[r.upperBound...].firstIndex(of: "\""), let bound = Double(line[r.upperBound..<end]) {
                bounds.append(bound)
                counts.append(value)
            }
        }
        return Histogram(bounds: bounds, counts: counts, count: count)
    }

    /// The `q` quantile by linear interpolation inside the bucket that holds it.
    static func quantile(_ q: Double, bounds: [Double], cumulative: [Int], total: Int) -> Double {
        let target = q * Double(total)
        var lower = 0.0, below = 0
        for (bound, count) in zip(bounds, cumulative) {
            if Double(count) >= target, count > below {
                return lower + (bound - lower) * (target - Double(below)) / Double(count - below)
            }
            lower = bound
            below = count
        }
        return lower
    }

    private func run(_ command: String) throws {
        let (status, out) = shell(command)
        guard status == 0 else { throw ValidationError("\(command) failed: \(out)") }
    }
}

/// redis-server on a free port with an append-only file synced after every write: the durable peer.
final class RedisPeer {
    let process = Process()
    let port = Int.random(in: 40_000..<50_000)

    static func start(directory: String) -> RedisPeer? {
        guard shell("command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null").0 == 0 else { return nil }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let peer = RedisPeer()
        peer.process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        peer.process.arguments = ["--port", String(peer.port), "--bind", "127.0.0.1", "--dir", directory, "--appendonly", "yes",
                                  "--appendfsync", "always", "--save", "", "--daemonize", "no"]
        peer.process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        do { try peer.process.run() } catch { return nil }
        poll(times: 50, every: 0.1) { shell("redis-cli -p \(peer.port) ping 2>/dev/null").1.contains("PONG") }
        return peer
    }

    /// LPUSHes per second over `connections` connections for about `seconds`.
    func lpushRate(connections: Int, seconds: Int) -> Double? {
        let requests = max(2000, connections * 200 * seconds)
        let (status, out) = shell("redis-benchmark -p \(port) -c \(connections) -n \(requests) -t lpush -q")
        // -q prints progress lines ("LPUSH: rps=...") before the summary ("LPUSH: 81300.81 requests per second, ...").
        guard status == 0, let r = out.range(of: "LPUSH: ", options: .backwards) else { return nil }
        return Double(out[r.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
