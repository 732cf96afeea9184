import Foundation

/// A CloudWatch Logs filter pattern (FilterLogEvents' filterPattern), for the forms Lambda users write:
/// terms that must all occur (case-sensitive, "quoted" for phrases), `?term` of which one must occur,
/// `-term` that must not, `%regular expression%`, and JSON selectors such as `{ $.level = "ERROR" }`,
/// `{ $.latency > 100 && $.user.id = * }` with `=`, `!=`, `<`, `<=`, `>`, `>=`, `IS NULL|TRUE|FALSE`,
/// `NOT EXISTS`, `&&`, `||` and parentheses. Space-delimited patterns (`[a, b, ...]`) are refused by name.
public struct FilterPattern: Sendable {
    indirect enum Node: Sendable {
        case all([Node])
        case any([Node])
        case not(Node)
        case contains(String)
        case regex(CompiledRegex)
        case json(JSONCondition)
        case always
    }

    let root: Node

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(Invalid) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty {
            root = .always
        } else if trimmed.hasPrefix("{") {
            guard trimmed.hasSuffix("}") else { throw Invalid(description: "Invalid filter pattern: a JSON pattern ends with '}'") }
            var parser = JSONPatternParser(Array(trimmed.dropFirst().dropLast()))
            root = .json(try parser.parse())
        } else if trimmed.hasPrefix("[") {
            throw Invalid(description: "Invalid filter pattern: space-delimited patterns ([...]) are not supported by Hearth")
        } else if trimmed.count >= 2, trimmed.hasPrefix("%"), trimmed.hasSuffix("%") {
            let expression = String(trimmed.dropFirst().dropLast())
            guard let regex = CompiledRegex(expression) else {
                throw Invalid(description: "Invalid filter pattern: '\(expression)' is not a regular expression")
            }
            root = .regex(regex)
        } else {
            root = try Self.terms(trimmed)
        }
    }

    /// Terms split at spaces outside quotes.
    static func terms(_ text: String) throws(Invalid) -> Node {
        var required: [Node] = [], optional: [Node] = []
        var chars = Array(text)[...]
        while let first = chars.first {
            if first == " " { chars = chars.dropFirst(); continue }
            var prefix: Character?
            if first == "?" || first == "-" { prefix = first; chars = chars.dropFirst() }
            var term = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                guard let close = chars.firstIndex(of: "\"") else { throw Invalid(description: "Invalid filter pattern: a quote is not closed") }
                term = String(chars[chars.startIndex..<close])
                chars = chars[(close + 1)...]
            } else {
                let end = chars.firstIndex(of: " ") ?? chars.endIndex
                term = String(chars[chars.startIndex..<end])
                chars = chars[end...]
            }
            guard !term.isEmpty else { continue }
            switch prefix {
            case "?": optional.append(.contains(term))
            case "-": required.append(.not(.contains(term)))
            default: required.append(.contains(term))
            }
        }
        if !optional.isEmpty { required.append(.any(optional)) }
        return .all(required)
    }

    public func matches(_ message: String) -> Bool { evaluate(root, message, json: nil) }

    private func evaluate(_ node: Node, _ message: String, json: Any?) -> Bool {
        switch node {
        case .always: return true
        case .all(let nodes): return nodes.allSatisfy { evaluate($0, message, json: json) }
        case .any(let nodes): return nodes.contains { evaluate($0, message, json: json) }
        case .not(let inner): return !evaluate(inner, message, json: json)
        case .contains(let term): return message.contains(term)
        case .regex(let regex): return regex.matches(message)
        case .json(let condition):
            guard let data = message.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
                  object is [String: Any] || object is [Any] else { return false }
            return condition.holds(for: object)
        }
    }
}
