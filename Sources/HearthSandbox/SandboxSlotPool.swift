#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import Foundation
import HearthCgroups
import HearthModel

/// What a sandbox needs from the kernel before it can start, made ahead: a
/// fresh cgroup with its limits written and a fresh network namespace with
/// loopback up. Each slot is used by exactly one sandbox and never reused.
public struct SandboxSlot: Sendable {
    public let cgroup: any SandboxCgroup
    /// fd of the network namespace; owned by whoever holds the slot.
    public let networkNamespace: Int32
    public let limits: ResourceLimits
}

/// Keeps `target` slots for one set of limits ready (`MadeAhead`: refilled on a thread of its own, and
/// only while no sandbox is starting). When it is empty, a start makes its own.
public final class SandboxSlotPool: Sendable {
    public var target: Int { slots.target }
    public let limits: ResourceLimits
    private let slots: MadeAhead<SandboxSlot>
    private let homeNetns: Int32

    public init(target: Int, limits: ResourceLimits, cgroups: any CgroupManager) throws {
        precondition(target > 0)
        self.limits = limits
        let home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw HearthError.system("cannot open /proc/self/ns/net: \(String(cString: strerror(errno)))") }
        homeNetns = home
        slots = MadeAhead(target: target, threadName: "hearth-slot-pool", make: {
            guard let cgroup = try? cgroups.createSandboxCgroup(id: SandboxIdentity.newID(), limits: limits) else { return nil }
            let netns = hearth_netns_create(home)
            guard netns >= 0 else {
                try? cgroup.remove()
                return nil
            }
            return SandboxSlot(cgroup: cgroup, networkNamespace: netns, limits: limits)
        }, discard: { slot in
            close(slot.networkNamespace)
            try? slot.cgroup.remove()
        })
    }

    deinit {
        shutdown()
        close(homeNetns)
    }

    /// A ready slot for these limits, or nil.
    func take(for limits: ResourceLimits) -> SandboxSlot? {
        guard limits == self.limits else { return nil }
        return slots.take()
    }

    func startBegan() { slots.startBegan() }

    func startEnded() { slots.startEnded() }

    /// Blocks until the pool is full (benchmarks and tests that compare snapshots).
    public func waitUntilFull() { slots.waitUntilFull() }

    /// Stops refilling and releases every unused slot; waits for a refill in progress.
    public func shutdown() { slots.shutdown() }
}
