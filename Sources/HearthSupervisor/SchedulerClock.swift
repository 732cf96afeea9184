import Foundation

/// The scheduler's time: when an environment was last used, and when the idle timeout has passed.
public protocol SchedulerClock: Sendable {
    func now() -> Date
}

public struct SystemClock: SchedulerClock {
    public init() {}
    public func now() -> Date { Date() }
}
