import Foundation

/// Reads a Logs Insights query, character by character (a regular expression may hold a `|`).
struct InsightsParser {
    typealias Expr = InsightsQuery.Expr
    private let chars: [Character]
    private var at = 0

    init(_ chars: [Character]) { self.chars = chars }

    private func fail(_ what: String) -> InsightsQuery.Invalid {
        InsightsQuery.Invalid(description: "Query is invalid: \(what) (at character \(at + 1))")
    }

    mutating func query() throws(InsightsQuery.Invalid) -> [InsightsQuery.Command] {
        var commands: [InsightsQuery.Command] = []
        repeat {
            commands.append(try command())
            skipSpaces()
        } while take("|")
        skipSpaces()
        guard at == chars.count else { throw fail("unexpected '\(String(chars[at...].prefix(20)))'") }
        return commands
    }

    private mutating func command() throws(InsightsQuery.Invalid) -> InsightsQuery.Command {
        let name = word().lowercased()
        switch name {
        case "fields", "display":
            return .fields(try namedList(), display: name == "display")
        case "filter":
            return .filter(try expression())
        case "sort":
            var keys: [(Expr, Bool)] = []
            repeat {
                let key = try additive()
                let direction = peekWord().lowercased()
                if direction == "asc" || direction == "desc" { _ = word() }
                keys.append((key, direction != "asc"))
            } while take(",")
            return .sort(keys)
        case "limit":
            skipSpaces()
            let digits = word()
            guard let n = Int(digits), (1...10_000).contains(n) else { throw fail("limit takes a number from 1 to 10000") }
            return .limit(n)
        case "parse":
            let field = try primary()
            skipSpaces()
            let regex: CompiledRegex
            var names: [String] = []
            if take("/") {
                regex = try regexLiteral()
                names = Self.groupNames(regex.expression.pattern)
            } else {
                guard case .literal(.string(let glob)) = try primary() else { throw fail("parse takes a \"glob\" or a /regex/") }
                guard peekWord().lowercased() == "as" else { throw fail("parse \"glob\" is followed by as") }
                _ = word()
                repeat { names.append(try fieldName()) } while take(",")
                let escaped = glob.split(separator: "*", omittingEmptySubsequences: false)
                    .map { NSRegularExpression.escapedPattern(for: String($0)) }.joined(separator: "(.*?)")
                guard let made = CompiledRegex(escaped + (glob.hasSuffix("*") ? "$" : ""), options: [.dotMatchesLineSeparators]) else {
                    throw fail("cannot make a pattern of \"\(glob)\"")
                }
                regex = made
            }
            return .parse(field: field, pattern: regex, names: names)
        case "stats":
            var aggregates: [InsightsQuery.Aggregate] = []
            repeat {
                skipSpaces()
                let start = at
                let function = word().lowercased()
                guard ["count", "count_distinct", "sum", "avg", "min", "max", "pct", "stddev"].contains(function), take("(") else {
                    throw fail("stats takes count, count_distinct, sum, avg, min, max, pct or stddev")
                }
                var arguments: [Expr] = []
                skipSpaces()
                if take("*") || peek(")") {
                    // count(*) and count() count rows.
                } else {
                    repeat { arguments.append(try expression()) } while take(",")
                }
                guard take(")") else { throw fail("a '(' is not closed") }
                var name = String(chars[start..<at]).trimmingCharacters(in: .whitespaces)
                if peekWord().lowercased() == "as" { _ = word(); name = try fieldName() }
                aggregates.append(.init(function: function, arguments: arguments, name: name))
            } while take(",")
            var groups: [(Expr, String)] = []
            if peekWord().lowercased() == "by" {
                _ = word()
                groups = try namedList()
            }
            return .stats(aggregates, by: groups)
        default:
            throw fail(name.isEmpty ? "a command is expected" : "unknown command '\(name)'")
        }
    }

