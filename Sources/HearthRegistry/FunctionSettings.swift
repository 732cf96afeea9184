import HearthPackages
import HearthModel
import HearthState

/// The configurable part of a function, as CreateFunction and
/// UpdateFunctionConfiguration carry it; nil means "not given".
public struct FunctionSettings: Sendable {
    public var runtime: String?
    public var handler: String?
    public var role: String?
    public var description: String?
    public var memorySize: Int?
    public var timeout: Int?
    public var ephemeralStorage: Int?
    public var environment: [String: String]?
    public var layers: [String]?
    public var imageConfig: ImageConfigOverride?
    public var architectures: [String]?
    /// DeadLetterConfig.TargetArn; "" removes it.
    public var deadLetterTargetArn: String?
    /// VpcConfig: what its sandboxes may reach; `.daemonDefault` removes the function's own choice.
    public var network: NetworkChoice?
    /// LoggingConfig's members as given.
    public var loggingConfig: LoggingConfig.Change?

    public enum NetworkChoice: Sendable, Equatable {
        case daemonDefault
        case chosen(FunctionNetwork)
    }

    public init() {}

    /// A value below or above its range, in Lambda's words.
    static func check(_ field: String, _ value: Int?, _ range: ClosedRange<Int>) throws(ServiceError) {
        guard let value else { return }
        if value < range.lowerBound { throw .validation(field, "\(value)", "Member must have value greater than or equal to \(range.lowerBound)") }
        if value > range.upperBound { throw .validation(field, "\(value)", "Member must have value less than or equal to \(range.upperBound)") }
    }

    /// Checks every given value against Lambda's ranges, with Lambda's exception names.
    public func validate() throws(ServiceError) {
        try loggingConfig?.validate()
        try Self.check("memorySize", memorySize, LambdaLimits.memoryMB)
        try Self.check("timeout", timeout, LambdaLimits.timeoutSeconds)
        let storage = LambdaLimits.ephemeralStorageMB
        if let e = ephemeralStorage, !storage.contains(e) {
            throw .validation("ephemeralStorage.size", "\(e)", "Member must have value between \(storage.lowerBound) and \(storage.upperBound)")
        }
        if let h = handler, h.isEmpty || h.count > 128 || h.contains(where: \.isWhitespace) {
            throw .validation("handler", h, "Member must satisfy regular expression pattern: [^\\s]+ and have length at most 128")
        }
        if let d = description, d.count > 256 {
            throw .validation("description", String(d.prefix(40)) + "...", "Member must have length less than or equal to 256")
        }
        if let r = role, !Self.isRoleARN(r) {
            throw .validation("role", r, "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")
        }
        if let runtime, (try? RuntimeCatalog.lookup(runtime)) == nil {
            throw .invalidParameter("Value \(runtime) at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [\(RuntimeCatalog.names.map(\.0).joined(separator: ", "))]")
        }
        if let layers, layers.count > 5 {
            throw .invalidParameter("Cannot reference more than 5 layers.")
        }
        if let a = architectures {
            guard a.count == 1, a[0] == "x86_64" || a[0] == "arm64" else {
                throw .validation("architectures", a.joined(separator: ","), "Member must have length 1 and satisfy enum value set: [x86_64, arm64]")
            }
            #if arch(x86_64)
            if a[0] != "x86_64" { throw .invalidParameter("This host runs x86_64 functions only; architectures \(a[0]) cannot run here.") }
            #else
            if a[0] != "arm64" { throw .invalidParameter("This host runs arm64 functions only; architectures \(a[0]) cannot run here.") }
            #endif
        }
        if let target = deadLetterTargetArn, !target.isEmpty, !Self.isQueueOrTopicARN(target) {
            throw .invalidParameter("The provided DeadLetterConfig target ARN \(target) is invalid: it must name an SQS queue or an SNS topic.")
        }
        if let env = environment {
            do { try LambdaEnvironment.validateUserVariables(env.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) } catch {
                // Lambda's own words, without HearthError's "invalid argument:" before them.
                if case .invalidArgument(let message) = error as? HearthError { throw .invalidParameter(message) }
                throw .invalidParameter("\(error)")
            }
        }
    }

    /// arn:aws:sqs:REGION:ACCOUNT:NAME or arn:aws:sns:REGION:ACCOUNT:NAME.
    static func isQueueOrTopicARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts[0] == "arn" && parts[1].hasPrefix("aws") && (parts[2] == "sqs" || parts[2] == "sns")
            && !parts[3].isEmpty && parts[4].count == 12 && parts[4].allSatisfy(\.isNumber) && !parts[5].isEmpty
    }

    /// arn:aws:iam::123456789012:role/name (any partition). Kept, never used: Hearth has no IAM.
    static func isRoleARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "iam", parts[3].isEmpty,
              parts[4].count == 12, parts[4].allSatisfy(\.isNumber), parts[5].hasPrefix("role/"), parts[5].count > 5 else { return false }
        return parts[5].dropFirst(5).allSatisfy { $0.isLetter || $0.isNumber || "+=,.@-_/".contains($0) }
    }
}

/// The package a function runs.
public enum FunctionCode: Sendable {
    /// The zip (CreateFunction's ZipFile, base64-decoded into a file with no name in the code directory).
    case zip(UnnamedFile)
    /// A local container image: an OCI layout directory (DIR[:TAG]), an OCI archive or a docker save tarball.
    case image(uri: String)
}
