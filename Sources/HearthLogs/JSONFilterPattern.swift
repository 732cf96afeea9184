import Foundation

/// The condition of a JSON filter pattern (`{ $.a.b[0] = "x*" && $.n > 3 }`).
indirect enum JSONCondition: Sendable {
    case and(JSONCondition, JSONCondition)
    case or(JSONCondition, JSONCondition)
    case compare(path: [JSONStep], op: String, value: Literal)
    case isNull([JSONStep])
    case isBool([JSONStep], Bool)
    case notExists([JSONStep])

    enum Literal: Sendable {
        case string(String)
        case number(Double)
    }

    func holds(for object: Any) -> Bool {
        switch self {
        case .and(let a, let b): return a.holds(for: object) && b.holds(for: object)
        case .or(let a, let b): return a.holds(for: object) || b.holds(for: object)
        case .isNull(let path): return JSONStep.resolve(path, in: object) is NSNull
        case .isBool(let path, let value):
            guard let number = JSONStep.resolve(path, in: object) as? NSNumber, Self.isBoolean(number) else { return false }
            return number.boolValue == value
        case .notExists(let path): return JSONStep.resolve(path, in: object) == nil
        case .compare(let path, let op, let literal):
            guard let found = JSONStep.resolve(path, in: object), !(found is NSNull) else { return false }
            switch literal {
            case .number(let wanted):
                guard let number = found as? NSNumber, !Self.isBoolean(number) else { return false }
                let value = number.doubleValue
                switch op {
                case "=": return value == wanted
                case "!=": return value != wanted
                case "<": return value < wanted
                case "<=": return value <= wanted
                case ">": return value > wanted
                default: return value >= wanted
                }
            case .string(let wanted):
                let text: String
                if let string = found as? String { text = string } else if let number = found as? NSNumber { text = number.stringValue } else { return false }
                let equal = Self.glob(wanted, text)
                return op == "=" ? equal : !equal
            }
        }
    }

    /// JSONSerialization gives true and false as NSNumbers of type "c".
    static func isBoolean(_ number: NSNumber) -> Bool { number.objCType.pointee == 0x63 }

    /// `*` in a string value matches any run of characters.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        guard pattern.contains("*") else { return pattern == text }
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        var rest = Substring(text)
        for (i, part) in parts.enumerated() {
            if i == 0 {
                guard rest.hasPrefix(part) else { return false }
                rest = rest.dropFirst(part.count)
            } else if i == parts.count - 1 {
                return part.isEmpty || rest.hasSuffix(part)
            } else if !part.isEmpty {
                guard let range = rest.range(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
        }
        return true
    }
}

/// One step of a selector: `.name` or `[index]`.
enum JSONStep: Sendable, Equatable {
    case key(String)
    case index(Int)

    static func resolve(_ path: [JSONStep], in object: Any) -> Any? {
        var current: Any = object
        for step in path {
            switch step {
            case .key(let key):
                guard let dictionary = current as? [String: Any], let next = dictionary[key] else { return nil }
                current = next
            case .index(let index):
                guard let array = current as? [Any], array.indices.contains(index) else { return nil }
                current = array[index]
            }
        }
        return current
    }
}

/// Reads the inside of `{ ... }`.
struct JSONPatternParser {
    private var chars: [Character]
    private var at = 0

    init(_ chars: [Character]) { self.chars = chars }

    mutating func parse() throws(FilterPattern.Invalid) -> JSONCondition {
        let condition = try or()
        skipSpaces()
        guard at == chars.count else { throw fail("unexpected '\(String(chars[at...]).prefix(20))'") }
        return condition
    }

    private func fail(_ what: String) -> FilterPattern.Invalid { FilterPattern.Invalid(description: "Invalid filter pattern: \(what)") }

    private mutating func skipSpaces() { while at < chars.count, chars[at].isWhitespace { at += 1 } }

    private mutating func take(_ word: String) -> Bool {
        skipSpaces()
        let word = Array(word)
        guard at + word.count <= chars.count, Array(chars[at..<at + word.count]) == word else { return false }
        at += word.count
        return true
    }

    private mutating func or() throws(FilterPattern.Invalid) -> JSONCondition {
        var left = try and()
        while take("||") { left = .or(left, try and()) }
        return left
    }

    private mutating func and() throws(FilterPattern.Invalid) -> JSONCondition {
        var left = try unary()
        while take("&&") { left = .and(left, try unary()) }
        return left
    }

    private mutating func unary() throws(FilterPattern.Invalid) -> JSONCondition {
        if take("(") {
            let inner = try or()
            guard take(")") else { throw fail("a '(' is not closed") }
            return inner
        }
        let path = try selector()
        if take("IS NULL") { return .isNull(path) }
        if take("IS TRUE") { return .isBool(path, true) }
        if take("IS FALSE") { return .isBool(path, false) }
        if take("NOT EXISTS") { return .notExists(path) }
        for op in ["!=", "<=", ">=", "=", "<", ">"] where take(op) {
            let value = try literal()
            if case .string = value, op != "=" && op != "!=" { throw fail("\(op) compares numbers only") }
            return .compare(path: path, op: op, value: value)
        }
        throw fail("a selector is followed by a comparison")
    }

    private mutating func selector() throws(FilterPattern.Invalid) -> [JSONStep] {
        guard take("$") else { throw fail("a selector starts with '$'") }
        var path: [JSONStep] = []
        while at < chars.count {
            if chars[at] == "." {
                at += 1
                let start = at
                while at < chars.count, chars[at].isLetter || chars[at].isNumber || chars[at] == "_" || chars[at] == "-" || chars[at] == "@" { at += 1 }
                guard at > start else { throw fail("a name follows '.'") }
                path.append(.key(String(chars[start..<at])))
            } else if chars[at] == "[" {
                at += 1
                let start = at
                while at < chars.count, chars[at].isNumber { at += 1 }
                guard at > start, at < chars.count, chars[at] == "]", let index = Int(String(chars[start..<at])) else { throw fail("an index is [digits]") }
                at += 1
                path.append(.index(index))
            } else {
                break
            }
        }
        guard !path.isEmpty else { throw fail("a selector names a field ($.name)") }
        return path
    }

    private mutating func literal() throws(FilterPattern.Invalid) -> JSONCondition.Literal {
        skipSpaces()
        guard at < chars.count else { throw fail("a value follows the comparison") }
        if chars[at] == "\"" {
            at += 1
            let start = at
            while at < chars.count, chars[at] != "\"" { at += 1 }
            guard at < chars.count else { throw fail("a quote is not closed") }
            defer { at += 1 }
            return .string(String(chars[start..<at]))
        }
        let start = at
        while at < chars.count, !chars[at].isWhitespace, chars[at] != ")", chars[at] != "&", chars[at] != "|" { at += 1 }
        let word = String(chars[start..<at])
        if let number = Double(word) { return .number(number) }
        guard !word.isEmpty else { throw fail("a value follows the comparison") }
        return .string(word)
    }
}
