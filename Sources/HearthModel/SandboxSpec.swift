/// Everything needed to start one sandbox: what to run, on which layers, under which limits.
public struct SandboxSpec: Sendable, Equatable {
    /// Host directories mounted read-only inside the sandbox: a function's code at /var/task,
    /// its layers at /opt. Several sources are stacked, the last one on top (Lambda's layer order).
    public struct BindMount: Sendable, Equatable {
        public var sources: [String]
        public var target: String
        public init(source: String, target: String) {
            self.init(sources: [source], target: target)
        }
        public init(sources: [String], target: String) {
            self.sources = sources
            self.target = target
        }
    }

    public var id: String
    /// Read-only lower directories of the root filesystem, topmost first.
    public var layers: [String]
    public var binds: [BindMount]
    public var command: [String]
    /// Environment as ordered KEY=VALUE pairs.
    public var environment: [(String, String)]
    public var workingDirectory: String
    public var hostname: String
    public var limits: ResourceLimits
    public var uid: UInt32
    public var gid: UInt32
    /// Start without the CPU quota; whoever runs the sandbox applies it when init is over (Lambda's burst CPU at init).
    public var burstCPUAtStart = false

    public init(
        id: String, layers: [String], binds: [BindMount] = [], command: [String],
        environment: [(String, String)] = [], workingDirectory: String = "/",
        hostname: String = "hearth", limits: ResourceLimits = ResourceLimits(), uid: UInt32, gid: UInt32
    ) {
        self.id = id
        self.layers = layers
        self.binds = binds
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.hostname = hostname
        self.limits = limits
        self.uid = uid
        self.gid = gid
    }

    public static func == (a: SandboxSpec, b: SandboxSpec) -> Bool {
        a.id == b.id && a.layers == b.layers && a.binds == b.binds && a.command == b.command
            && a.environment.map { "\($0.0)=\($0.1)" } == b.environment.map { "\($0.0)=\($0.1)" }
            && a.workingDirectory == b.workingDirectory && a.hostname == b.hostname && a.limits == b.limits
            && a.uid == b.uid && a.gid == b.gid
    }

    /// Default PATH inside a sandbox, Lambda's order.
    public static let defaultPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

    /// Checks names and values a hostile caller could bend: env keys, paths, hostname.
    public func validate() throws {
        try limits.validate()
        guard !command.isEmpty, !command[0].isEmpty else {
            throw HearthError.invalidArgument("no command given")
        }
        for arg in command where arg.utf8.contains(0) {
            throw HearthError.invalidArgument("command argument contains a NUL byte")
        }
        for (key, value) in environment {
            try Self.validateEnvironmentName(key)
            if value.utf8.contains(0) {
                throw HearthError.invalidArgument("environment variable \(key) has a NUL byte in its value")
            }
        }
        guard workingDirectory.hasPrefix("/"), !workingDirectory.split(separator: "/").contains(".."),
            !workingDirectory.utf8.contains(0)
        else {
            throw HearthError.invalidArgument("working directory must be an absolute path without '..': \(workingDirectory)")
        }
        if workingDirectory == "/proc" || workingDirectory.hasPrefix("/proc/") {
            throw HearthError.invalidArgument("working directory may not be under /proc: \(workingDirectory)")
        }
        let validHost = !hostname.isEmpty && hostname.utf8.count <= 64
            && hostname.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 || ($0 >= 65 && $0 <= 90) }
        guard validHost else { throw HearthError.invalidArgument("invalid hostname: \(hostname)") }
        for bind in binds {
            guard !bind.sources.isEmpty else { throw HearthError.invalidArgument("mount at \(bind.target) has no source") }
            guard bind.target.hasPrefix("/"), !bind.target.split(separator: "/").contains(".."), bind.target != "/" else {
                throw HearthError.invalidArgument("mount target must be an absolute path below /: \(bind.target)")
            }
        }
        guard uid != 0, gid != 0 else { throw HearthError.invalidArgument("a sandbox never runs as uid or gid 0") }
    }

    /// POSIX-portable names: letters, digits, underscore, not starting with a digit.
    public static func validateEnvironmentName(_ key: String) throws {
        let bytes = Array(key.utf8)
        let valid = !bytes.isEmpty && !(bytes[0] >= 48 && bytes[0] <= 57)
            && bytes.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        guard valid else {
            throw HearthError.invalidArgument("invalid environment variable name '\(key)': use letters, digits and _, not starting with a digit")
        }
    }
}
