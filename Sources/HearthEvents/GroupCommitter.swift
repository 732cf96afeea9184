import Foundation
import HearthModel

/// Commits what callers submit on a thread of its own, everything waiting in one round (group commit);
/// what no caller waits for rides with a later round.
/// A round blocks for the disk's sync; a thread rather than a task, so no executor is held meanwhile,
/// and each caller is resumed straight from here (an accepted event's 202 waits for two thread
/// hand-offs, in and out, besides the sync itself).
final class GroupCommitter<Change: Sendable, Outcome: Sendable>: @unchecked Sendable {
    /// One round: the outcome of each change, in order, or one error for all of them.
    typealias Round = @Sendable ([Change]) -> Result<[Outcome], any Error>

    private let condition = NSCondition()
    private var waiting: [(Change, CheckedContinuation<Outcome, any Error>)] = []
    /// Changes no caller waits for (`submitLater`), and when the oldest of them must be written.
    private var deferred: [Change] = []
    private var deferredDue = Date.distantFuture
    /// Whether the thread waits with no deadline (nothing happened for `deferLimit`).
    private var sleepsWithoutDeadline = false
    private var roundCarriesDeferred = false
    private var stopping = false
    private let round: Round
    private let deferLimit: TimeInterval

    /// - Parameter deferLimit: how long a change given to `submitLater` waits for a round to ride with.
    init(name: String, deferLimit: TimeInterval = 0.02, round: @escaping Round) {
        self.round = round
        self.deferLimit = deferLimit
        Thread.startNamed(name) { [self] in loop() }
    }

    /// Commits `change` with the next round that runs anyway, or on its own once it has waited
    /// `deferLimit`; returns at once. A round that fails keeps it for the next. Only for changes whose
    /// loss with the process is harmless (a removal of an event that ran: it runs again).
    func submitLater(_ change: Change) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return }
        if deferred.isEmpty { deferredDue = Date(timeIntervalSinceNow: deferLimit) }
        deferred.append(change)
        // A thread that sleeps until a deadline wakes in time by itself (see `loop`): waking it here
        // would cost every succeeded event a thread wake-up on a busy queue.
        if sleepsWithoutDeadline { condition.signal() }
    }

    /// Commits `change` with whatever else is waiting; its outcome once the round is done.
    func submit(_ change: Change) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            guard !stopping else {
                condition.unlock()
                return continuation.resume(throwing: GroupCommitterStopped())
            }
            waiting.append((change, continuation))
            condition.signal()
            condition.unlock()
        }
    }

    /// Whether changes given to `submitLater` are not yet written: waiting for a round, or in the
    /// round that runs now (a reader that saw them gone could otherwise read before that round ends).
    var hasDeferred: Bool { condition.withLock { !deferred.isEmpty || roundCarriesDeferred } }

    /// Ends the thread once what is waiting is committed; later submissions fail.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            // After a round the thread waits at most `deferLimit`, and with a change deferred until
            // that change is due: a change deferred meanwhile is due later, so it is written in time
            // without waking the thread. Once `deferLimit` passes quietly, it waits with no deadline.
            let quiet = Date(timeIntervalSinceNow: deferLimit)
            while waiting.isEmpty && !stopping {
                let now = Date()
                if !deferred.isEmpty {
                    if now >= deferredDue { break }
                    _ = condition.wait(until: deferredDue)
                } else if now < quiet {
                    _ = condition.wait(until: quiet)
                } else {
                    sleepsWithoutDeadline = true
                    condition.wait()
                    sleepsWithoutDeadline = false
                }
            }
            let batch = waiting
            let later = deferred
            waiting = []
            deferred = []
            deferredDue = .distantFuture
            roundCarriesDeferred = !later.isEmpty
            condition.unlock()
            if batch.isEmpty && later.isEmpty { return }
            // The deferred changes go first: their outcomes are nobody's.
            let result = round(later + batch.map(\.0))
            // Settled before any caller resumes, so a caller that asks `hasDeferred` next sees this round's end.
            condition.withLock {
                roundCarriesDeferred = false
                // Kept for a later round after a failure, due `deferLimit` from now (not at once: a
                // failing disk would make the thread spin), unless the committer is stopping.
                if case .failure = result, !later.isEmpty, !stopping {
                    deferred = later + deferred
                    deferredDue = Date(timeIntervalSinceNow: deferLimit)
                }
            }
            switch result {
            case .success(let outcomes) where outcomes.count == later.count + batch.count:
                for (item, outcome) in zip(batch, outcomes.dropFirst(later.count)) { item.1.resume(returning: outcome) }
            case .success(let outcomes):
                let error = GroupCommitterMismatch(submitted: later.count + batch.count, outcomes: outcomes.count)
                for item in batch { item.1.resume(throwing: error) }
            case .failure(let error):
                for item in batch { item.1.resume(throwing: error) }
            }
        }
    }
}

struct GroupCommitterStopped: Error, CustomStringConvertible {
    var description: String { "the event queue is closed" }
}

struct GroupCommitterMismatch: Error, CustomStringConvertible {
    var submitted: Int, outcomes: Int
    var description: String { "a commit of \(submitted) changes gave \(outcomes) outcomes" }
}
