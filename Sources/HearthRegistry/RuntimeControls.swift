import HearthModel
import HearthState

/// PutFunctionRecursionConfig and PutRuntimeManagementConfig: settings clients and infrastructure tools
/// write and read back. Stored and answered as Lambda does; Hearth's runtimes change only when their
/// images are rebuilt, and it sees no event sources through which a loop could form, so neither setting
/// changes how a function runs.
extension FunctionCatalog {
    public static let recursiveLoopValues = ["Terminate", "Allow"]
    public static let updateRuntimeOnValues = ["Auto", "Manual", "FunctionUpdate"]
    static let runtimeVersionArnPattern = #"arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}::runtime:.+"#

    /// GetFunctionRecursionConfig: Terminate until set.
    public func recursiveLoop(_ function: String) throws(ServiceError) -> String {
        guard let value = try wrap({ try state.recursiveLoop(function) }) else { throw .functionNotFound(arn(function)) }
        return value ?? "Terminate"
    }

    public func putRecursiveLoop(_ function: String, _ value: String) throws(ServiceError) -> String {
        guard Self.recursiveLoopValues.contains(value) else {
            throw .validation("recursiveLoop", value, "Member must satisfy enum value set: [Terminate, Allow]")
        }
        guard try wrap({ try state.setRecursiveLoop(function, value) }) else { throw .functionNotFound(arn(function)) }
        return value
    }

    /// GetRuntimeManagementConfig at $LATEST (no qualifier) or a published version: Auto until set.
    public func runtimeManagement(_ ref: FunctionReference) throws(ServiceError) -> RuntimeManagementRecord {
        let qualifier = try runtimeManagementQualifier(ref)
        return try wrap { try state.runtimeManagement(ref.name, qualifier: qualifier) } ?? RuntimeManagementRecord(updateRuntimeOn: "Auto")
    }

    public func putRuntimeManagement(_ ref: FunctionReference, _ record: RuntimeManagementRecord) throws(ServiceError) -> RuntimeManagementRecord {
        guard Self.updateRuntimeOnValues.contains(record.updateRuntimeOn) else {
            throw .validation("updateRuntimeOn", record.updateRuntimeOn, "Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]")
        }
        if let version = record.runtimeVersionArn, !FunctionReference.isRuntimeVersionARN(version) {
            throw .validation("runtimeVersionArn", version, "Member must satisfy regular expression pattern: ^" + Self.runtimeVersionArnPattern + "$")
        }
        switch (record.updateRuntimeOn, record.runtimeVersionArn) {
        case ("Manual", nil): throw .invalidParameter("RuntimeVersionArn is required when UpdateRuntimeOn is Manual.")
        case ("Manual", _), (_, nil): break
        default: throw .invalidParameter("RuntimeVersionArn can be given only when UpdateRuntimeOn is Manual.")
        }
        let qualifier = try runtimeManagementQualifier(ref)
        guard try wrap({ try state.setRuntimeManagement(ref.name, qualifier: qualifier, record) }) else {
            throw .functionNotFound(arn(ref.name))
        }
        return record
    }

    /// The stored key of a reference: nil for $LATEST, else a published version that exists (aliases are not taken).
    private func runtimeManagementQualifier(_ ref: FunctionReference) throws(ServiceError) -> String? {
        guard try wrap({ try state.function(ref.name) }) != nil else { throw .functionNotFound(arn(ref.name)) }
        guard let q = ref.qualifier, q != "$LATEST" else { return nil }
        guard let number = Int(q), try wrap({ try state.version(ref.name, number) }) != nil else {
            throw .functionNotFound(arn(ref.name, q))
        }
        return q
    }
}
