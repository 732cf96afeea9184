import Foundation

/// A regular expression compiled once (filter patterns' `%...%`, Insights' `/.../`); immutable once
/// made, so shared between the threads that run queries.
struct CompiledRegex: @unchecked Sendable {
    let expression: NSRegularExpression

    init?(_ pattern: String, options: NSRegularExpression.Options = []) {
        guard let expression = try? NSRegularExpression(pattern: pattern, options: options) else { return nil }
        self.expression = expression
    }

    func firstMatch(_ text: String) -> NSTextCheckingResult? {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))
    }

    func matches(_ text: String) -> Bool { firstMatch(text) != nil }
}
