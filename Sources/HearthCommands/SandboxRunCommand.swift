import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import HearthModel
import HearthSandbox

/// `hearth sandbox run`: one command in a fresh sandbox, its output streamed, its status returned.
public struct SandboxRunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one command in a fresh sandbox.",
        discussion: """
            Exit status: the command's own (128+N if killed by signal N); 121 it failed at the pids limit; \
            122 out of memory; 124 timeout; 125 the sandbox could not be created; 2 bad usage.
            """)

    @Option(help: "Root filesystem directory (mounted read-only).")
    var rootfs: String

    @Option(help: "Memory limit in MB; also sets the CPU share (1769 MB = one vCPU).")
    var memory: Int = 512

    @Option(help: "Wall-clock limit in seconds.")
    var timeout: Double?

    @Option(help: "Maximum number of processes and threads.")
    var pids: Int = 1024

    @Option(name: .customLong("tmp-size"), help: "Size of the writable /tmp in MB.")
    var tmpSize: Int = 512

    @Option(name: .customLong("env"), help: "Environment variable KEY=VALUE (repeatable).")
    var environment: [String] = []

    @Option(help: "Working directory inside the sandbox.")
    var workdir: String = "/"

    @Argument(parsing: .captureForPassthrough, help: "-- COMMAND [ARGS...]")
    var command: [String] = []

    public init() {}

    var commandLine: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    public func run() throws {
        let spec: SandboxSpec
        do {
            spec = try makeSpec()
            try spec.validate()
            let path = spec.environment.last(where: { $0.0 == "PATH" })?.1 ?? SandboxSpec.defaultPath
            try CommandResolver.check(command: spec.command[0], rootfs: rootfs, path: path)
        } catch let error as HearthError {
            printError("hearth: \(error)")
            throw ExitCode(SandboxExitCode.usage)
        }
        let exit: SandboxExit
        do {
            exit = try SandboxRunner.run(spec)
        } catch let error as HearthError {
            printError("hearth: \(error)")
            throw ExitCode(SandboxExitCode.sandboxFailure)
        }
        throw ExitCode(Self.report(exit, limits: spec.limits))
    }

    func makeSpec() throws -> SandboxSpec {
        let line = commandLine
        guard !line.isEmpty else { throw HearthError.invalidArgument("no command given: hearth sandbox run --rootfs DIR -- COMMAND [ARGS...]") }
        var env: [(String, String)] = []
        for pair in environment {
            guard let eq = pair.firstIndex(of: "=") else {
                throw HearthError.invalidArgument("--env expects KEY=VALUE, got '\(pair)'")
            }
            env.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
        }
        let rootPath = rootfs.hasPrefix("/") ? rootfs : (currentDirectory() + "/" + rootfs)
        let ids = SandboxIdentity.oneShot()
        return SandboxSpec(
            id: SandboxIdentity.newID(), layers: [rootPath], command: line, environment: env,
            workingDirectory: workdir, hostname: "hearth",
            limits: ResourceLimits(memoryMB: memory, timeoutSeconds: timeout, pids: pids, tmpSizeMB: tmpSize),
            uid: ids.uid, gid: ids.gid)
    }

    /// One line on stderr naming the limit that ended the run; returns the exit code.
    static func report(_ exit: SandboxExit, limits: ResourceLimits) -> Int32 {
        switch exit.limit {
        case .timeout(let seconds):
            printError("hearth: timeout: killed after \(formatSeconds(seconds)) seconds")
            return SandboxExitCode.timeout
        case .outOfMemory(let mb):
            printError("hearth: out of memory: the memory limit of \(mb) MB was reached and the sandbox was killed")
            return SandboxExitCode.outOfMemory
        case .pidsLimit(let max):
            printError("hearth: pids limit: the limit of \(max) processes was reached (\(exit.stats.pidsLimitHits) forks refused)")
            return SandboxExitCode.pidsLimit
        case nil:
            return exit.shellStatus
        }
    }

    static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }

    private func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        return getcwd(&buffer, buffer.count) != nil ? String(cString: buffer) : "/"
    }
}

public func printError(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
