import Foundation

/// A CloudWatch Logs Insights query, the commands tools run on Lambda logs: `fields`, `display`,
/// `filter`, `parse` (glob and named-group regex), `stats` (count, sum, avg, min, max, pct, stddev,
/// count_distinct; `by` fields or `bin(5m)`), `sort` and `limit`, with comparisons, `like`/`=~`,
/// `in`, `and`/`or`/`not`, arithmetic and the functions `ispresent`, `isempty`, `strlen`, `tolower`,
/// `toupper`, `abs`, `ceil`, `floor` and `bin`.
public struct InsightsQuery: Sendable {
    indirect enum Expr: Sendable {
        case field(String)
        case literal(InsightsValue)
        case unary(String, Expr)
        case binary(String, Expr, Expr)
        case like(Expr, Pattern, negated: Bool)
        case member(Expr, [Expr], negated: Bool)
        case call(String, [Expr])
    }

    enum Pattern: Sendable {
        case regex(CompiledRegex)
        case substring(String)
    }

    struct Aggregate: Sendable {
        var function: String
        var arguments: [Expr]
        var name: String
    }

    enum Command: Sendable {
        case fields([(Expr, String)], display: Bool)
        case filter(Expr)
        case parse(field: Expr, pattern: CompiledRegex, names: [String])
        case stats([Aggregate], by: [(Expr, String)])
        case sort([(Expr, Bool)])
        case limit(Int)
    }

    let commands: [Command]

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(Invalid) {
        var parser = InsightsParser(Array(text))
        commands = try parser.query()
    }

    /// The rows a query gives over `events` (oldest first) with their log groups: each its fields in
    /// output order. `limit` caps what a query without `limit` returns (StartQuery's limit, 10,000 at most).
    public func run(_ events: [(group: String, event: LogEvent)], account: String, limit: Int) -> (rows: [[(field: String, value: String)]], matched: Int) {
        var rows: [[String: InsightsValue]] = events.map { InsightsFields.of($0.event, group: $0.group, account: account) }
        var output: [String]? = nil
        var aggregated = false
        var limited: Int?
        for command in commands {
            switch command {
            case .fields(let list, let display):
                for i in rows.indices { for (expr, name) in list { rows[i][name] = Self.evaluate(expr, rows[i]) } }
                let names = list.map(\.1)
                output = display ? names : (output ?? []) + names.filter { !(output ?? []).contains($0) }
            case .filter(let expr):
                rows = rows.filter { Self.truthy(Self.evaluate(expr, $0)) }
            case .parse(let field, let regex, let names):
                for i in rows.indices {
                    guard let text = Self.evaluate(field, rows[i]).text, let match = regex.firstMatch(text) else { continue }
                    for (n, name) in names.enumerated() where n + 1 < match.numberOfRanges {
                        if let range = Range(match.range(at: n + 1), in: text) { rows[i][name] = .string(String(text[range])) }
                    }
                }
            case .stats(let aggregates, let groups):
                rows = Self.stats(rows, aggregates, by: groups)
                output = groups.map(\.1) + aggregates.map(\.name)
                aggregated = true
            case .sort(let keys):
                rows.sort { a, b in
                    for (expr, descending) in keys {
                        let x = Self.evaluate(expr, a), y = Self.evaluate(expr, b)
                        // Absent values sort last either way.
                        if !x.isPresent || !y.isPresent {
                            if x.isPresent != y.isPresent { return x.isPresent }
                            continue
                        }
                        guard let order = InsightsValue.compare(x, y), order != 0 else { continue }
                        return descending ? order > 0 : order < 0
                    }
                    return false
                }
            case .limit(let n):
                limited = n
                rows = Array(rows.prefix(n))
            }
        }
        let matched = rows.count
        if limited == nil { rows = Array(rows.prefix(limit)) }
        let columns = output ?? ["@timestamp", "@message", "@logStream", "@log"]
        return (rows.map { row in
            var out: [(field: String, value: String)] = []
            for name in columns {
                guard let value = row[name], value.isPresent else { continue }
                if name == "@timestamp" || name.hasPrefix("bin("), case .number(let ms) = value {
                    out.append((name, LogTime.insights(milliseconds: Int64(ms))))
                } else if let text = value.text {
                    out.append((name, text))
                }
            }
            if !aggregated, let stream = row["@logStream"]?.text, let time = row["@timestamp"]?.number {
                out.append(("@ptr", Data("\(stream)|\(InsightsValue.format(time))".utf8).base64EncodedString()))
            }
            return out
        }, matched)
    }

    static func truthy(_ value: InsightsValue) -> Bool {
        switch value {
        case .none: return false
        case .number(let n): return n != 0
        case .string(let s): return !s.isEmpty && s != "false"
        }
    }

