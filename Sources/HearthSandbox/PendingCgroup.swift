import Dispatch
import HearthCgroups
import HearthModel
import Synchronization

/// A sandbox cgroup being made on another thread while the caller does other
/// start work (the network namespace and the Runtime API listener): on a cold
/// start the two overlap instead of following each other. Whoever made it
/// either hands it to `SandboxEngine.start` or discards it; nothing is left.
public final class PendingCgroup: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let state = Mutex<(result: Result<any SandboxCgroup, any Error>?, taken: Bool)>((nil, false))

    init(cgroups: any CgroupManager, id: String, limits: ResourceLimits) {
        DispatchQueue.global().async { [self] in
            let result = Result { try cgroups.createSandboxCgroup(id: id, limits: limits) }
            state.withLock { $0.result = result }
            done.signal()
        }
    }

    /// The cgroup, once made (waits for it); only the first caller gets it.
    func take() throws -> any SandboxCgroup {
        done.wait()
        done.signal()
        let result: Result<any SandboxCgroup, any Error>? = state.withLock { value in
            defer { value.taken = true }
            return value.taken ? nil : value.result
        }
        guard let result else { throw HearthError.cgroup("a pending cgroup was taken twice") }
        return try result.get()
    }

    /// Removes the cgroup unless `take` handed it out. Idempotent.
    public func discard() {
        done.wait()
        done.signal()
        let unused: (any SandboxCgroup)? = state.withLock { value in
            defer { value.taken = true }
            guard !value.taken, case .success(let cgroup) = value.result else { return nil }
            return cgroup
        }
        try? unused?.remove()
    }
}

extension SandboxEngine {
    /// Starts making the cgroup of `spec` on another thread; pass it to `start`, or `discard` it.
    public func makeCgroupInBackground(for spec: SandboxSpec) -> PendingCgroup {
        PendingCgroup(cgroups: cgroups, id: spec.id, limits: spec.limits)
    }
}
