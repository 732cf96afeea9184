import ArgumentParser
import Foundation
import HearthSandbox

/// `scripts/bench soak`: the daemon's resident memory and open fds over many warm invocations (flat
/// after warm-up, or something leaks), then the warm p50 alone next to the warm p50 while 1,000 idle
/// connections are open and packages are imported.
struct SoakBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "soak", abstract: "hearth serve's memory and fds over many warm invocations.")

    @Option(help: "Warm invocations in all.") var invocations = 500_000
    @Option(help: "Seconds per round of wrk (RSS and fds are read after each).") var roundSeconds = 10
    @Option(help: "Idle connections held during the loaded p50.") var idleConnections = 1000
    @Option(help: "Repository root (scripts/fixtures).") var repo = FileManager.default.currentDirectoryPath
    @Option(help: "Runtime images (scripts/build-images).") var imagesDir: String?
    @Option(help: "Directory holding the release hearth and hearth-init.") var binDir: String

    func run() throws { try reportingLeaks(measure) }

    private func measure() throws {
        guard geteuid() == 0 else { throw ValidationError("the soak benchmark needs root") }
        for tool in ["wrk", "curl", "cc", "zip"] where shell("command -v \(tool) >/dev/null").0 != 0 {
            throw ValidationError("\(tool) is missing: run scripts/setup")
        }
        let images = imagesDir ?? ProcessInfo.processInfo.environment["HEARTH_IMAGES_DIR"] ?? "/var/lib/hearth/images"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-soak-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work + "/fn", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try run("cc -static -O2 -o \(work)/fn/bootstrap \(repo)/scripts/fixtures/static-runtime.c && cd \(work)/fn && zip -q ../noop.zip bootstrap")
        try "wrk.method = \"POST\"\nwrk.body = \"{}\"\n".write(toFile: work + "/post.lua", atomically: true, encoding: .utf8)
        let daemon = try InvokeBench.Daemon(bin: binDir, work: work, images: images, idle: 0)
        defer { daemon.stop() }
        let hearth = "HEARTH_ENDPOINT=\(daemon.endpoint) \(binDir)/hearth"
        try run("\(hearth) deploy noop --zip \(work)/noop.zip --runtime provided.al2023 --handler x --memory 1769 >/dev/null")
        let url = daemon.endpoint + "/2015-03-31/functions/noop/invocations"

        print("# hearth-bench soak: \(invocations) warm invocations of a no-op function (static runtime), wrk at concurrency 8 in \(roundSeconds) s rounds")
        print("round  invocations  daemon RSS KiB  fds")
        var done = 0, round = 0
        var rows: [(invocations: Int, rss: Int, fds: Int)] = []
        while done < invocations {
            round += 1
            let result = try Wrk.run(url, connections: 8, seconds: roundSeconds, script: work + "/post.lua")
            done += result.requests
            let row = (done, ProcessSample.rssKiB(daemon.pid), ProcessSample.fds(daemon.pid))
            rows.append(row)
            print(String(format: "%-5d  %11d  %14d  %3d", round, row.0, row.1, row.2))
        }
        if rows.count >= 3 {
            // The first round warms up (sandboxes started, allocator arenas grown); from then on the figure is flat.
            let first = rows[1], last = rows[rows.count - 1]
            let bytesPerInvocation = Double(last.rss - first.rss) * 1024 / Double(max(1, last.invocations - first.invocations))
            print(String(format: "after warm-up: RSS %d -> %d KiB over %d invocations (%.2f bytes per invocation); fds %d -> %d",
                         first.rss, last.rss, last.invocations - first.invocations, bytesPerInvocation, first.fds, last.fds))
        }

        // The warm p50 alone, then with idle connections held open and imports running.
        let alone = try Wrk.run(url, connections: 1, seconds: 5, script: work + "/post.lua")
        var zips: [String] = []
        for n in 0..<3 {
            try FileManager.default.createDirectory(atPath: work + "/big\(n)", withIntermediateDirectories: true)
            try run("head -c 20000000 /dev/urandom > \(work)/big\(n)/blob && cp \(work)/fn/bootstrap \(work)/big\(n)/ && cd \(work)/big\(n) && zip -q -0 ../big\(n).zip blob bootstrap")
            zips.append(work + "/big\(n).zip")
        }
        let held = IdleConnections(port: Int(daemon.endpoint.split(separator: ":").last ?? "") ?? 0, count: idleConnections)
        defer { held.close() }
        let imports = Process()
        imports.executableURL = URL(fileURLWithPath: "/bin/sh")
        imports.arguments = ["-c", zips.enumerated().map { "\(hearth) deploy big\($0.offset) --zip \($0.element) --runtime provided.al2023 --handler x >/dev/null" }
            .joined(separator: "; ")]
        try imports.run()
        let loaded = try Wrk.run(url, connections: 1, seconds: 5, script: work + "/post.lua")
        imports.waitUntilExit()
        print(String(format: "warm p50 at concurrency 1: %.0f us alone; %.0f us with %d idle connections open and three 20 MB imports running: %.2fx",
                     alone.p50us, loaded.p50us, held.opened, loaded.p50us / alone.p50us))
        print(String(format: "  p99: %.0f us alone, %.0f us loaded", alone.p99us, loaded.p99us))
    }

    private func run(_ command: String) throws {
        let (status, out) = shell(command)
        guard status == 0 else { throw ValidationError("\(command) failed: \(out)") }
    }
}

/// wrk's figures of one run.
enum Wrk {
    struct Result { var p50us: Double, p99us: Double, rate: Double, requests: Int }

    static func run(_ url: String, connections: Int, seconds: Int, script: String?) throws -> Result {
        var command = "wrk -t\(min(2, connections)) -c\(connections) -d\(seconds)s --latency"
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
        // "123456 requests in 10.00s, ..."
        let requests = out.split(separator: "\n").first { $0.contains(" requests in ") }
            .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") } ?? 0
        if out.contains("Non-2xx") { print("# note: wrk saw non-2xx answers from \(url)") }
        return Result(p50us: latency("50%"), p99us: latency("99%"), rate: rate, requests: requests)
    }
}

/// TCP connections to a port, opened and left idle.
final class IdleConnections {
    private var fds: [Int32] = []
    var opened: Int { fds.count }

    init(port: Int, count: Int) {
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { break }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                Glibc.close(fd)
                break
            }
            fds.append(fd)
        }
    }

    func close() {
        for fd in fds { Glibc.close(fd) }
        fds = []
    }
}
