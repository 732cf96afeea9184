import Foundation
import Synchronization

/// Runs async work from a synchronous caller (ArgumentParser's sync entry point, benchmarks) and waits for it.
/// Never call it from a task or an event loop: it blocks its thread.
public func blockingRun<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    guard let result = outcome.withLock({ $0 }) else { fatalError("blockingRun finished without a result") }
    return try result.get()
}

/// Runs `body` and waits for it at most `seconds`: true if it finished in time. If not, `body` goes
/// on in the background (the caller is about to exit, say, and must not wait for it for good).
public func finishes(within seconds: Double, _ body: @escaping @Sendable () async -> Void) async -> Bool {
    let decided = FirstOnly()
    return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        Task {
            await body()
            if decided.claim() { continuation.resume(returning: true) }
        }
        Task {
            try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
            if decided.claim() { continuation.resume(returning: false) }
        }
    }
}

/// True for the first caller of `claim` only.
final class FirstOnly: Sendable {
    private let claimed = Atomic(false)
    func claim() -> Bool { !claimed.exchange(true, ordering: .acquiringAndReleasing) }
}
