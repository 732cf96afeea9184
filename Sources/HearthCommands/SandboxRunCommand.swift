import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import HearthModel
import HearthPackages
import HearthSandbox

/// `hearth sandbox run`: one command in a fresh sandbox, its output streamed, its status returned.
public struct SandboxRunCommand: ParsableCommand {
    // hearth's main parses a well-formed one as `SandboxRunOptions` without ArgumentParser; these
    // declarations are for everything else (help, completions, usage errors) and must name the same
    // options (`SandboxRunOptionsTests`).
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one command in a fresh sandbox.",
        discussion: """
            Exit status: the command's own (128+N if killed by signal N); 121 it failed at the pids limit; \
            122 out of memory; 124 timeout; 125 the sandbox could not be created; 2 bad usage.
            """)

    @Option(help: "Root filesystem directory (mounted read-only).")
    var rootfs: String?

    @Option(help: "Container image: an OCI layout directory (DIR or DIR:TAG), an OCI archive or a docker save tarball.")
    var image: String?

    @Option(help: "Lambda zip package, mounted read-only at /var/task.")
    var zip: String?

    @Option(name: .customLong("layer"), help: "Lambda layer zip, mounted at /opt; later layers on top (repeatable).")
    var layers: [String] = []

    @Option(name: .customLong("state-dir"), help: "Where imported packages are kept (default: HEARTH_STATE_DIR or /var/lib/hearth).")
    var stateDirectory: String?

    @Option(help: "Memory limit in MB; also sets the CPU share (1769 MB = one vCPU).")
    var memory: Int = SandboxRunOptions().memory

    @Option(help: "Wall-clock limit in seconds.")
    var timeout: Double?

    @Option(help: "Maximum number of processes and threads.")
    var pids: Int = SandboxRunOptions().pids

    @Option(name: .customLong("tmp-size"), help: "Size of the writable /tmp in MB.")
    var tmpSize: Int = SandboxRunOptions().tmpSize

    @Option(name: .customLong("env"), help: "Environment variable KEY=VALUE (repeatable).")
    var environment: [String] = []

    @Option(help: "Working directory inside the sandbox (default: the image's WORKDIR, else /).")
    var workdir: String?

    @Argument(parsing: .captureForPassthrough, help: "-- COMMAND [ARGS...]")
    var command: [String] = []

    public init() {}

    public func validate() throws {
        // The command line after the options is captured for passthrough, --help included: asked for
        // before any command, it is this command's help.
        if command.first == "--help" || command.first == "-h" { throw CleanExit.helpRequest(self) }
    }

    /// What was asked for, as plain values.
    var options: SandboxRunOptions {
        var options = SandboxRunOptions()
        options.rootfs = rootfs
        options.image = image
        options.zip = zip
        options.layers = layers
        options.stateDirectory = stateDirectory
        options.memory = memory
        options.timeout = timeout
        options.pids = pids
        options.tmpSize = tmpSize
        options.environment = environment
        options.workdir = workdir
        options.command = command.first == "--" ? Array(command.dropFirst()) : command
        return options
    }

    public func run() throws {
        throw ExitCode(Self.execute(options))
    }

    /// Runs the sandbox the options describe; returns hearth's exit status, after saying on stderr why
    /// when it is not the command's own.
    public static func execute(_ options: SandboxRunOptions) -> Int32 {
        let spec: SandboxSpec
        do {
            spec = try options.makeSpec()
            try spec.validate()
            if let rootfs = options.rootfs {
                let path = spec.environment.last(where: { $0.0 == "PATH" })?.1 ?? SandboxSpec.defaultPath
                try CommandResolver.check(command: spec.command[0], rootfs: rootfs, path: path)
            }
        } catch let error as HearthError {
            printError("hearth: \(error)")
            return SandboxExitCode.usage
        } catch let error as PackageError {
            printError("hearth: \(error)")
            return SandboxExitCode.usage
        } catch {
            printError("hearth: \(error)")
            return EXIT_FAILURE
        }
        do {
            return report(try SandboxRunner.run(spec), limits: spec.limits)
        } catch {
            printError("hearth: \(error)")
            return SandboxExitCode.sandboxFailure
        }
    }

    /// The runtime images a one-shot command uses: --images-dir, else HEARTH_IMAGES_DIR, else the daemon's default.
    static func imagesDirectory(_ option: String?) -> String {
        option ?? getenv("HEARTH_IMAGES_DIR").map { String(cString: $0) } ?? "/var/lib/hearth/images"
    }

    static func stateDirectory(_ option: String?) throws -> String {
        let path = option ?? getenv("HEARTH_STATE_DIR").map { String(cString: $0) } ?? "/var/lib/hearth"
        guard path.hasPrefix("/") else { throw HearthError.invalidArgument("the state directory must be an absolute path: \(path)") }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw HearthError.system("cannot create the state directory \(path): \(String(cString: strerror(errno)))")
        }
        return path
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
}

public func printError(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
