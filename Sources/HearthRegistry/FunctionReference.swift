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

    /// Parses `text` and merges `qualifier`; the two must agree when both are given.
    public static func parse(_ text: String, qualifier: String? = nil) throws(ServiceError) -> FunctionReference {
        guard !text.isEmpty, text.utf8.count <= 256 else {
            throw .validation("functionName", String(text.prefix(80)), "Member must have length less than or equal to 256")
        }
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 7, parts[0] == "arn", parts[2] == "lambda", parts[5] == "function" {
            parts = Array(parts[6...])
        } else if parts.count >= 3, parts[1] == "function", parts[0].count == 12, parts[0].allSatisfy(\.isNumber) {
            parts = Array(parts[2...])
        }
        guard parts.count == 1 || parts.count == 2 else {
            throw .validation("functionName", text, "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
        }
        let name = parts[0]
        try validateName(name)
        var resolved = FunctionReference(name: name, qualifier: parts.count == 2 ? parts[1] : nil)
        if let qualifier, !qualifier.isEmpty {
            if let inName = resolved.qualifier, inName != qualifier {
                throw .invalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
            }
            resolved.qualifier = qualifier
        }
        if let q = resolved.qualifier { try validateQualifier(q) }
        return resolved
    }

    public static func validateName(_ name: String) throws(ServiceError) {
        guard !name.isEmpty, name.count <= maxNameLength,
              name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSetASCII.alnum($0) || $0 == "-" || $0 == "_") }) else {
            throw .validation("functionName", name, "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length between 1 and 64")
        }
    }

    static func validateQualifier(_ q: String) throws(ServiceError) {
        guard q == "$LATEST" || (!q.isEmpty && q.count <= 128 && q.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSetASCII.alnum($0) || $0 == "-" || $0 == "_") })) else {
            throw .validation("qualifier", q, "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")
        }
    }
}

enum CharacterSetASCII {
    static func alnum(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9")
    }
}
