import Foundation
import HearthModel
@testable import HearthEvents

/// A clock the test moves.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double
    init(_ start: Double = 1_700_000_000) { value = start }
    var now: Double { lock.withLock { value } }
    func advance(_ seconds: Double) { lock.withLock { value += seconds } }
}

/// An invoker whose functions answer as the test says, counting attempts; at most `capacity` of one
/// function's invocations run at once (more are throttled, as the scheduler would).
actor FakeInvoker: EventInvoker {
    var settings: [String: AsyncSettings] = [:]
    var behaviour: [String: @Sendable (Int) -> AttemptOutcome] = [:]
    var capacity: [String: Int] = [:]
    private(set) var attempts: [String: Int] = [:]
    private(set) var payloads: [String: [[UInt8]]] = [:]
    private var running: [String: Int] = [:]
    /// Each invocation holds its slot this long (real time), so throttles can happen.
    var hold: Double = 0

    func set(_ function: String, settings: AsyncSettings = AsyncSettings(), capacity: Int? = nil,
             _ behaviour: @escaping @Sendable (Int) -> AttemptOutcome) {
        self.settings[function] = settings
        self.capacity[function] = capacity
        self.behaviour[function] = behaviour
    }

    func setHold(_ seconds: Double) { hold = seconds }

    /// The next `n` settings lookups fail as a database error would.
    private var settingsFailures = 0
    func failSettings(_ n: Int) { settingsFailures = n }

    nonisolated func functionARN(_ function: String, qualifier: String?) -> String {
        LambdaARN.function(function, qualifier: qualifier, region: "us-east-1")
    }

    func asyncSettings(function: String, qualifier: String?) async -> SettingsLookup {
        if settingsFailures > 0 {
            settingsFailures -= 1
            return .unavailable("database is locked")
        }
        return settings[function].map { .found($0) } ?? .gone
    }

    func invoke(function: String, qualifier: String?, requestId: String, payload: [UInt8]) async -> AttemptOutcome {
        if let cap = capacity[function], running[function, default: 0] >= cap { return .throttled(reason: "ReservedFunctionConcurrentInvocationLimitExceeded") }
        running[function, default: 0] += 1
        attempts[function, default: 0] += 1
        payloads[function, default: []].append(payload)
        let n = attempts[function, default: 0]
        if hold > 0 { try? await Task.sleep(nanoseconds: UInt64(hold * 1e9)) }
        running[function, default: 1] -= 1
        return behaviour[function]?(n) ?? .gone("no such function")
    }
}

func temporaryStore() throws -> (SQLiteEventStore, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-events-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return (try SQLiteEventStore(path: dir + "/events.db"), dir)
}

func event(_ function: String, _ payload: String = "{}", at time: Double, qualifier: String? = nil) -> NewEvent {
    NewEvent(requestId: UUID().uuidString.lowercased(), function: function, qualifier: qualifier, payload: Array(payload.utf8), enqueuedAt: time)
}

func json(_ bytes: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
}
