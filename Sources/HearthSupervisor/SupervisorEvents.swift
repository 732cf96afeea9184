import HearthEvents
import HearthModel
import HearthRegistry
import HearthState

/// The durable queue's view of Hearth: a function's async settings from the registry, attempts through
/// the scheduler (so they count against concurrency like any Invoke). The settings an event runs with
/// come from the registry's cache, as an Invoke's resolution does.
struct SchedulerEventInvoker: EventInvoker {
    let registry: any FunctionRegistry
    let scheduler: Scheduler
    let region: String

    /// Not found (404) is the function gone; any other error is a database that could not be read now.
    func asyncSettings(function: String, qualifier: String?) async -> SettingsLookup {
        let ref = FunctionReference(name: function, qualifier: qualifier)
        do {
            let run = try registry.eventRunSettings(ref)
            let config = run.eventInvokeConfig
            return .found(AsyncSettings(maximumRetryAttempts: config?.maximumRetryAttempts ?? AsyncSettings.defaultRetryAttempts,
                                        maximumEventAgeSeconds: config?.maximumEventAgeInSeconds ?? AsyncSettings.defaultEventAgeSeconds,
                                        onSuccess: config?.onSuccess, onFailure: config?.onFailure, deadLetter: run.record.deadLetterTargetArn,
                                        reservedZero: run.reservedConcurrency == 0))
        } catch {
            return error.status == 404 ? .gone : .unavailable(error.message)
        }
    }

    func invoke(function: String, qualifier: String?, requestId: String, payload: [UInt8]) async -> AttemptOutcome {
        do {
            let outcome = try await scheduler.invoke(FunctionReference(name: function, qualifier: qualifier), requestId: requestId,
                                                     payload: payload, clientContext: nil)
            switch outcome.result.body {
            case .success(let bytes): return .success(executedVersion: outcome.executedVersion, payload: bytes)
            case .error(let document, _): return .functionError(executedVersion: outcome.executedVersion, document: document)
            }
        } catch {
            switch error.status {
            case 429: return .throttled(reason: error.reason ?? error.type)
            case 404: return .gone(error.message)
            default: return .unavailable(error.message)
            }
        }
    }

    func functionARN(_ function: String, qualifier: String?) -> String { LambdaARN.function(function, qualifier: qualifier, region: region) }
}

/// Asynchronous invocation: the durable queue, its configuration and what failed.
extension Supervisor {
    /// InvocationType Event: the event is on disk when this returns (the 202 may be sent).
    public func enqueueEvent(_ ref: FunctionReference, requestId: String, payload: [UInt8]) async throws(ServiceError) {
        guard let events else { throw .service("this daemon has no event queue") }
        do {
            _ = try await events.accept(NewEvent(requestId: requestId, function: ref.name, qualifier: ref.qualifier, payload: payload,
                                                 enqueuedAt: clock.now().timeIntervalSince1970))
        } catch {
            throw .service("the event could not be queued: \(error)")
        }
    }

    public func putEventInvokeConfig(_ ref: FunctionReference, _ change: EventInvokeConfigChange,
                                     replace: Bool) async throws(ServiceError) -> EventInvokeConfigRecord {
        let registry = self.registry
        return try await BlockingWork.run { () throws(ServiceError) in try registry.putEventInvokeConfig(ref, change, replace: replace) }
    }

    public func deleteEventInvokeConfig(_ ref: FunctionReference) async throws(ServiceError) {
        let registry = self.registry
        try await BlockingWork.run { () throws(ServiceError) in try registry.deleteEventInvokeConfig(ref) }
    }

    public func queueStats() async -> EventDispatcher.Stats? { await events?.stats() }

    /// Events whose failure could not be delivered anywhere, oldest first.
    public func eventFailures(_ function: String?) async throws(ServiceError) -> [FailedEvent] {
        guard let events else { return [] }
        do { return try await events.failures(function: function) } catch { throw .service("\(error)") }
    }

    /// Sends kept failures (all of `function`'s, or those of `ids`) back to their function as new
    /// events (`redrive`), or deletes them; how many.
    public func settleFailures(_ function: String, ids: [Int64]?, redrive: Bool) async throws(ServiceError) -> Int {
        guard let events else { return 0 }
        do { return try await events.settleFailures(function: function, ids: ids, redrive: redrive) } catch { throw .service("\(error)") }
    }
}
