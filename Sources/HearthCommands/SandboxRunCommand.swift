import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import HearthModel
import HearthPackages
import HearthSandbox

/// `hearth sandbox run`: one command in a fresh sandbox, its output streamed, its status returned.
public struct SandboxRunCommand: ParsableCommand {
    // The super-command's name matters only when this command is parsed alone (hearth's main does so for a
    // well-formed sandbox run), and there it skips ArgumentParser's completion-script check: two more
    // parsers' worth of conformance lookups. Help and completions go through the root, which has them.
    public static let configuration = CommandConfiguration(
        commandName: "run",
        _superCommandName: "hearth sandbox",
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
    var memory: Int = 512

    @Option(help: "Wall-clock limit in seconds.")
    var timeout: Double?

    @Option(help: "Maximum number of processes and threads.")
    var pids: Int = 1024

    @Option(name: .customLong("tmp-size"), help: "Size of the writable /tmp in MB.")
    var tmpSize: Int = 512

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

    var commandLine: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    public func run() throws {
        let spec: SandboxSpec
        do {
            spec = try makeSpec()
            try spec.validate()
            if let rootfs {
                let path = spec.environment.last(where: { $0.0 == "PATH" })?.1 ?? SandboxSpec.defaultPath
                try CommandResolver.check(command: spec.command[0], rootfs: rootfs, path: path)
            }
        } catch let error as HearthError {
            printError("hearth: \(error)")
            throw ExitCode(SandboxExitCode.usage)
        } catch let error as PackageError {
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
        guard (rootfs == nil) != (image == nil) else {
            throw HearthError.invalidArgument("give exactly one of --rootfs DIR and --image PATH")
        }
        var env: [(String, String)] = []
        for pair in environment {
            guard let eq = pair.firstIndex(of: "=") else {
                throw HearthError.invalidArgument("--env expects KEY=VALUE, got '\(pair)'")
            }
            env.append((String(pair[..<eq]), String(pair[pair.index(after: eq)...])))
        }
        var layers: [String] = []
        var binds: [SandboxSpec.BindMount] = []
        var config = ImageConfig()
        if let rootfs {
            var given = stat(), hostRoot = stat()
            if stat(rootfs, &given) == 0, stat("/", &hostRoot) == 0, given.st_dev == hostRoot.st_dev, given.st_ino == hostRoot.st_ino {
                throw HearthError.rootfs("the host's own root filesystem is never a sandbox root; give a directory holding one")
            }
            layers = [rootfs.hasPrefix("/") ? rootfs : (currentDirectory() + "/" + rootfs)]
        }
        if image != nil || zip != nil || !self.layers.isEmpty {
            let store = try PackageStore(root: Self.stateDirectory(stateDirectory) + "/store")
            let assembled = try PackageAssembler(store: store).assemble(image: image, zip: zip, layers: self.layers)
            layers += assembled.rootLayers
            binds = assembled.binds
            config = assembled.config
        }
        // docker run's rules: arguments replace CMD, ENTRYPOINT stays; --env overrides the image's ENV.
        let line = config.command(overriding: commandLine)
        guard !line.isEmpty else {
            throw HearthError.invalidArgument(image == nil ? "no command given: hearth sandbox run --rootfs DIR -- COMMAND [ARGS...]"
                                                         : "the image has no ENTRYPOINT or CMD: give a command after --")
        }
        var merged = try config.environment()
        for (key, value) in env {
            merged.removeAll { $0.0 == key }
            merged.append((key, value))
        }
        let ids = SandboxIdentity.oneShot()
        return SandboxSpec(
            id: SandboxIdentity.newID(), layers: layers, binds: binds, command: line, environment: merged,
            workingDirectory: workdir ?? config.workingDir ?? "/", hostname: "hearth",
            limits: ResourceLimits(memoryMB: memory, timeoutSeconds: timeout, pids: pids, tmpSizeMB: tmpSize),
            uid: ids.uid, gid: ids.gid)
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

    private func currentDirectory() -> String {
        guard let path = getcwd(nil, 0) else { return "/" }
        defer { free(path) }
        return String(decoding: UnsafeRawBufferPointer(start: path, count: strlen(path)), as: UTF8.self)
    }
}

public func printError(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}
