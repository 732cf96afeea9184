import Foundation

/// The scheduler's time: when an environment was last used, when the idle timeout has passed, how long
/// the idle sweep waits; the event queue and the schedules tell time by it too.
public protocol SchedulerClock: Sendable {
    func now() -> Date
    /// This clock's seconds per real second (1, or more for a replay or a test that runs time faster).
    var pace: Double { get }
}

extension SchedulerClock {
    public var pace: Double { 1 }

    /// Waits `seconds` of this clock's time.
    public func sleep(seconds: Double) async throws {
        try await Task.sleep(nanoseconds: UInt64(max(0, min(seconds / pace, 86_400)) * 1e9))
    }
}

public struct SystemClock: SchedulerClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock `factor` times faster than real time, from `start` (now if nil): `hearth compare` replays a
/// trace on it (keep-alive and idle times in trace time), and `hearth serve --clock-start/--clock-rate`
/// lets a test cross a daylight-saving transition without waiting for it.
public struct ScaledClock: SchedulerClock {
    let origin = Date()
    let start: Date
    let factor: Double

    public init(factor: Double, startingAt start: Date? = nil) {
        self.factor = factor
        self.start = start ?? origin
    }

    public var pace: Double { factor }

    public func now() -> Date { start.addingTimeInterval(Date().timeIntervalSince(origin) * factor) }
}