    /// `expr [as name], ...`; an unnamed expression is named by its text.
    private mutating func namedList() throws(InsightsQuery.Invalid) -> [(Expr, String)] {
        var list: [(Expr, String)] = []
        repeat {
            skipSpaces()
            let start = at
            let expr = try expression()
            var name = String(chars[start..<at]).trimmingCharacters(in: .whitespaces)
            if case .field(let field) = expr { name = field }
            if peekWord().lowercased() == "as" { _ = word(); name = try fieldName() }
            list.append((expr, name))
        } while take(",")
        return list
    }

    mutating func expression() throws(InsightsQuery.Invalid) -> Expr { try or() }

    private mutating func or() throws(InsightsQuery.Invalid) -> Expr {
        var left = try and()
        while peekWord().lowercased() == "or" { _ = word(); left = .binary("or", left, try and()) }
        return left
    }

    private mutating func and() throws(InsightsQuery.Invalid) -> Expr {
        var left = try not()
        while peekWord().lowercased() == "and" { _ = word(); left = .binary("and", left, try not()) }
        return left
    }

    private mutating func not() throws(InsightsQuery.Invalid) -> Expr {
        if peekWord().lowercased() == "not" { _ = word(); return .unary("not", try not()) }
        return try comparison()
    }

    private mutating func comparison() throws(InsightsQuery.Invalid) -> Expr {
        let left = try additive()
        skipSpaces()
        var negated = false
        if peekWord().lowercased() == "not" { _ = word(); negated = true }
        let keyword = peekWord().lowercased()
        if keyword == "like" || take("=~") {
            if keyword == "like" { _ = word() }
            skipSpaces()
            if take("/") { return .like(left, .regex(try regexLiteral()), negated: negated) }
            guard case .literal(.string(let text)) = try primary() else { throw fail("like takes a \"string\" or a /regex/") }
            return .like(left, .substring(text), negated: negated)
        }
        if keyword == "in" {
            _ = word()
            guard take("[") else { throw fail("in takes a [list]") }
            var list: [Expr] = []
            if !take("]") {
                repeat { list.append(try additive()) } while take(",")
                guard take("]") else { throw fail("a '[' is not closed") }
            }
            return .member(left, list, negated: negated)
        }
        if negated { throw fail("not is followed by like or in here") }
        for op in ["!=", "<=", ">=", "=", "<", ">"] where take(op) { return .binary(op, left, try additive()) }
        return left
    }

    private mutating func additive() throws(InsightsQuery.Invalid) -> Expr {
        var left = try multiplicative()
        while true {
            skipSpaces()
            if take("+") { left = .binary("+", left, try multiplicative()) } else if take("-") { left = .binary("-", left, try multiplicative()) } else { return left }
        }
    }

    private mutating func multiplicative() throws(InsightsQuery.Invalid) -> Expr {
        var left = try unary()
        while true {
            skipSpaces()
            if take("*") { left = .binary("*", left, try unary()) } else if take("/") { left = .binary("/", left, try unary()) } else if take("%") {
                left = .binary("%", left, try unary())
            } else { return left }
        }
    }

    private mutating func unary() throws(InsightsQuery.Invalid) -> Expr {
        skipSpaces()
        if take("-") { return .unary("-", try unary()) }
        return try primary()
    }

