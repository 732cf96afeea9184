import HearthModel
/// What a caller names a function by: `name`, `name:qualifier`, a full ARN
/// (`arn:aws:lambda:REGION:ACCOUNT:function:name[:qualifier]`) or a partial
/// one (`ACCOUNT:function:name[:qualifier]`), plus an optional ?Qualifier=.
public struct FunctionReference: Sendable, Equatable {
    public var name: String
    public var qualifier: String?

    public static let maxNameLength = 64

    public init(name: String, qualifier: String? = nil) {
        self.name = name
        self.qualifier = qualifier
    }

    /// The patterns AWS checks a function name against: where it names a function that exists (GetFunction,
    /// Invoke, DeleteFunction and the rest), and where it names one to create.
    static let referencePattern = #"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"#
    static let createPattern = #"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"#
    static let qualifierPattern = #"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"#
    /// Longer input is refused before any pattern runs on it.
    static let maxInputBytes = 1024

    /// Parses `text` and merges `qualifier`; the two must agree when both are given. Every failed constraint is
    /// reported at once, the qualifier's first, as AWS does. A name that fits the pattern but is longer than a
    /// function's name may be is not refused: no function has it, so the lookup answers 404, as on AWS.
    public static func parse(_ text: String, qualifier: String? = nil) throws(ServiceError) -> FunctionReference {
        var failures: [ServiceError.Failure] = []
        if let qualifier, !qualifier.isEmpty {
            if qualifier.count > 128 {
                failures.append(.init(field: "qualifier", value: shown(qualifier), constraint: "Member must have length less than or equal to 128"))
            } else if !matches(qualifier, qualifierPattern) {
                failures.append(.init(field: "qualifier", value: shown(qualifier), constraint: "Member must satisfy regular expression pattern: " + qualifierPattern))
            }
        }
        let found = match(text, referencePattern)
        if found == nil {
            failures.append(.init(field: "functionName", value: shown(text), constraint: "Member must satisfy regular expression pattern: " + referencePattern))
        }
        guard failures.isEmpty, var resolved = found else { throw .validation(failures) }
        if let qualifier, !qualifier.isEmpty {
            if let inName = resolved.qualifier, inName != qualifier {
                throw .invalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
            }
            resolved.qualifier = qualifier
        }
        return resolved
    }

    /// CreateFunction's FunctionName: a name, or an ARN naming one, checked as AWS checks it there.
    public static func parseNew(_ text: String) throws(ServiceError) -> String {
        var failures: [ServiceError.Failure] = []
        if text.count > 140 {
            failures.append(.init(field: "functionName", value: shown(text), constraint: "Member must have length less than or equal to 140"))
        }
        let found = match(text, createPattern)
        if found == nil {
            failures.append(.init(field: "functionName", value: shown(text), constraint: "Member must satisfy regular expression pattern: " + createPattern))
        }
        guard failures.isEmpty, let name = found?.name else { throw .validation(failures) }
        try validateName(name)
        return name
    }

    /// The region a full ARN names (arn:PARTITION:lambda:REGION:...); nil for a name or partial ARN.
    public static func region(of text: String) -> String? {
        guard text.hasPrefix("arn:") else { return nil }
        let parts = text.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
        return parts.count > 4 && !parts[3].isEmpty ? String(parts[3]) : nil
    }

    /// A function's own name: [a-zA-Z0-9-_]+ of at most 64 characters.
    public static func validateName(_ name: String) throws(ServiceError) {
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSetASCII.alnum($0) || $0 == "-" || $0 == "_") }) else {
            throw .validation("functionName", name, "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
        }
        guard name.count <= maxNameLength else {
            var error = ServiceError.validation("functionName", name, "Member must have length less than or equal to \(maxNameLength)")
            error.type = "InvalidParameterValueException"
            throw error
        }
    }

    /// Compiled once: a Regex made from a string costs more than the rest of an invocation's routing.
    private nonisolated(unsafe) static let compiled: [String: Regex<AnyRegexOutput>] = {
        var out: [String: Regex<AnyRegexOutput>] = [:]
        for pattern in [referencePattern, createPattern, qualifierPattern] { out[pattern] = try? Regex(pattern) }
        return out
    }()

    /// A plain name or qualifier (what nearly every request carries) needs no pattern.
    private static func plain(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 128 && text.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
    }

    /// The name and qualifier the pattern's groups found (both patterns number them alike: the name is group 11,
    /// the qualifier 13); nil when `text` does not match.
    private static func match(_ text: String, _ pattern: String) -> FunctionReference? {
        if plain(text) { return FunctionReference(name: text) }
        guard !text.isEmpty, text.utf8.count <= maxInputBytes, let regex = compiled[pattern],
              let found = text.wholeMatch(of: regex), found.output.count > 13, let name = found.output[11].substring else { return nil }
        return FunctionReference(name: String(name), qualifier: found.output[13].substring.map(String.init))
    }

    private static func matches(_ text: String, _ pattern: String) -> Bool {
        if plain(text) || text == "$LATEST" { return true }
        guard !text.isEmpty, text.utf8.count <= maxInputBytes, let regex = compiled[pattern] else { return false }
        return text.wholeMatch(of: regex) != nil
    }

    /// A value as an error repeats it: whole unless it is too long to be anything.
    static func shown(_ text: String) -> String {
        text.utf8.count <= maxInputBytes ? text : String(text.prefix(80)) + "..."
    }
}

enum CharacterSetASCII {
    static func alnum(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9")
    }
}
