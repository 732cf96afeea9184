import Foundation
import HearthModel
import HearthState

/// What Put/UpdateFunctionEventInvokeConfig carry: nil is "not given"; a destination given as
/// `.some(nil)` is cleared (`OnSuccess: {}`).
public struct EventInvokeConfigChange: Sendable, Equatable {
    public var maximumRetryAttempts: Int?
    public var maximumEventAgeInSeconds: Int?
    public var onSuccess: String??
    public var onFailure: String??

    public init(maximumRetryAttempts: Int? = nil, maximumEventAgeInSeconds: Int? = nil, onSuccess: String?? = nil, onFailure: String?? = nil) {
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeInSeconds = maximumEventAgeInSeconds
        self.onSuccess = onSuccess
        self.onFailure = onFailure
    }

    var destinationGiven: Bool { onSuccess != nil || onFailure != nil }
}

/// Event invoke configurations: per function and qualifier, checked in Lambda's words.
extension FunctionCatalog {
    /// Put (`replace`) or Update (merge into the existing one) a configuration.
    public func putEventInvokeConfig(_ ref: FunctionReference, _ change: EventInvokeConfigChange, replace: Bool) throws(ServiceError)
        -> EventInvokeConfigRecord {
        let qualifier = try existingQualifier(ref)
        guard change.maximumRetryAttempts != nil || change.maximumEventAgeInSeconds != nil || change.destinationGiven else {
            throw .invalidParameter("You must specify at least one of error handling or destination setting.")
        }
        try FunctionSettings.check("maximumRetryAttempts", change.maximumRetryAttempts, 0...2)
        try FunctionSettings.check("maximumEventAgeInSeconds", change.maximumEventAgeInSeconds, 60...21600)
        try checkDestinations(change, function: ref.name)
        var record: EventInvokeConfigRecord
        if replace {
            record = EventInvokeConfigRecord(qualifier: qualifier, maximumRetryAttempts: nil, maximumEventAgeInSeconds: nil, onSuccess: nil,
                                             onFailure: nil, lastModified: 0)
        } else {
            guard let existing = try wrap({ try state.eventInvokeConfig(ref.name, qualifier) }) else { throw noConfig(ref.name, qualifier) }
            record = existing
        }
        if let v = change.maximumRetryAttempts { record.maximumRetryAttempts = v }
        if let v = change.maximumEventAgeInSeconds { record.maximumEventAgeInSeconds = v }
        if let v = change.onSuccess { record.onSuccess = v }
        if let v = change.onFailure { record.onFailure = v }
        record.lastModified = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
        let stored = record
        try wrap { try state.putEventInvokeConfig(ref.name, stored) }
        changed(ref.name)
        return stored
    }

    public func eventInvokeConfig(_ ref: FunctionReference) throws(ServiceError) -> EventInvokeConfigRecord {
        let qualifier = ref.qualifier ?? "$LATEST"
        guard let record = try wrap({ try state.eventInvokeConfig(ref.name, qualifier) }) else { throw noConfig(ref.name, qualifier) }
        return record
    }

    /// $LATEST's first, then versions in number order, then aliases by name (as Lambda lists them).
    public func eventInvokeConfigs(_ function: String) throws(ServiceError) -> [EventInvokeConfigRecord] {
        guard try wrap({ try state.function(function) }) != nil else { throw .notFound("The function doesn't exist.") }
        return try wrap { try state.eventInvokeConfigs(function) }.sorted { a, b in
            func rank(_ q: String) -> (Int, Int, String) { q == "$LATEST" ? (0, 0, "") : Int(q).map { (1, $0, "") } ?? (2, 0, q) }
            return rank(a.qualifier) < rank(b.qualifier)
        }
    }

    public func deleteEventInvokeConfig(_ ref: FunctionReference) throws(ServiceError) {
        let qualifier = ref.qualifier ?? "$LATEST"
        guard try wrap({ try state.deleteEventInvokeConfig(ref.name, qualifier) }) else { throw noConfig(ref.name, qualifier) }
        changed(ref.name)
    }

    /// The qualifier a Put names, when the function and it exist ("The function doesn't exist." otherwise, as Lambda says).
    private func existingQualifier(_ ref: FunctionReference) throws(ServiceError) -> String {
        let qualifier = ref.qualifier ?? "$LATEST"
        do { _ = try resolve(ref) } catch { throw .notFound("The function doesn't exist.") }
        return qualifier
    }

    private func noConfig(_ function: String, _ qualifier: String) -> ServiceError {
        .notFound("The function \(arn(function, qualifier)) doesn't have an EventInvokeConfig")
    }

    /// Each destination matches Lambda's ARN pattern, names a service Lambda delivers to, and, for a
    /// function, one that exists and is not this one.
    private func checkDestinations(_ change: EventInvokeConfigChange, function: String) throws(ServiceError) {
        let pattern = #"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"#
        for (field, value, failure) in [("onSuccess", change.onSuccess, false), ("onFailure", change.onFailure, true)] {
            guard let arn = value ?? nil else { continue }
            // The pattern is a constant that compiles; a failure to compile would only skip this check.
            if let regex = try? Regex(pattern), arn.wholeMatch(of: regex) == nil {
                throw .validation("destinationConfig.\(field).destination", arn, "Member must satisfy regular expression pattern: \(pattern)")
            }
            let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
            let service = parts.count > 2 ? String(parts[2]) : ""
            guard ["lambda", "sqs", "sns", "events"].contains(service) || (failure && service == "s3") else {
                func describe(_ v: String??, _ kind: String) -> String { (v ?? nil).map { "\(kind)(destination=\($0))" } ?? "null" }
                throw .invalidParameter("The provided destination config DestinationConfig(onSuccess=\(describe(change.onSuccess, "OnSuccess")), onFailure=\(describe(change.onFailure, "OnFailure"))) is invalid.")
            }
            if service == "lambda" {
                let target = try? FunctionReference.parse(arn)
                guard let target, (try? wrap({ try state.function(target.name) })) ?? nil != nil else {
                    throw .invalidParameter("The destination ARN \(arn) is invalid.")
                }
                if target.name == function { throw .invalidParameter("You can't specify the function as a destination for itself.") }
            }
        }
    }
}
