#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation

/// `hearth-bench compare`: whether `hearth compare`'s driver keeps up with its trace. The release
/// `hearth compare` replays steady:RATE against a no-op function (a static-binary runtime), both arms,
/// and its JSON says how late each request left (driverLag); next to it, the floor: a bare thread
/// sleeping to the same deadlines with clock_nanosleep(TIMER_ABSTIME), how late the kernel wakes it.
struct CompareBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compare", abstract: "hearth compare's replay driver: its lag at a high rate.")

    @Option(help: "Requests per second.") var rate = 2000
    @Option(help: "Seconds per arm.") var seconds = 10
    @Option(help: "Always-on environments.") var environments = 4
    @Option(help: "Repository root (scripts/fixtures).") var repo = FileManager.default.currentDirectoryPath
    @Option(help: "Runtime images (scripts/build-images).") var imagesDir: String?
    @Option(help: "Directory holding the release hearth and hearth-init.") var binDir: String

    func run() throws { try reportingLeaks(measure) }

    private func measure() throws {
        guard geteuid() == 0 else { throw ValidationError("the compare benchmark needs root") }
        let images = imagesDir ?? ProcessInfo.processInfo.environment["HEARTH_IMAGES_DIR"] ?? "/var/lib/hearth/images"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-compare-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work + "/fn", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try sh("cc -static -O2 -o \(work)/fn/bootstrap \(repo)/scripts/fixtures/static-runtime.c && cd \(work)/fn && zip -q ../noop.zip bootstrap")

        let floor = timerFloor(rate: rate, seconds: seconds)
        // Its progress on stderr is dropped here (shell() folds stderr into what it returns).
        let (status, out) = shell("(HEARTH_IMAGES_DIR=\(images) \(binDir)/hearth compare --zip \(work)/noop.zip --runtime provided.al2023 "
                                  + "--handler x --memory 1769 --trace steady:\(rate) --duration \(seconds)s --environments \(environments) "
                                  + "--out \(work)/report --json 2>/dev/null)")
        guard status == 0, let json = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] else {
            throw ValidationError("hearth compare failed (\(status)): \(out.suffix(800))")
        }
        print("# hearth-bench compare: hearth compare replaying steady:\(rate) for \(seconds) s per arm against a no-op function (1769 MB,")
        print("# static-binary runtime); lag = how late the driver sent each request. Floor: a bare thread sleeping to the same deadlines.")
        print("driver                          requests  lag p50 ms  lag p99 ms  lag max ms  p99 / floor p99")
        print(String(format: "%-30@  %8d  %10.3f  %10.3f  %10.3f  %15@", "floor (clock_nanosleep)", floor.count, floor.percentile(50),
                     floor.percentile(99), floor.values.max() ?? .nan, "1.00"))
        for arm in ["serverless", "alwaysOn"] {
            guard let report = json[arm] as? [String: Any], let lag = report["driverLag"] as? [String: Double] else { continue }
            let p99 = lag["p99Ms"] ?? .nan
            print(String(format: "%-30@  %8d  %10.3f  %10.3f  %10.3f  %15.2f", "hearth compare, \(arm == "alwaysOn" ? "always-on" : arm)",
                         report["requests"] as? Int ?? 0, lag["p50Ms"] ?? .nan, p99, lag["maxMs"] ?? .nan, p99 / floor.percentile(99)))
        }
        for arm in ["serverless", "alwaysOn"] {
            guard let report = json[arm] as? [String: Any], let latency = report["latency"] as? [String: Double] else { continue }
            print(String(format: "# %@: latency p50 %.2f ms, p99 %.2f ms; %d cold starts, %d throttles", arm, latency["p50Ms"] ?? .nan,
                         latency["p99Ms"] ?? .nan, report["coldStarts"] as? Int ?? 0, report["throttles"] as? Int ?? 0))
        }
    }

    /// How late a thread wakes for deadlines `1/rate` apart (ms).
    func timerFloor(rate: Int, seconds: Int) -> Sample {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let startNs = Int64(start.tv_sec) * 1_000_000_000 + Int64(start.tv_nsec)
        let count = rate * seconds
        var lags: [Double] = []
        lags.reserveCapacity(count)
        for i in 0..<count {
            let due = startNs + Int64(i) * 1_000_000_000 / Int64(rate)
            var deadline = timespec(tv_sec: Int(due / 1_000_000_000), tv_nsec: Int(due % 1_000_000_000))
            _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil)
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            lags.append(Double(Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec) - due) / 1e6)
        }
        return Sample(values: lags)
    }
}

extension Sample {
    var count: Int { values.count }
}
