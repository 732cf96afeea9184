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
    /// Invoke, DeleteFunction and the rest), and where it names one to create. Errors quote them; `match` checks them.
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
            } else if !qualifierMatches(qualifier) {
                failures.append(.init(field: "qualifier", value: shown(qualifier), constraint: "Member must satisfy regular expression pattern: " + qualifierPattern))
            }
        }
        let found = match(text, forCreate: false)
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
        let found = match(text, forCreate: true)
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
            throw .validation([.init(field: "functionName", value: name, constraint: "Member must have length less than or equal to \(maxNameLength)")],
                              type: "InvalidParameterValueException")
        }
    }

    /// The patterns are matched by hand, not with Swift's Regex: a Regex compiled at run time costs more than the rest
    /// of an invocation's routing, and its compiled program is memory LeakSanitizer reports at the fuzz target's exit.
    /// The name, qualifier and each optional prefix are whole ':'-separated pieces, so the pattern's optional groups
    /// are tried in its own order (present first), as a backtracking regex would.
    private static func match(_ text: String, forCreate: Bool) -> FunctionReference? {
        guard !text.isEmpty, text.utf8.count <= maxInputBytes else { return nil }
        // A plain name (what nearly every request carries) is its own match.
        if text.utf8.allSatisfy(isWord) { return FunctionReference(name: text) }
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false).map { Array($0.utf8) }
        // The optional prefixes: "arn:PARTITION:lambda:" (three pieces), a region, an account, "function".
        let prefixes: [(count: Int, matches: ([[UInt8]]) -> Bool)] = [
            (3, { $0[0] == Array("arn".utf8) && awsPartition($0[1]) && $0[2] == Array("lambda".utf8) }),
            (1, { region($0[0]) }),
            (1, { $0[0].count == 12 && $0[0].allSatisfy(isDigit) }),
            (1, { $0[0] == Array("function".utf8) }),
        ]
        func rest(_ at: Int, _ prefix: Int) -> FunctionReference? {
            if prefix < prefixes.count {
                let (count, matches) = prefixes[prefix]
                if at + count <= pieces.count, matches(Array(pieces[at..<at + count])), let found = rest(at + count, prefix + 1) { return found }
                return rest(at, prefix + 1)
            }
            let left = pieces.count - at
            guard left == 1 || left == 2, nameBytes(pieces[at], dots: !forCreate) else { return nil }
            if left == 2 { guard qualifierBytes(pieces[at + 1], published: !forCreate) else { return nil } }
            return FunctionReference(name: String(decoding: pieces[at], as: UTF8.self),
                                     qualifier: left == 2 ? String(decoding: pieces[at + 1], as: UTF8.self) : nil)
        }
        return rest(0, 0)
    }

    /// The qualifier parameter's pattern: $LATEST, $LATEST.PUBLISHED, or [a-zA-Z0-9-_$]+.
    private static func qualifierMatches(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= maxInputBytes else { return false }
        return text == "$LATEST" || text == "$LATEST.PUBLISHED" || bytes.allSatisfy { isWord($0) || $0 == UInt8(ascii: "$") }
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    static func isLower(_ b: UInt8) -> Bool { b >= 97 && b <= 122 }
    private static func isLetter(_ b: UInt8) -> Bool { isLower(b) || (b >= 65 && b <= 90) }
    /// [a-zA-Z0-9-_]
    private static func isWord(_ b: UInt8) -> Bool { isLetter(b) || isDigit(b) || b == 45 || b == 95 }

    /// (aws[a-zA-Z-]*)?
    static func awsPartition(_ p: [UInt8]) -> Bool {
        p.isEmpty || (p.starts(with: Array("aws".utf8)) && p.dropFirst(3).allSatisfy { isLetter($0) || $0 == 45 })
    }

    /// (eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}
    static func region(_ p: [UInt8]) -> Bool {
        var r = p[...]
        if r.starts(with: Array("eusc-".utf8)) {
            // The prefix is optional: the region may also begin "eu" itself.
            if region(Array(r.dropFirst(5))) { return true }
        }
        guard r.count >= 2, isLower(r[r.startIndex]), isLower(r[r.startIndex + 1]) else { return false }
        r = r.dropFirst(2)
        /// -[a-z]+-\d at the end.
        func tail(_ t: ArraySlice<UInt8>) -> Bool {
            guard t.count >= 4, t.first == 45, let last = t.last, isDigit(last), t[t.endIndex - 2] == 45 else { return false }
            let letters = t.dropFirst().dropLast(2)
            return !letters.isEmpty && letters.allSatisfy(isLower)
        }
        var candidates = [r]
        if r.starts(with: Array("-gov".utf8)) { candidates.insert(r.dropFirst(4), at: 0) }
        if r.starts(with: Array("-iso".utf8)) {
            let after = r.dropFirst(4)
            if let letter = after.first, isLower(letter) { candidates.insert(after.dropFirst(), at: 0) }
            candidates.insert(after, at: candidates.count - 1)
        }
        return candidates.contains(where: tail)
    }

    /// [a-zA-Z0-9-_\.]+ where a function is named, [a-zA-Z0-9-_]+ where one is created.
    private static func nameBytes(_ p: [UInt8], dots: Bool) -> Bool {
        !p.isEmpty && p.allSatisfy { isWord($0) || (dots && $0 == 46) }
    }

    /// \$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+ (without .PUBLISHED where a function is created).
    private static func qualifierBytes(_ p: [UInt8], published: Bool) -> Bool {
        p == Array("$LATEST".utf8) || (published && p == Array("$LATEST.PUBLISHED".utf8)) || (!p.isEmpty && p.allSatisfy(isWord))
    }

    /// arn:(aws[a-zA-Z-]*):lambda:REGION::runtime:.+ (PutRuntimeManagementConfig's RuntimeVersionArn).
    static func isRuntimeVersionARN(_ text: String) -> Bool {
        let p = text.split(separator: ":", maxSplits: 6, omittingEmptySubsequences: false).map { Array($0.utf8) }
        return p.count == 7 && p[0] == Array("arn".utf8) && !p[1].isEmpty && awsPartition(p[1]) && p[2] == Array("lambda".utf8)
            && region(p[3]) && p[4].isEmpty && p[5] == Array("runtime".utf8) && !p[6].isEmpty
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
