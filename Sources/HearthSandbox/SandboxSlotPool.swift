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

/// Keeps `target` slots for one set of limits ready, refilled on a thread of its
/// own, and only while no sandbox is starting, so preparing never competes with
/// a start for the kernel's locks. When it is empty, a start makes its own.
public final class SandboxSlotPool: @unchecked Sendable {
    public let target: Int
    public let limits: ResourceLimits
    private let cgroups: any CgroupManager
    private let condition = NSCondition()
    private var ready: [SandboxSlot] = []
    private var startsInFlight = 0
    private var stopped = false
    private var refilling = false
    private let homeNetns: Int32

    public init(target: Int, limits: ResourceLimits, cgroups: any CgroupManager) throws {
        precondition(target > 0)
        self.target = target
        self.limits = limits
        self.cgroups = cgroups
        homeNetns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
        guard homeNetns >= 0 else { throw HearthError.system("cannot open /proc/self/ns/net: \(String(cString: strerror(errno)))") }
        let thread = Thread { [weak self] in self?.refillLoop() }
        thread.name = "hearth-slot-pool"
        thread.start()
    }

    deinit {
        shutdown()
        close(homeNetns)
    }

    /// A ready slot for these limits, or nil.
    func take(for limits: ResourceLimits) -> SandboxSlot? {
        condition.lock()
        defer { condition.unlock() }
        guard limits == self.limits, let slot = ready.popLast() else { return nil }
        return slot
    }

    func startBegan() {
        condition.lock()
        startsInFlight += 1
        condition.unlock()
    }

    func startEnded() {
        condition.lock()
        startsInFlight -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until the pool is full (benchmarks and tests that compare snapshots).
    public func waitUntilFull() {
        condition.lock()
        while ready.count < target && !stopped { condition.wait() }
        condition.unlock()
    }

    /// Stops refilling and releases every unused slot; waits for a refill in progress.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while refilling { condition.wait() }
        let unused = ready
        ready = []
        condition.unlock()
        for slot in unused {
            close(slot.networkNamespace)
            try? slot.cgroup.remove()
        }
    }

    private func refillLoop() {
        while true {
            condition.lock()
            while !stopped && (ready.count >= target || startsInFlight > 0) { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            refilling = true
            condition.unlock()

            let slot = makeSlot()

            condition.lock()
            refilling = false
            if let slot { ready.append(slot) }
            condition.broadcast()
            let give = slot == nil || stopped
            condition.unlock()
            if give {
                // Could not prepare (or stopping): starts make their own from now on.
                if stopped, let slot {
                    close(slot.networkNamespace)
                    try? slot.cgroup.remove()
                }
                return
            }
        }
    }

    private func makeSlot() -> SandboxSlot? {
        guard let cgroup = try? cgroups.createSandboxCgroup(id: SandboxIdentity.newID(), limits: limits) else { return nil }
        let netns = hearth_netns_create(homeNetns)
        guard netns >= 0 else {
            try? cgroup.remove()
            return nil
        }
        return SandboxSlot(cgroup: cgroup, networkNamespace: netns, limits: limits)
    }
}
