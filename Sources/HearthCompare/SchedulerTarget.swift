import Foundation
import HearthExecution
import HearthModel
import HearthRegistry
import HearthSupervisor

/// An arm as Hearth runs it: invocations through a scheduler (on-demand, or always-on environments
/// kept with `keepAlwaysOn`), its environments' memory and CPU read from their cgroups.
public struct SchedulerTarget: ReplayTarget {
    let scheduler: Scheduler
    let function: String
    let payload: @Sendable (Arrival) -> [UInt8]

    public init(scheduler: Scheduler, function: String, payload: @escaping @Sendable (Arrival) -> [UInt8]) {
        self.scheduler = scheduler
        self.function = function
        self.payload = payload
    }

    public func invoke(_ arrival: Arrival) async -> RequestResult {
        do {
            let outcome = try await scheduler.invoke(FunctionReference(name: function, qualifier: nil), requestId: UUID().uuidString.lowercased(),
                                                     payload: payload(arrival), clientContext: nil)
            return Self.result(outcome.result, cold: outcome.coldStart)
        } catch {
            if error.status == 429 { return RequestResult(kind: .throttled, cold: false, billedMs: 0) }
            return RequestResult(kind: .failed, cold: false, billedMs: 0)
        }
    }

    /// Billed as Lambda bills since August 2025: the run and, for a cold start, its init, rounded up to the millisecond.
    static func result(_ result: InvocationResult, cold: Bool) -> RequestResult {
        let ms = result.report.durationMs + (result.report.initDurationMs ?? 0)
        let billed = ms.isFinite && ms >= 0 && ms < 1e12 ? max(1, Int(ms.rounded(.up))) : 0
        let kind: RequestResult.Kind = switch result.end {
        case .success: .success
        case .functionError: .functionError
        default: .failed
        }
        return RequestResult(kind: kind, cold: cold, billedMs: billed)
    }

    public func sample() async -> UsageSample {
        let usage = await scheduler.usage()
        return UsageSample(reservedMB: Double(usage.reservedMB), usedMB: Double(usage.usedBytes) / 1_048_576, environments: usage.environments)
    }
}
