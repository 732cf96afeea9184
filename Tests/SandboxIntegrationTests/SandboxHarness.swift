import Foundation
import HearthCgroups
import HearthModel
import HearthSandbox
import Synchronization
import XCTest

/// Shared set-up for tests that start real sandboxes: root, a test rootfs made
/// of the static busybox and the probe, and an engine with its own runtime
/// directory. Everything is removed again by `tearDown`.
final class SandboxHarness: @unchecked Sendable {
    let engine: SandboxEngine
    let rootfs: String
    let runtimeDirectory: String
    let buildDirectory: URL

    struct Captured {
        var exit: SandboxExit
        var stdout: String
        var stderr: String

        /// probe's "key=value" lines.
        var values: [String: String] {
            var out: [String: String] = [:]
            for line in stdout.split(separator: "\n") {
                if let eq = line.firstIndex(of: "=") { out[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
            }
            return out
        }
    }

    /// Returns nil (and the reason) when this machine cannot run sandboxes.
    /// - Parameter disks: /tmp on a disk of its own (`EphemeralDisks`), as the daemon gives sandboxes.
    static func make(prepared: Int = 0, cgroups: (any CgroupManager)? = nil, disks: Bool = false) throws -> SandboxHarness {
        guard geteuid() == 0 else { throw XCTSkip("sandbox integration tests need root (running as uid \(geteuid()))") }
        guard FileManager.default.isExecutableFile(atPath: "/bin/busybox") else {
            throw XCTSkip("/bin/busybox is missing: run scripts/setup (package busybox-static)")
        }
        return try SandboxHarness(prepared: prepared, cgroups: cgroups, disks: disks)
    }

    static let defaultLimits = ResourceLimits(memoryMB: 256, pids: 256, tmpSizeMB: 16)

    private init(prepared: Int, cgroups: (any CgroupManager)?, disks: Bool) throws {
        // The XCTest runner lives in the build directory, next to the executables it tests.
        buildDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let probe = buildDirectory.appendingPathComponent("hearth-probe").path
        let initPath = buildDirectory.appendingPathComponent("hearth-init").path
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-it-\(getpid())-\(UUID().uuidString.prefix(8))").path
        rootfs = base + "/rootfs"
        runtimeDirectory = base + "/run"
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: rootfs + "/bin", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: runtimeDirectory, withIntermediateDirectories: true)
            try fm.copyItem(atPath: "/bin/busybox", toPath: rootfs + "/bin/busybox")
            try fm.copyItem(atPath: probe, toPath: rootfs + "/bin/probe")
            for applet in ["sh", "true", "cat", "echo", "sleep", "ls", "id", "hostname", "dd", "yes", "df", "stat", "awk", "grep", "wc", "tail"] {
                try fm.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
            }
            // Everything in a package is world-readable, as Lambda makes it.
            chmod(base, 0o755)
            engine = try SandboxEngine(
                cgroups: cgroups ?? CgroupDetector.currentManager(), runtime: RuntimeDirectory(path: runtimeDirectory), initPath: initPath,
                prepared: prepared > 0 ? (prepared, Self.defaultLimits) : nil,
                ephemeralDisks: disks ? EphemeralDisks(directory: base + "/disks") : nil)
        } catch {
            try? fm.removeItem(atPath: base)
            throw error
        }
    }

    func tearDown() {
        engine.shutdown()
        engine.cgroups.releaseIfUnused()
        try? FileManager.default.removeItem(atPath: (rootfs as NSString).deletingLastPathComponent)
    }

    func spec(_ command: [String], limits: ResourceLimits = SandboxHarness.defaultLimits,
              environment: [(String, String)] = []) -> SandboxSpec {
        SandboxSpec(id: SandboxIdentity.newID(), layers: [rootfs], command: command, environment: environment,
                    hostname: "probe-host", limits: limits, uid: 1_000_050_000, gid: 1_000_050_000)
    }

    /// Runs a command to completion and returns what it printed.
    func run(_ command: [String], limits: ResourceLimits = SandboxHarness.defaultLimits,
             onStart: ((RunningSandbox) -> Void)? = nil) throws -> Captured {
        let (sandbox, collect) = try start(spec(command, limits: limits))
        onStart?(sandbox)
        let exit = sandbox.wait()
        let (out, err) = collect()
        try sandbox.destroy()
        return Captured(exit: exit, stdout: out, stderr: err)
    }

    /// The host's resources once the sandboxes' parent cgroups exist (they live as long as the harness,
    /// so one sandbox is run first): what a test that starts more must find again at its end.
    func settledResources() throws -> HostResources {
        let warm = try run(["/bin/true"])
        guard warm.exit.status == .exited(0) else { throw HearthError.system("a first sandbox failed: \(warm.exit)") }
        return HostResources.take()
    }

    func start(_ spec: SandboxSpec) throws -> (RunningSandbox, () -> (String, String)) {
        try captured { stdio in try engine.start(spec, stdio: stdio) }
    }

    /// Runs `make` with stdout and stderr pipes (stdin /dev/null) and returns what it made with a
    /// function that reads both pipes to their end.
    func captured<T>(_ make: (SandboxEngine.Stdio) throws -> T) throws -> (T, () -> (String, String)) {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw XCTSkip("pipe failed") }
        let devNull = open("/dev/null", O_RDONLY)
        defer { close(devNull) }
        let value: T
        do {
            value = try make(.init(stdin: devNull, stdout: outPipe[1], stderr: errPipe[1]))
        } catch {
            for fd in outPipe + errPipe { close(fd) }
            throw error
        }
        close(outPipe[1])
        close(errPipe[1])
        let out = Collector(fd: outPipe[0]), err = Collector(fd: errPipe[0])
        return (value, { (out.finish(), err.finish()) })
    }
}

