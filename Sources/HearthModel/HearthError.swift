/// Errors the supervisor reports to people. Each message names what was wrong.
public enum HearthError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidLimit(String)
    case invalidArgument(String)
    case rootfs(String)
    case cgroup(String)
    case sandboxSetup(String)
    case seccomp(String)
    case system(String)

    public var description: String {
        switch self {
        case .invalidLimit(let m): return "invalid limit: \(m)"
        case .invalidArgument(let m): return "invalid argument: \(m)"
        case .rootfs(let m): return "root filesystem: \(m)"
        case .cgroup(let m): return "cgroup: \(m)"
        case .sandboxSetup(let m): return "sandbox setup failed: \(m)"
        case .seccomp(let m): return "seccomp: \(m)"
        case .system(let m): return m
        }
    }
}
