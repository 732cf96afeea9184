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

    /// Disks for the sandboxes' /tmp in `directory`/ephemeral, or nil (memory) when `mode` says "memory"
    /// or, with "auto", when this host cannot make them, which is announced in one line.
    static func ephemeralDisks(in directory: String, mode: String = "auto", announce: (String) -> Void) throws -> EphemeralDisks? {
        guard mode != "memory" else { return nil }
        do {
            return try EphemeralDisks(directory: directory + "/ephemeral")
        } catch where mode == "auto" {
            announce("hearth: each sandbox's /tmp is memory (tmpfs, charged to the function), not disk: \(error)")
            return nil
        }
    }
}
