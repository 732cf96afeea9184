import Foundation

/// The scheduler's time: when an environment was last used, when the idle timeout has passed, and how
/// long the idle sweep waits (a comparison replays a trace on a faster clock).
public protocol SchedulerClock: Sendable {
    func now() -> Date
    /// Waits `seconds` of this clock's time.
    func sleep(seconds: Double) async throws
}

extension SchedulerClock {
    public func sleep(seconds: Double) async throws {
        try await Task.sleep(nanoseconds: UInt64(max(0, min(seconds, 86_400)) * 1e9))
    }
}

public struct SystemClock: SchedulerClock {
    public init() {}
    public func now() -> Date { Date() }
}
