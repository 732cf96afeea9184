#if canImport(Glibc)
import Glibc
#endif
import HearthModel
import HearthPackages
import HearthSandbox

/// What `hearth sandbox run` was asked for, as plain values: from ArgumentParser (`SandboxRunCommand`),
/// or on the fast path from `init?(wellFormed:)`.
public struct SandboxRunOptions: Equatable, Sendable {
    public var rootfs: String?
    public var image: String?
    public var zip: String?
    public var layers: [String] = []
    public var stateDirectory: String?
    public var memory = 512
    public var timeout: Double?
    public var pids = 1024
    public var tmpSize = 512
    public var environment: [String] = []
    public var workdir: String?
    /// The command and its arguments, without the `--` before them.
    public var command: [String] = []

    public init() {}

    /// Parses a well-formed command line without ArgumentParser: known long options, each with its value
    /// (`--name value` or `--name=value`), then `--` and the command. Nil for anything else (help, an
    /// unknown or repeated option, a value that is missing, empty, looks like an option or is not a
    /// number), which ArgumentParser then parses and reports as usual. Its first parse in an executable
    /// this size costs ~2 ms of protocol-conformance scans, a seventh of a `hearth sandbox run`.
    public init?(wellFormed arguments: [String]) {
        guard let dashes = arguments.firstIndex(of: "--") else { return nil }
        var seen: [Substring] = []
        var index = 0
        while index < dashes {
            let word = arguments[index]
            guard word.hasPrefix("--") else { return nil }
            let name: Substring, value: String
            if let equals = word.firstIndex(of: "=") {
                name = word[word.index(word.startIndex, offsetBy: 2)..<equals]
                value = String(word[word.index(after: equals)...])
                index += 1
            } else {
                guard index + 1 < dashes else { return nil }
                name = word.dropFirst(2)
                value = arguments[index + 1]
                // A value like an option is left to ArgumentParser's own rules.
                guard !value.hasPrefix("-") else { return nil }
                index += 2
            }
            guard !value.isEmpty, name == "layer" || name == "env" || !seen.contains(name), set(name, value) else { return nil }
            seen.append(name)
        }
        command = Array(arguments[(dashes + 1)...])
    }

    private mutating func set(_ name: Substring, _ value: String) -> Bool {
        switch name {
        case "rootfs": rootfs = value
        case "image": image = value
        case "zip": zip = value
        case "layer": layers.append(value)
        case "state-dir": stateDirectory = value
        // Numbers as ArgumentParser reads them (`Int(_:)`, `Double(_:)`); anything else is its to report.
        case "memory": guard let number = Int(value) else { return false }; memory = number
        case "timeout": guard let number = Double(value) else { return false }; timeout = number
        case "pids": guard let number = Int(value) else { return false }; pids = number
        case "tmp-size": guard let number = Int(value) else { return false }; tmpSize = number
        case "env": environment.append(value)
        case "workdir": workdir = value
        default: return false
        }
        return true
    }

    /// The sandbox these options describe; HearthError or PackageError for bad ones.
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
        var rootLayers: [String] = []
        var binds: [SandboxSpec.BindMount] = []
        var config = ImageConfig()
        if let rootfs {
            var given = stat(), hostRoot = stat()
            if stat(rootfs, &given) == 0, stat("/", &hostRoot) == 0, given.st_dev == hostRoot.st_dev, given.st_ino == hostRoot.st_ino {
                throw HearthError.rootfs("the host's own root filesystem is never a sandbox root; give a directory holding one")
            }
            rootLayers = [rootfs.hasPrefix("/") ? rootfs : (Self.currentDirectory() + "/" + rootfs)]
        }
        if image != nil || zip != nil || !layers.isEmpty {
            let store = try PackageStore(root: SandboxRunCommand.stateDirectory(stateDirectory) + "/store")
            let assembled = try PackageAssembler(store: store).assemble(image: image, zip: zip, layers: layers)
            rootLayers += assembled.rootLayers
            binds = assembled.binds
            config = assembled.config
        }
        // docker run's rules: arguments replace CMD, ENTRYPOINT stays; --env overrides the image's ENV.
        let line = config.command(overriding: command)
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
            id: SandboxIdentity.newID(), layers: rootLayers, binds: binds, command: line, environment: merged,
            workingDirectory: workdir ?? config.workingDir ?? "/", hostname: "hearth",
            limits: ResourceLimits(memoryMB: memory, timeoutSeconds: timeout, pids: pids, tmpSizeMB: tmpSize),
            uid: ids.uid, gid: ids.gid)
    }

    private static func currentDirectory() -> String {
        guard let path = getcwd(nil, 0) else { return "/" }
        defer { free(path) }
        return String(decoding: UnsafeRawBufferPointer(start: path, count: strlen(path)), as: UTF8.self)
    }
}
