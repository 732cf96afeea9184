#if canImport(Glibc)
import Glibc
#endif
import CSystemd
import CSystemdBus
import CSyscalls
import HearthCgroups
import HearthModel

/// On a host where systemd owns a pure cgroup v2 tree, a process may create cgroups only below one
/// that systemd delegated to it (Delegate=yes). A root shell's session scope is not delegated, so
/// `hearth serve` typed there asks systemd for a transient scope of its own with Delegate=yes and
/// moves into it, as crun's and runc's systemd cgroup drivers do. Under the unit file, systemd
/// already delegated the service's cgroup and nothing is asked.
public enum CgroupDelegation {
    /// What happened, for one log line; nil when nothing had to be done.
    public struct Move: Sendable, CustomStringConvertible {
        public var from: String
        public var scope: String
        public var description: String {
            "moved into \(scope), a systemd scope with delegated cgroup controllers (\(from) is not delegated, so it cannot hold sandboxes)"
        }
    }

    /// Moves this process into a delegated scope named `scopePrefix-PID.scope` when systemd runs the
    /// host's pure cgroup v2 tree and this process's cgroup is not delegated to it.
    public static func ensure(scopePrefix: String, description: String) throws -> Move? {
        guard sd_booted() > 0 else { return nil }
        let layout = try CgroupLayout.current()
        // On a hybrid host the controllers are v1's, which systemd does not manage in the same way.
        guard layout.v1Directory(for: "memory") == nil, let own = layout.unifiedOwnDirectory else { return nil }
        if hasDelegateMark(own) { return nil }
        guard let unit = ownUnit() else { return nil }
        var delegates: Int32 = 0
        var error = [CChar](repeating: 0, count: 512)
        let asked = hearth_sdbus_unit_delegates(unit, &delegates, &error, error.count)
        if asked < 0 {
            throw HearthError.cgroup("cannot tell whether systemd delegates \(unit) to Hearth: \(String(cBuffer: error))")
        }
        if delegates != 0 { return nil }

        let pid = getpid()
        let scope = "\(scopePrefix)-\(pid).scope"
        let started = hearth_sdbus_start_delegated_scope(scope, description, pid, 10_000_000, &error, error.count)
        guard started == 0 else {
            throw HearthError.cgroup(
                "\(unit) does not delegate cgroups, and systemd would not start the scope \(scope) for Hearth: \(String(cBuffer: error)); "
                    + "run Hearth as a systemd service with Delegate=yes (contrib/hearth.service)")
        }
        let now = try CgroupLayout.current()
        guard let moved = now.unifiedOwnDirectory, moved.hasSuffix("/" + scope) else {
            throw HearthError.cgroup("systemd started \(scope), but this process is in \(now.unifiedOwnDirectory ?? "no cgroup") instead")
        }
        return Move(from: unit, scope: scope)
    }

    /// systemd 251 and later mark a delegated cgroup with this extended attribute; older ones are asked over D-Bus.
    static func hasDelegateMark(_ directory: String) -> Bool {
        var value = [UInt8](repeating: 0, count: 8)
        for name in ["trusted.delegate", "user.delegate"] {
            let n = hearth_getxattr(directory, name, &value, value.count)
            if n == 1 && value[0] == UInt8(ascii: "1") { return true }
        }
        return false
    }

    static func ownUnit() -> String? {
        var unit: UnsafeMutablePointer<CChar>?
        guard sd_pid_get_unit(0, &unit) >= 0, let unit else { return nil }
        defer { free(unit) }
        return String(cString: unit)
    }
}