/// Reads a pipe to EOF on a background thread.
final class Collector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32) {
        Thread {
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }.start()
    }

    func finish() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Children of this process that exited and were never reaped.
func zombieChildren() -> Int {
    let me = getpid()
    var count = 0
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(entry) != nil {
        guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        if fields.count > 1, fields[0] == "Z", Int32(fields[1]) == me { count += 1 }
    }
    return count
}

/// Host processes whose command line contains `marker`.
func hostProcesses(containing marker: String) -> [Int32] {
    let fm = FileManager.default
    var found: [Int32] = []
    for entry in (try? fm.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(entry), pid != getpid(),
              let data = fm.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
        let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        if args.contains(marker) { found.append(pid) }
    }
    return found
}

/// Whether `name` appears in a running sandbox's /tmp (seen through /proc/PID/root) within `seconds`:
/// how a test's script says it got somewhere.
func sandboxTmpHas(_ sandbox: RunningSandbox, _ name: String, within seconds: Double = 10) -> Bool {
    eventually(within: seconds) { FileManager.default.fileExists(atPath: "/proc/\(sandbox.pid)/root/tmp/" + name) }
}

/// Whether `condition` holds within `seconds`, checked every 20 ms.
func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() >= deadline { return false }
        usleep(20_000)
    }
    return true
}

/// PIDs of held sandboxes' inits still waiting, started by `parent`: a child whose command line is
/// "hearth-init" alone (specialised ones keep it) and that has no child of its own yet; once there
/// are `count` of them (at most 10 s), since an init execs hearth-init after `prebuild` has
/// returned, and on a loaded machine that can take a while.
func heldInits(of parent: Int32, count: Int) -> [Int32] {
    var inits: [Int32] = []
    _ = eventually(within: 10) {
        inits = waitingInits(of: parent)
        return inits.count >= count
    }
    return inits
}

private func waitingInits(of parent: Int32) -> [Int32] {
    let fm = FileManager.default
    return ((try? fm.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
        guard let pid = Int32(entry), fm.contents(atPath: "/proc/\(entry)/cmdline") == Data("hearth-init\0".utf8),
              let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
              status.split(separator: "\n").contains("PPid:\t\(parent)"),
              fm.contents(atPath: "/proc/\(entry)/task/\(entry)/children")?.isEmpty == true else { return nil }
        return pid
    }
}

/// Base of the integration test classes: one harness per class, made in class
/// set-up and torn down after the class's last test. Tests call `h()`, which
/// rethrows the set-up error (an XCTSkip with its reason when there is no root).
class SandboxTestCase: XCTestCase {
    nonisolated(unsafe) static var harness: SandboxHarness?
    nonisolated(unsafe) static var setupError: Error?

    override class func setUp() {
        setupError = nil
        do { harness = try SandboxHarness.make() } catch { setupError = error }
    }

    override class func tearDown() {
        harness?.tearDown()
        harness = nil
    }

    /// Skips (with the reason) before the test body runs, when the class could not set up.
    override func setUpWithError() throws {
        if let error = Self.setupError { throw error }
    }

    func h() throws -> SandboxHarness {
        if let error = Self.setupError { throw error }
        return try XCTUnwrap(Self.harness)
    }
}

/// Runs a program to its end with `stdin` and `environment`; what it printed on each stream.
func runCLI(_ executable: URL, _ args: [String], stdin: String? = nil, environment: [String: String]) throws -> CLIOutput {
    let task = Process()
    task.executableURL = executable
    task.arguments = args
    task.environment = environment
    let out = Pipe(), err = Pipe(), input = Pipe()
    task.standardOutput = out
    task.standardError = err
    task.standardInput = input
    try task.run()
    input.fileHandleForWriting.write(Data((stdin ?? "").utf8))
    try input.fileHandleForWriting.close()
    // stderr on its own thread, so a full pipe on either stream cannot stall the other.
    let errData = Mutex(Data())
    let errDone = DispatchSemaphore(value: 0)
    Thread {
        let data = err.fileHandleForReading.readDataToEndOfFile()
        errData.withLock { $0 = data }
        errDone.signal()
    }.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    errDone.wait()
    task.waitUntilExit()
    return CLIOutput(status: task.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                     stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
}

/// What the `hearth` executable printed and returned.
struct CLIOutput {
    var status: Int32
    var stdout: String
    var stderr: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any] ?? [:] }
}

extension SandboxHarness {
    /// Runs the built `hearth` as a user would, with this harness's runtime and state directories.
    func hearthCLI(_ args: [String], stdin: String? = nil) throws -> CLIOutput {
        try runCLI(buildDirectory.appendingPathComponent("hearth"), args, stdin: stdin, environment: [
            "HEARTH_RUNTIME_DIR": runtimeDirectory, "HEARTH_STATE_DIR": runtimeDirectory + "/state",
            "HEARTH_IMAGES_DIR": RuntimeImages.directory, "PATH": "/usr/bin:/bin"])
    }
}

/// A command that keeps running (`hearth logs --follow`), its stdout collected as it comes.
final class FollowedOutput: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var collected = Data()

    init(_ executable: URL, _ args: [String], environment: [String: String]) throws {
        process.executableURL = executable
        process.arguments = args
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.collected.append(data) }
        }
        try process.run()
    }

    var text: String { lock.withLock { String(decoding: collected, as: UTF8.self) } }
    var isRunning: Bool { process.isRunning }

    /// Whether `condition` held on the output within 15 s.
    func wait(_ condition: (String) -> Bool) -> Bool { eventually(within: 15) { condition(text) } }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
