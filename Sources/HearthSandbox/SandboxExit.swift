import HearthCgroups

/// How a sandbox ended, with what its cgroup saw.
public struct SandboxExit: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
        /// The command could not be executed (errno from execve).
        case execFailed(Int32)
    }

    /// Why it ended, when a limit ended it.
    public enum LimitReason: Sendable, Equatable {
        case timeout(seconds: Double)
        case outOfMemory(limitMB: Int)
        case pidsLimit(max: Int)
    }

    public var status: Status
    public var limit: LimitReason?
    public var stats: CgroupStats
    /// Wall time from spawn to exit, in seconds.
    public var duration: Double

    /// The exit code of the command as a shell reports it (128+N for signal N).
    public var shellStatus: Int32 {
        switch status {
        case .exited(let code): return code
        case .signaled(let sig): return 128 + sig
        case .execFailed(let err): return err == 2 ? 127 : 126
        }
    }

    /// Picks the limit that ended the run: our own timeout first, then the kernel's OOM kill,
    /// then a failed run that hit the pids limit on the way.
    static func limitReason(timedOut: Bool, timeout: Double?, stats: CgroupStats, status: Status, memoryMB: Int, pids: Int) -> LimitReason? {
        if timedOut, let timeout { return .timeout(seconds: timeout) }
        if stats.oomKills > 0 { return .outOfMemory(limitMB: memoryMB) }
        if stats.pidsLimitHits > 0 && status != .exited(0) { return .pidsLimit(max: pids) }
        return nil
    }
}
