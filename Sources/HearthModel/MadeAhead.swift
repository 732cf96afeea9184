import Foundation

/// What makes things for sandbox starts ahead, and makes none while a start is in flight (`SparePause`
/// tells it when).
public protocol PausedDuringStarts: Sendable {
    func startBegan()
    func startEnded()
}

/// Kernel objects a sandbox start needs, made ahead on a thread of their own (cgroups and network
/// namespaces, namespaces already on the bridge), and only while no start is in flight, so that making
/// one never competes with a start for the kernel's locks. When the pool is empty, a start makes its
/// own. A failed make pauses the refills until a start takes one (the cause, a spent address pool say,
/// may have gone by then).
public final class MadeAhead<Item: Sendable>: PausedDuringStarts, @unchecked Sendable {
    public let target: Int
    private let make: @Sendable () -> Item?
    private let discard: @Sendable (Item) -> Void
    private let condition = NSCondition()
    private var ready: [Item] = []
    private var startsInFlight = 0
    private var stopped = false
    private var refilling = false
    private var failed = false

    /// - Parameter discard: releases an item never taken (at `shutdown`).
    public init(target: Int, threadName: String, make: @escaping @Sendable () -> Item?, discard: @escaping @Sendable (Item) -> Void) {
        self.target = max(0, target)
        self.make = make
        self.discard = discard
        if self.target > 0 { Thread.startNamed(threadName) { [weak self] in self?.refillLoop() } }
    }

    deinit { shutdown() }

    /// A ready item, or nil.
    public func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        failed = false
        condition.broadcast()
        return ready.popLast()
    }

    public func startBegan() {
        condition.lock()
        startsInFlight += 1
        condition.unlock()
    }

    public func startEnded() {
        condition.lock()
        startsInFlight -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until the pool is full or cannot be filled (benchmarks and tests).
    public func waitUntilFull() {
        condition.lock()
        while ready.count < target && !stopped && !failed { condition.wait() }
        condition.unlock()
    }

    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return ready.count
    }

    /// Stops refilling and discards every item not taken; waits for a refill in progress. Idempotent.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while refilling { condition.wait() }
        let unused = ready
        ready = []
        condition.unlock()
        for item in unused { discard(item) }
    }

    private func refillLoop() {
        while true {
            condition.lock()
            while !stopped && (ready.count >= target || startsInFlight > 0 || failed) { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            refilling = true
            condition.unlock()

            let made = make()

            condition.lock()
            refilling = false
            if let made, !stopped { ready.append(made) } else if made == nil { failed = true }
            let unwanted = stopped ? made : nil
            condition.broadcast()
            condition.unlock()
            if let unwanted { discard(unwanted) }
        }
    }
}
