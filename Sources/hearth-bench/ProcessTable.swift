#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The box's processes from /proc: parent, argument list and CPU time of each.
struct ProcessTable {
    struct Entry {
        var parent: Int32
        var arguments: [String]
        /// utime and stime, in clock ticks.
        var userTicks: Int
        var systemTicks: Int
    }

    var entries: [Int32: Entry]

    static func read() -> ProcessTable {
        var entries: [Int32: Entry] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // "pid (comm) state ppid ...", utime and stime the 14th and 15th fields: comm may hold spaces, so split after its closing parenthesis.
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            guard rest.count > 12, let ppid = Int32(rest[1]), let user = Int(rest[11]), let system = Int(rest[12]) else { continue }
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            let arguments = cmdline.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
            entries[pid] = Entry(parent: ppid, arguments: arguments, userTicks: user, systemTicks: system)
        }
        return ProcessTable(entries: entries)
    }

    /// The functions' runtimes: the children of Hearth's inits (which are Hearth's cost, not the runtime's).
    var runtimes: [Int32] {
        let inits = Set(entries.filter { $0.value.arguments.first == "hearth-init" }.map(\.key))
        return entries.filter { inits.contains($0.value.parent) && !inits.contains($0.key) }.map(\.key)
    }

    func children(of pid: Int32) -> [Int32] {
        entries.filter { $0.value.parent == pid }.map(\.key)
    }

    /// User and system seconds of `pids` (those still running).
    func cpuSeconds(_ pids: [Int32]) -> (user: Double, system: Double) {
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        return pids.reduce((0, 0)) { sum, pid in
            guard let entry = entries[pid] else { return sum }
            return (sum.0 + Double(entry.userTicks) / tick, sum.1 + Double(entry.systemTicks) / tick)
        }
    }
}

/// CPU time spent during a load run by the server under test, the function runtimes and the load
/// generator (wrk, a waited-for child of this process, so counted in RUSAGE_CHILDREN).
struct CPUTimes {
    struct PerRequest {
        /// Microseconds per request.
        var daemonUser: Double, daemonSystem: Double, runtime: Double, loadGenerator: Double
    }

    private let server: [Int32]
    private let serverStart: (user: Double, system: Double)
    private let runtimeStart: [Int32: Double]
    private let childrenStart: Double

    /// - Parameters: daemon: Hearth's daemon, whose runtimes are counted too; nginx: nginx's master, whose
    ///   workers are counted.
    init(daemon: Int32?, nginx: Int32?) {
        let table = ProcessTable.read()
        server = (daemon.map { [$0] } ?? []) + (nginx.map { table.children(of: $0) } ?? [])
        serverStart = table.cpuSeconds(server)
        var runtimes: [Int32: Double] = [:]
        if daemon != nil {
            for pid in table.runtimes {
                let cpu = table.cpuSeconds([pid])
                runtimes[pid] = cpu.user + cpu.system
            }
        }
        runtimeStart = runtimes
        childrenStart = Self.childrenSeconds()
    }

    /// Per request, over `requests` served since `init`. Runtimes started meanwhile count from zero.
    func elapsed(requests: Double) -> PerRequest {
        let table = ProcessTable.read()
        let serverNow = table.cpuSeconds(server)
        var runtime = 0.0
        if !runtimeStart.isEmpty {
            for pid in table.runtimes {
                let cpu = table.cpuSeconds([pid])
                runtime += cpu.user + cpu.system - (runtimeStart[pid] ?? 0)
            }
        }
        let scale = 1e6 / max(1, requests)
        return PerRequest(daemonUser: (serverNow.user - serverStart.user) * scale,
                          daemonSystem: (serverNow.system - serverStart.system) * scale,
                          runtime: runtime * scale, loadGenerator: (Self.childrenSeconds() - childrenStart) * scale)
    }

    private static func childrenSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
