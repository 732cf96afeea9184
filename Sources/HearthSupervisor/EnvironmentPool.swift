import Foundation
import HearthExecution
import HearthModel
import HearthRegistry
import NIOCore
import HearthSandbox

/// An execution environment as the supervisor keeps it.
final class PooledEnvironment: @unchecked Sendable {
    let environment: any LaunchedEnvironment
    let key: PoolKey
    let revision: String
    let memoryMB: Int
    let uid: UInt32
    /// Started for provisioned concurrency (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency).
    let provisioned: Bool
    /// One of an always-on pool's environments: never retired or evicted, replaced when it dies.
    var alwaysOn = false
    /// Invocations it runs now (an always-on environment runs up to its pool's `alwaysOnPerEnvironment`).
    var inFlight = 0
    var lastUsed: Date

    init(environment: any LaunchedEnvironment, key: PoolKey, revision: String, memoryMB: Int, uid: UInt32, provisioned: Bool, lastUsed: Date) {
        self.lastUsed = lastUsed
        self.environment = environment
        self.key = key
        self.revision = revision
        self.memoryMB = memoryMB
        self.uid = uid
        self.provisioned = provisioned
    }
}

/// A function version's environments: one pool per (function, version).
struct PoolKey: Hashable, Sendable, CustomStringConvertible {
    var function: String
    var version: String
    var description: String { "\(function):\(version)" }
}

/// Idle environments of one version (most recently used last) and counts of the busy and starting ones.
final class EnvironmentPool {
    var idle: [PooledEnvironment] = []
    var busy = 0
    var starting = 0
    /// The version's configuration revision; environments of an older one are drained.
    var revision: String
    /// Provisioned concurrency to keep ready, and how many live environments were started for it.
    var provisionedTarget = 0
    var provisionedLive = 0
    /// Why provisioned sandboxes of this revision cannot be made (their init failed); no more are tried.
    var provisionedFailure: String?
    /// Memory of each of its sandboxes (a revision's setting).
    var memoryMB: Int
    /// Always-on environments to keep (`keepAlwaysOn`) and how many live; invocations that find none idle
    /// wait for one, in order, instead of starting another.
    var alwaysOnTarget = 0
    /// Invocations each always-on environment runs at once (AWS_LAMBDA_MAX_CONCURRENCY).
    var alwaysOnPerEnvironment = 1
    /// The ready always-on environments, free or busy: the balancer picks the least loaded.
    var alwaysOn: [PooledEnvironment] = []
    var alwaysOnLive = 0
    var alwaysOnStarting = 0
    var alwaysOnFailure: String?
    var waiters: [CheckedContinuation<PooledEnvironment?, Never>] = []
    /// The revision built for running, by AWS_LAMBDA_INITIALIZATION_TYPE; dropped with the revision.
    var instances: [String: FunctionInstance] = [:]

    init(revision: String, memoryMB: Int) {
        self.revision = revision
        self.memoryMB = memoryMB
    }

    /// Environments waiting for an event: the idle ones and the always-on ones running none.
    var idleCount: Int { idle.count + alwaysOn.count { $0.inFlight == 0 } }
    /// Environments in use: `busy` counts each once, however many invocations it runs.
    var live: Int { idleCount + busy + starting }
    /// Invocations admitted to this pool and not yet answered (some may still be waiting for a sandbox).
    var admitted = 0

    /// The most recently used idle environment whose Runtime API is served on `loop`, else the most
    /// recently used one. An invocation whose connection and sandbox share an event loop crosses no
    /// thread. Looking only near the top is not enough: environments taken from the top by both loops
    /// come back to the top, so the ones in use drifted onto one loop, which saturated while the
    /// other was half idle. Pointer comparisons: thousands of idle environments cost microseconds.
    func takeIdle(preferring loop: (any EventLoop)?) -> PooledEnvironment? {
        guard !idle.isEmpty else { return nil }
        return idle.remove(at: Self.pick(idle, preferring: loop) { $0.environment.servingLoop })
    }

    /// The index `takeIdle` takes from a non-empty list (most recently used last).
    static func pick<T>(_ items: [T], preferring loop: (any EventLoop)?, loopOf: (T) -> (any EventLoop)?) -> Int {
        if let loop, let index = items.lastIndex(where: { loopOf($0) === loop }) { return index }
        return items.count - 1
    }
}

/// Unprivileged uids for live sandboxes, each used by one sandbox at a time, from the daemon's own
/// block (`UIDBlockLease`): a uid is given back only once nothing runs under it.
struct UIDAllocator {
    let range: Range<UInt32>
    private var free: [UInt32] = []
    private var next: UInt32

    init(range: Range<UInt32>) {
        self.range = range
        next = range.lowerBound
    }

    /// A free uid, or nil when every uid of the block is in use.
    mutating func take() -> UInt32? {
        if let uid = free.popLast() { return uid }
        guard next < range.upperBound else { return nil }
        defer { next += 1 }
        return next
    }

    mutating func give(_ uid: UInt32) { free.append(uid) }
}
