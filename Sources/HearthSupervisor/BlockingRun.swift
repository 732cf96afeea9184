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
