import Foundation

/// The six fields of an EventBridge cron expression: minutes, hours, day-of-month (with `L`, `LW` and
/// `NW`), month (1-12 or JAN-DEC), day-of-week (1-7 = SUN-SAT, with `L`, `NL` and `N#K`) and year
/// (1970-2199). One of day-of-month and day-of-week must be `?`.
public struct CronExpression: Sendable, Equatable {
    var minutes: Set<Int>
    var hours: Set<Int>
    var months: Set<Int>
    var years: Set<Int>
    var dayOfMonth: DayOfMonth
    var dayOfWeek: DayOfWeek

    enum DayOfMonth: Sendable, Equatable {
        case any
        case days(Set<Int>)
        /// The last day, or `offset` days before it.
        case last(offset: Int)
        /// The last weekday of the month.
        case lastWeekday
        /// The weekday nearest this day, within the month.
        case nearestWeekday(Int)
    }

    enum DayOfWeek: Sendable, Equatable {
        case any
        case days(Set<Int>)
        /// The last such weekday of the month.
        case last(Int)
        /// The `n`th such weekday of the month.
        case nth(weekday: Int, n: Int)
    }

    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    init?(_ text: String) {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map { String($0).uppercased() }
        guard fields.count == 6,
              let minutes = Self.values(fields[0], 0...59, names: []),
              let hours = Self.values(fields[1], 0...23, names: []),
              let months = Self.values(fields[3], 1...12, names: Self.monthNames),
              let years = Self.values(fields[5], 1970...2199, names: []),
              let dom = Self.dayOfMonth(fields[2]), let dow = Self.dayOfWeek(fields[4]) else { return nil }
        // Exactly one of the two day fields is "?".
        guard (dom == .any) != (dow == .any) else { return nil }
        self.minutes = minutes
        self.hours = hours
        self.months = months
        self.years = years
        dayOfMonth = dom
        dayOfWeek = dow
    }

    /// A field of numbers: `*`, `N`, `A-B`, `A/S`, `*/S`, `A-B/S`, comma lists of them; names for months and days.
    static func values(_ field: String, _ range: ClosedRange<Int>, names: [String]) -> Set<Int>? {
        var out = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            let stepParts = part.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { return nil }
            var step = 1
            if stepParts.count == 2 {
                guard let s = Int(stepParts[1]), s > 0, s <= range.upperBound else { return nil }
                step = s
            }
            let base = stepParts[0]
            var low: Int, high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                guard let a = number(base[..<dash], names: names, offset: range.lowerBound),
                      let b = number(base[base.index(after: dash)...], names: names, offset: range.lowerBound) else { return nil }
                (low, high) = (a, b)
            } else {
                guard let a = number(base, names: names, offset: range.lowerBound) else { return nil }
                // "A/S" runs from A to the end of the range.
                (low, high) = (a, stepParts.count == 2 ? range.upperBound : a)
            }
            guard range.contains(low), range.contains(high), low <= high else { return nil }
            out.formUnion(stride(from: low, through: high, by: step))
        }
        return out.isEmpty ? nil : out
    }

    static func number(_ text: Substring, names: [String], offset: Int) -> Int? {
        if let n = Int(text) { return n }
        return names.firstIndex(of: String(text)).map { $0 + offset }
    }

    static func dayOfMonth(_ field: String) -> DayOfMonth? {
        if field == "?" { return .any }
        if field == "L" { return .last(offset: 0) }
        if field == "LW" { return .lastWeekday }
        if field.hasPrefix("L-"), let n = Int(field.dropFirst(2)), (1...30).contains(n) { return .last(offset: n) }
        if field.hasSuffix("W"), let n = Int(field.dropLast()), (1...31).contains(n) { return .nearestWeekday(n) }
        return values(field, 1...31, names: []).map { .days($0) }
    }

    static func dayOfWeek(_ field: String) -> DayOfWeek? {
        if field == "?" { return .any }
        if field == "L" { return .last(7) }
        if field.hasSuffix("L"), let d = number(field.dropLast(), names: dayNames, offset: 1), (1...7).contains(d) { return .last(d) }
        if let hash = field.firstIndex(of: "#") {
            guard let d = number(field[..<hash], names: dayNames, offset: 1), (1...7).contains(d),
                  let n = Int(field[field.index(after: hash)...]), (1...5).contains(n) else { return nil }
            return .nth(weekday: d, n: n)
        }
        return values(field, 1...7, names: dayNames).map { .days($0) }
    }

    /// Whether the schedule runs on this local date.
    func matches(year: Int, month: Int, day: Int, in local: LocalTime) -> Bool {
        guard years.contains(year), months.contains(month) else { return false }
        let length = local.daysIn(year, month)
        switch dayOfMonth {
        case .any: break
        case .days(let days): return days.contains(day)
        case .last(let offset): return day == length - offset
        case .lastWeekday:
            var d = length
            while [1, 7].contains(local.weekday(year, month, d)) { d -= 1 }
            return day == d
        case .nearestWeekday(let n):
            guard n <= length else { return false }
            var target = n
            switch local.weekday(year, month, n) {
            case 7: target = n == 1 ? 3 : n - 1  // Saturday: the Friday before, or Monday the 3rd
            case 1: target = n == length ? n - 2 : n + 1  // Sunday: the Monday after, or the Friday before at the month's end
            default: break
            }
            return day == target
        }
        let weekday = local.weekday(year, month, day)
        switch dayOfWeek {
        case .any: return true
        case .days(let days): return days.contains(weekday)
        case .last(let w): return weekday == w && day + 7 > length
        case .nth(let w, let n): return weekday == w && (day - 1) / 7 + 1 == n
        }
    }

    /// The first time after `after`, walking local dates (at most ten years ahead).
    func next(after: Date, in local: LocalTime) -> Date? {
        let start = local.parts(after)
        var (year, month, day) = (start.year, start.month, start.day)
        let hours = self.hours.sorted(), minutes = self.minutes.sorted()
        for _ in 0..<3700 {
            if year > 2199 { return nil }
            if matches(year: year, month: month, day: day, in: local) {
                for h in hours {
                    for m in minutes {
                        // A local time the clock skips is skipped; one it repeats is taken once, at its first instant.
                        guard let date = local.date(year, month, day, h, m), date > after else { continue }
                        return date
                    }
                }
            }
            day += 1
            if day > local.daysIn(year, month) {
                day = 1
                month += 1
                if month > 12 {
                    month = 1
                    year += 1
                }
            }
        }
        return nil
    }
}
