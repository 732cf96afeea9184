import Foundation
import HearthModel

/// Commits what callers submit on a thread of its own, everything waiting in one round (group commit).
/// A round blocks for the disk's sync; a thread rather than a task, so no executor is held meanwhile,
/// and each caller is resumed straight from here (an accepted event's 202 waits for two thread
/// hand-offs, in and out, besides the sync itself).
final class GroupCommitter<Change: Sendable, Outcome: Sendable>: @unchecked Sendable {
    /// One round: the outcome of each change, in order, or one error for all of them.
    typealias Round = @Sendable ([Change]) -> Result<[Outcome], any Error>

    private let condition = NSCondition()
    private var waiting: [(Change, CheckedContinuation<Outcome, any Error>)] = []
    private var stopping = false
    private let round: Round

    init(name: String, round: @escaping Round) {
        self.round = round
        Thread.startNamed(name) { [self] in loop() }
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
            while waiting.isEmpty && !stopping { condition.wait() }
            let batch = waiting
            waiting = []
            condition.unlock()
            if batch.isEmpty { return }
            switch round(batch.map(\.0)) {
            case .success(let outcomes) where outcomes.count == batch.count:
                for (item, outcome) in zip(batch, outcomes) { item.1.resume(returning: outcome) }
            case .success(let outcomes):
                let error = GroupCommitterMismatch(submitted: batch.count, outcomes: outcomes.count)
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