    private mutating func primary() throws(InsightsQuery.Invalid) -> Expr {
        skipSpaces()
        guard at < chars.count else { throw fail("a value is expected") }
        let c = chars[at]
        if c == "(" {
            at += 1
            let inner = try expression()
            guard take(")") else { throw fail("a '(' is not closed") }
            return inner
        }
        if c == "\"" || c == "'" {
            at += 1
            var text = ""
            while at < chars.count, chars[at] != c {
                if chars[at] == "\\", at + 1 < chars.count { at += 1 }
                text.append(chars[at])
                at += 1
            }
            guard at < chars.count else { throw fail("a quote is not closed") }
            at += 1
            return .literal(.string(text))
        }
        if c.isNumber {
            let start = at
            while at < chars.count, chars[at].isNumber || chars[at] == "." { at += 1 }
            let digits = String(chars[start..<at])
            // A period (bin(5m), bin(1h)): milliseconds.
            let unitStart = at
            while at < chars.count, chars[at].isLetter { at += 1 }
            let unit = String(chars[unitStart..<at])
            guard let value = Double(digits) else { throw fail("'\(digits)' is not a number") }
            guard !unit.isEmpty else { return .literal(.number(value)) }
            let scale: [String: Double] = ["ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]
            guard let factor = scale[unit] else { throw fail("unknown time unit '\(unit)'") }
            return .literal(.number(value * factor))
        }
        let name = try fieldName()
        if take("(") {
            var arguments: [Expr] = []
            if !take(")") {
                repeat { arguments.append(try expression()) } while take(",")
                guard take(")") else { throw fail("a '(' is not closed") }
            }
            let function = name.lowercased()
            guard ["ispresent", "isempty", "strlen", "tolower", "toupper", "abs", "ceil", "floor", "bin"].contains(function) else {
                throw fail("unknown function '\(name)'")
            }
            return .call(function, arguments)
        }
        return .field(name)
    }

    /// A field's name: letters, digits, `_`, `@`, `.` and `$`, or anything between backquotes.
    private mutating func fieldName() throws(InsightsQuery.Invalid) -> String {
        skipSpaces()
        if take("`") {
            let start = at
            while at < chars.count, chars[at] != "`" { at += 1 }
            guard at < chars.count else { throw fail("a backquote is not closed") }
            defer { at += 1 }
            return String(chars[start..<at])
        }
        let name = word()
        guard !name.isEmpty else { throw fail("a field is expected") }
        return name
    }

    /// The rest of `/.../` after its opening slash.
    private mutating func regexLiteral() throws(InsightsQuery.Invalid) -> CompiledRegex {
        var pattern = ""
        while at < chars.count, chars[at] != "/" {
            if chars[at] == "\\", at + 1 < chars.count, chars[at + 1] == "/" { at += 1 }
            pattern.append(chars[at])
            at += 1
        }
        guard at < chars.count else { throw fail("a /regex/ is not closed") }
        at += 1
        var options: NSRegularExpression.Options = []
        if at < chars.count, chars[at] == "i" { options.insert(.caseInsensitive); at += 1 }
        guard let regex = CompiledRegex(pattern, options: options) else { throw fail("/\(pattern)/ is not a regular expression") }
        return regex
    }

    /// The names of a regular expression's `(?<name>...)` groups, in order.
    static func groupNames(_ pattern: String) -> [String] {
        var names: [String] = []
        var rest = Substring(pattern)
        while let open = rest.range(of: "(?<") {
            rest = rest[open.upperBound...]
            guard let close = rest.firstIndex(of: ">") else { break }
            let name = rest[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { names.append(String(name)) }
            rest = rest[close...]
        }
        return names
    }

    private mutating func skipSpaces() { while at < chars.count, chars[at].isWhitespace { at += 1 } }

    private func peek(_ text: String) -> Bool {
        var i = at
        while i < chars.count, chars[i].isWhitespace { i += 1 }
        let want = Array(text)
        return i + want.count <= chars.count && Array(chars[i..<i + want.count]) == want
    }

    private mutating func take(_ text: String) -> Bool {
        skipSpaces()
        guard peek(text) else { return false }
        at += text.count
        return true
    }

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "@" || c == "." || c == "$" }

    private mutating func word() -> String {
        skipSpaces()
        let start = at
        while at < chars.count, Self.isWordCharacter(chars[at]) { at += 1 }
        return String(chars[start..<at])
    }

    private func peekWord() -> String {
        var copy = self
        return copy.word()
    }
}