    static func evaluate(_ expr: Expr, _ row: [String: InsightsValue]) -> InsightsValue {
        switch expr {
        case .field(let name): return row[name] ?? .none
        case .literal(let value): return value
        case .unary(let op, let inner):
            let value = evaluate(inner, row)
            if op == "not" { return .number(truthy(value) ? 0 : 1) }
            return value.number.map { .number(-$0) } ?? .none
        case .binary(let op, let a, let b):
            if op == "and" { return .number(truthy(evaluate(a, row)) && truthy(evaluate(b, row)) ? 1 : 0) }
            if op == "or" { return .number(truthy(evaluate(a, row)) || truthy(evaluate(b, row)) ? 1 : 0) }
            let x = evaluate(a, row), y = evaluate(b, row)
            switch op {
            case "+", "-", "*", "/", "%":
                guard let l = x.number, let r = y.number else { return .none }
                switch op {
                case "+": return .number(l + r)
                case "-": return .number(l - r)
                case "*": return .number(l * r)
                case "/": return r == 0 ? .none : .number(l / r)
                default: return r == 0 ? .none : .number(l.truncatingRemainder(dividingBy: r))
                }
            default:
                guard let order = InsightsValue.compare(x, y) else { return .number(op == "!=" ? 1 : 0) }
                let holds: Bool
                switch op {
                case "=": holds = order == 0
                case "!=": holds = order != 0
                case "<": holds = order < 0
                case "<=": holds = order <= 0
                case ">": holds = order > 0
                default: holds = order >= 0
                }
                return .number(holds ? 1 : 0)
            }
        case .like(let inner, let pattern, let negated):
            guard let text = evaluate(inner, row).text else { return .number(negated ? 1 : 0) }
            let found: Bool
            switch pattern {
            case .substring(let s): found = text.contains(s)
            case .regex(let regex): found = regex.matches(text)
            }
            return .number(found != negated ? 1 : 0)
        case .member(let inner, let list, let negated):
            let value = evaluate(inner, row)
            let found = list.contains { InsightsValue.compare(value, evaluate($0, row)) == 0 }
            return .number(found != negated ? 1 : 0)
        case .call(let name, let arguments):
            let values = arguments.map { evaluate($0, row) }
            let first = values.first ?? .none
            switch name {
            case "ispresent": return .number(first.isPresent ? 1 : 0)
            case "isempty": return .number((first.text ?? "").isEmpty ? 1 : 0)
            case "strlen": return first.text.map { .number(Double($0.count)) } ?? .none
            case "tolower": return first.text.map { .string($0.lowercased()) } ?? .none
            case "toupper": return first.text.map { .string($0.uppercased()) } ?? .none
            case "abs": return first.number.map { .number(Swift.abs($0)) } ?? .none
            case "ceil": return first.number.map { .number($0.rounded(.up)) } ?? .none
            case "floor": return first.number.map { .number($0.rounded(.down)) } ?? .none
            case "bin":
                guard let period = first.number, period > 0, let time = row["@timestamp"]?.number else { return .none }
                return .number((time / period).rounded(.down) * period)
            default: return .none
            }
        }
    }

    static func stats(_ rows: [[String: InsightsValue]], _ aggregates: [Aggregate], by groups: [(Expr, String)]) -> [[String: InsightsValue]] {
        var order: [[InsightsValue]] = []
        var members: [[InsightsValue]: [[String: InsightsValue]]] = [:]
        for row in rows {
            let key = groups.map { evaluate($0.0, row) }
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(row)
        }
        if groups.isEmpty && order.isEmpty { order = [[]]; members[[]] = [] }
        return order.map { key in
            let group = members[key] ?? []
            var out: [String: InsightsValue] = [:]
            for (i, (_, name)) in groups.enumerated() { out[name] = key[i] }
            for aggregate in aggregates { out[aggregate.name] = Self.aggregate(aggregate, group) }
            return out
        }
    }

    static func aggregate(_ aggregate: Aggregate, _ rows: [[String: InsightsValue]]) -> InsightsValue {
        let argument = aggregate.arguments.first
        let values = argument.map { expr in rows.map { evaluate(expr, $0) }.filter(\.isPresent) } ?? []
        let numbers = values.compactMap(\.number)
        switch aggregate.function {
        case "count": return .number(Double(argument == nil ? rows.count : values.count))
        case "count_distinct": return .number(Double(Set(values.compactMap(\.text)).count))
        case "sum": return numbers.isEmpty ? .none : .number(numbers.reduce(0, +))
        case "avg": return numbers.isEmpty ? .none : .number(numbers.reduce(0, +) / Double(numbers.count))
        case "min": return numbers.min().map(InsightsValue.number) ?? .none
        case "max": return numbers.max().map(InsightsValue.number) ?? .none
        case "stddev":
            guard numbers.count > 1 else { return numbers.isEmpty ? .none : .number(0) }
            let mean = numbers.reduce(0, +) / Double(numbers.count)
            return .number((numbers.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(numbers.count - 1)).squareRoot())
        case "pct":
            guard !numbers.isEmpty, aggregate.arguments.count == 2,
                  let p = evaluate(aggregate.arguments[1], [:]).number, (0...100).contains(p) else { return .none }
            let sorted = numbers.sorted()
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
            return .number(sorted[min(sorted.count - 1, max(0, rank))])
        default: return .none
        }
    }
}
