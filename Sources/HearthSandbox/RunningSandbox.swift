#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import HearthCgroups
import HearthModel
import Synchronization

/// A started sandbox: its PID 1 (by pidfd, never by a pid that could be reused)
/// and its cgroup. Call `wait` for the outcome and `destroy` to tear it down.
public final class RunningSandbox: @unchecked Sendable {
    public let spec: SandboxSpec
    public let pid: Int32
    let pidfd: Int32
    public let cgroup: any SandboxCgroup
    let statusFd: Int32
    let startedAt: Double
    public let startTimings: StartTimings
    /// The socket asked for with `SandboxEngine.start(listenerPort:)`, listening in the sandbox's network
    /// namespace; the caller's to close.
    public let listener: Int32?

    private struct State {
        var reaped: (code: Int32, status: Int32)?
        var destroyed = false
    }
    private let state = Mutex(State())

    init(spec: SandboxSpec, launched: SandboxEngine.Launched) {
        self.spec = spec
        pid = launched.pid
        pidfd = launched.pidfd
        cgroup = launched.cgroup
        statusFd = launched.statusFd
        startedAt = launched.startedAt
        startTimings = launched.timings
        listener = launched.listener
    }

    deinit {
        try? destroy()
    }

    /// Blocks until PID 1 exits or the spec's timeout passes; on timeout the whole sandbox is killed.
    public func wait() -> SandboxExit {
        let deadline = spec.limits.timeoutSeconds.map { startedAt + $0 }
        var timedOut = false
        while true {
            if let (code, status) = reapIfExited() {
                return makeExit(code: code, status: status, timedOut: timedOut)
            }
            var pfd = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            var timeoutMs: Int32 = -1
            if let deadline, !timedOut {
                let remaining = deadline - monotonicSeconds()
                if remaining <= 0 {
                    timedOut = true
                    kill()
                    continue
                }
                timeoutMs = Int32(min(remaining * 1000 + 1, Double(Int32.max)))
            }
            _ = poll(&pfd, 1, timeoutMs)
        }
    }

    /// SIGKILL to PID 1 takes the whole pid namespace with it. The CPU quota is lifted first: a process
    /// killed while its cgroup is throttled cannot run to its exit until the next period, so a fork bomb
    /// at its quota took half a second to die. A frozen command is thawed after: under cgroup v1 it
    /// would not die of its SIGKILL (nor PID 1 finish exiting) until then. Three quick writes, nothing
    /// waited for: safe on an event loop (the teardown, `destroy`, waits for the sandbox to be gone).
    public func kill() {
        try? cgroup.setCPULimit(nil)
        let signalled = state.withLock { state -> Bool in
            guard state.reaped == nil else { return false }
            _ = hearth_pidfd_send_signal(pidfd, SIGKILL)
            return true
        }
        if signalled { try? cgroup.freezer?.thaw() }
    }

    /// The pidfd of PID 1, for a signal handler to forward signals with (valid until `destroy`).
    public var pidfdForSignals: Int32 { pidfd }

    /// Sends a signal to PID 1, which forwards it to the command.
    public func signal(_ sig: Int32) {
        state.withLock {
            if $0.reaped == nil { _ = hearth_pidfd_send_signal(pidfd, sig) }
        }
    }

    /// Kills what is left, reaps PID 1 and removes the cgroup. Idempotent.
    public func destroy() throws {
        let alreadyDone = state.withLock { state -> Bool in
            defer { state.destroyed = true }
            return state.destroyed
        }
        if alreadyDone { return }
        if reapIfExited() == nil {
            kill()
            while reapIfExited(block: true) == nil {}
        }
        close(pidfd)
        close(statusFd)
        // PID 1 is reaped only once every other process of its pid namespace is, and none can leave the
        // cgroup, so it is empty: listing it would be waste (each read of a v1 cgroup.procs makes a pid list
        // that a kernel worker frees a second later). Should removal fail anyway, what is listed is killed.
        do {
            try cgroup.remove()
        } catch {
            cgroup.killAll()
            try cgroup.remove()
        }
    }

    private func reapIfExited(block: Bool = false) -> (Int32, Int32)? {
        state.withLock { state in
            if let reaped = state.reaped { return reaped }
            var code: Int32 = 0, status: Int32 = 0
            let rc = hearth_waitid_pidfd(pidfd, &code, &status, block ? 0 : 1)
            if rc == 1 {
                state.reaped = (code, status)
            } else if rc < 0 && errno == ECHILD {
                // Someone else reaped it; treat as killed.
                state.reaped = (Int32(CLD_KILLED), SIGKILL)
            }
            return state.reaped
        }
    }

    private func makeExit(code: Int32, status: Int32, timedOut: Bool) -> SandboxExit {
        let duration = monotonicSeconds() - startedAt
        var exitStatus: SandboxExit.Status =
            code == Int32(CLD_EXITED) ? .exited(status) : .signaled(status)
        // PID 1's own report is exact where its exit code (128+N) is ambiguous.
        if case .exited = exitStatus, let line = readStatusLine() {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Int32(parts[1]) {
                switch parts[0] {
                case "exited": exitStatus = .exited(value)
                case "signaled": exitStatus = .signaled(value)
                case "exec-failed": exitStatus = .execFailed(value)
                default: break
                }
            }
        }
        let stats = cgroup.stats()
        let limit = SandboxExit.limitReason(
            timedOut: timedOut, timeout: spec.limits.timeoutSeconds, stats: stats, status: exitStatus,
            memoryMB: spec.limits.memoryMB, pids: spec.limits.pids)
        return SandboxExit(status: exitStatus, limit: limit, stats: stats, duration: duration)
    }

    private func readStatusLine() -> String? {
        var buffer = [UInt8](repeating: 0, count: 128)
        var pfd = pollfd(fd: statusFd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return nil }
        let n = buffer.withUnsafeMutableBytes { read(statusFd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self).split(separator: "\n").first.map(String.init)
    }
}

