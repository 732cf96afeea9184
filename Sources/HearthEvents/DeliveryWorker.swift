import Foundation
import HeapModule

/// Sends messages to targets outside Hearth (SQS queues). `SQSSender` is the real one.
public protocol DestinationSender: Sendable {
    /// Whether `target` is something this sender can reach (nil), or why not.
    func refusal(for target: String) -> String?
    func send(_ delivery: Delivery) async throws
}

/// Sends deliveries as they come due, a few at once, and records each result: sent ones are removed;
/// a failed one is tried again with backoff (1 s doubling to 5 min), and after `maxAttempts` it becomes
/// a kept failure (`hearth events`), so nothing is lost to a target that is down.
public actor DeliveryWorker {
    public static let maxAttempts = 10

    private let store: any EventStore
    private let sender: any DestinationSender
    private let clock: @Sendable () -> Double
    /// The clock's seconds per real second.
    private let pace: Double
    private let count: EventDispatcher.Counter
    private let rules: RetryRules
    private var pending: [Int64: Delivery] = [:]
    private var due = Heap<Due>()
    private var running = Set<Int64>()
    private var stopped = false
    private var timer: Task<Void, Never>?
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private let maxInFlight = 8

    public init(store: any EventStore, sender: any DestinationSender, rules: RetryRules = RetryRules(),
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }, pace: Double = 1,
                count: @escaping EventDispatcher.Counter = { _, _ in }) {
        self.store = store
        self.sender = sender
        self.clock = clock
        self.pace = max(pace, 1e-6)
        self.count = count
        self.rules = rules
    }

    /// Loads what a previous daemon left unsent.
    public func start() async throws {
        add(try await store.pendingDeliveries())
    }

    public func stop() {
        stopped = true
        timer?.cancel()
    }

    /// Deliveries just committed by the dispatcher.
    public func add(_ deliveries: [Delivery]) {
        for d in deliveries {
            pending[d.id] = d
            due.insert(Due(at: d.notBefore, id: d.id))
        }
        pump()
    }

    public var unsent: Int { pending.count }

    /// Waits until nothing is left to send (tests).
    func drained() async {
        if pending.isEmpty { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    private func pump() {
        guard !stopped else { return }
        let now = clock()
        while running.count < maxInFlight, let next = due.min, next.at <= now {
            _ = due.removeMin()
            guard let delivery = pending[next.id], !running.contains(next.id), delivery.notBefore == next.at else { continue }
            running.insert(next.id)
            Task { await self.attempt(delivery) }
        }
        // Wake for the next one due (a new timer replaces the old).
        timer?.cancel()
        if let next = due.min {
            let delay = max(0, next.at - now)
            timer = Task {
                try? await Task.sleep(nanoseconds: UInt64(min(delay, 3600) / pace * 1e9))
                if !Task.isCancelled { self.pump() }
            }
        }
    }

    private func attempt(_ delivery: Delivery) async {
        var change = QueueChange()
        var next = delivery
        var keep = false
        do {
            try await sender.send(delivery)
            change.removeDeliveries = [delivery.id]
            count("hearth_async_destination_deliveries_total", [("function", delivery.function)])
        } catch {
            next.attempts += 1
            next.lastError = "\(error)"
            if next.attempts >= Self.maxAttempts {
                change.removeDeliveries = [delivery.id]
                change.fail = [FailedEvent(id: 0, requestId: delivery.requestId, function: delivery.function, qualifier: nil, payload: delivery.payload,
                                           record: delivery.body,
                                           reason: "delivery to \(delivery.target) failed \(next.attempts) times: \(next.lastError ?? "")",
                                           failedAt: clock())]
                count("hearth_async_destination_failures_total", [("function", delivery.function)])
            } else {
                next.notBefore = clock() + rules.backoff(next.attempts)
                change.rescheduleDeliveries = [next]
                keep = true
            }
        }
        do {
            _ = try await store.commit(change)
        } catch {
            // Not recorded: try again later, as it stands in the store.
            next = delivery
            next.notBefore = clock() + rules.backoffBase
            keep = true
        }
        running.remove(delivery.id)
        if keep {
            pending[delivery.id] = next
            due.insert(Due(at: next.notBefore, id: delivery.id))
        } else {
            pending[delivery.id] = nil
        }
        if pending.isEmpty {
            for waiter in idleWaiters { waiter.resume() }
            idleWaiters = []
        }
        pump()
    }
}
