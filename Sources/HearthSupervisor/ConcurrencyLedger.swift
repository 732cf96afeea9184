import HearthModel

/// Lambda's concurrency: the invocations admitted now, by function, against each function's reserved
/// concurrency and the account's limit less what every reservation sets aside. The one count of
/// running invocations (a pool counts its busy sandboxes, which is a different thing: an admitted
/// invocation may still be waiting for its sandbox to start).
struct ConcurrencyLedger {
    let accountLimit: Int
    private(set) var running: [String: Int] = [:]
    private(set) var total = 0
    private(set) var reserved: [String: Int]
    private var reservedTotal: Int

    init(accountLimit: Int, reserved: [String: Int]) {
        self.accountLimit = accountLimit
        self.reserved = reserved
        reservedTotal = reserved.values.reduce(0, +)
    }

    /// Why an invocation of `function` would be refused now (Lambda's 429 Reason), or nil.
    func refusal(_ function: String) -> String? {
        let busy = running[function, default: 0]
        if let limit = reserved[function] {
            return busy < limit ? nil : "ReservedFunctionConcurrentInvocationLimitExceeded"
        }
        let unreservedBusy = reserved.keys.reduce(total) { $0 - running[$1, default: 0] }
        return unreservedBusy < accountLimit - reservedTotal ? nil : "ConcurrentInvocationLimitExceeded"
    }

    /// Counts an invocation in, or returns why it is refused.
    mutating func admit(_ function: String) -> String? {
        if let reason = refusal(function) { return reason }
        running[function, default: 0] += 1
        total += 1
        return nil
    }

    mutating func leave(_ function: String) {
        let busy = running[function, default: 1] - 1
        running[function] = busy > 0 ? busy : nil
        total -= 1
    }

    mutating func setReserved(_ function: String, _ value: Int?) {
        reservedTotal += (value ?? 0) - (reserved[function] ?? 0)
        reserved[function] = value
    }
}
