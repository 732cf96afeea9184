import HearthSandbox
import HearthSystemd

/// The host's sandbox engine, in a cgroup that may hold sandboxes: on a systemd host whose cgroup
/// for this process is not delegated (a root shell's session), a delegated scope of our own first.
enum HostEngine {
    static func make(shareRoots: Bool, scopePrefix: String, ephemeralDisks: EphemeralDisks? = nil,
                     announce: (String) -> Void = { _ in }) throws -> SandboxEngine {
        if let move = try CgroupDelegation.ensure(scopePrefix: scopePrefix, description: "Hearth sandboxes (\(scopePrefix))") {
            announce("hearth: \(move)")
        }
        return try SandboxEngine.forThisHost(shareRoots: shareRoots, ephemeralDisks: ephemeralDisks)
    }
}
