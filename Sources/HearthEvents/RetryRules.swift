/// Lambda's rules for an asynchronous event after an attempt, in one pure function: retry a function
/// error after about 1 then 2 minutes while attempts remain, put throttles and Hearth's own failures
/// back with a backoff that never counts as an attempt, and give up when the event is older than its
/// maximum age.
public struct RetryRules: Sendable {
    /// Before the second and third attempts (Lambda: about 1 and 2 minutes).
    public var retryDelays: [Double]
    /// Throttles and Hearth's failures: from `backoffBase`, doubling, at most `backoffMax` (Lambda: 1 s to 5 min).
    public var backoffBase: Double
    public var backoffMax: Double

    public init(retryDelays: [Double] = [60, 120], backoffBase: Double = 1, backoffMax: Double = 300) {
        self.retryDelays = retryDelays
        self.backoffBase = backoffBase
        self.backoffMax = backoffMax
    }

    /// Every delay multiplied by `scale` (a daemon setting, so tests need not wait minutes).
    public func scaled(by scale: Double) -> RetryRules {
        RetryRules(retryDelays: retryDelays.map { $0 * scale }, backoffBase: backoffBase * scale, backoffMax: backoffMax * scale)
    }

    public enum Decision: Sendable, Equatable {
        case succeeded
        /// Run again at `at`; `attempts` is the new count.
        case retry(at: Double, attempts: Int)
        /// Back to the queue without counting: a throttle or Hearth's failure, the `n`th in a row.
        case backOff(at: Double)
        case failed(FailureCondition)
        /// Nothing to do: the function is gone.
        case dropped(String)
    }

    /// Why an event ended in failure handling (the destination record's condition).
    public enum FailureCondition: String, Sendable, Equatable {
        case retriesExhausted = "RetriesExhausted"
        case eventAgeExceeded = "EventAgeExceeded"
        case zeroReservedConcurrency = "ZeroReservedConcurrency"
    }

    /// The wait after the `n`th failure in a row to get through (a throttle, an unreachable target):
    /// from `backoffBase`, doubling, at most `backoffMax`.
    func backoff(_ n: Int) -> Double {
        min(backoffBase * Double(1 << min(max(n - 1, 0), 30)), backoffMax)
    }

    /// Whether an event may still start at `now`.
    public func expired(_ event: QueuedEvent, settings: AsyncSettings, now: Double) -> Bool {
        now - event.enqueuedAt > Double(settings.maximumEventAgeSeconds)
    }

    /// What to do after an attempt that ended in `outcome`; `backoffs` counts this event's throttles and
    /// Hearth's failures in a row, this one included.
    public func decide(_ event: QueuedEvent, outcome: AttemptOutcome, settings: AsyncSettings, backoffs: Int, now: Double) -> Decision {
        let deadline = event.enqueuedAt + Double(settings.maximumEventAgeSeconds)
        switch outcome {
        case .success:
            return .succeeded
        case .functionError:
            let attempts = event.attempts + 1
            guard attempts <= settings.maximumRetryAttempts else { return .failed(.retriesExhausted) }
            let delay = retryDelays.isEmpty ? 0 : retryDelays[min(attempts - 1, retryDelays.count - 1)]
            // A retry that could only start after the event's maximum age never runs: fail it now.
            guard now + delay <= deadline else { return .failed(.eventAgeExceeded) }
            return .retry(at: now + delay, attempts: attempts)
        case .throttled, .unavailable:
            let delay = backoff(backoffs)
            guard now + delay <= deadline else { return .failed(.eventAgeExceeded) }
            return .backOff(at: now + delay)
        case .gone(let message):
            return .dropped(message)
        }
    }
}
