import Foundation

/// An EventBridge Scheduler expression: `at(yyyy-mm-ddThh:mm:ss)`, `rate(N unit)` or
/// `cron(minutes hours day-of-month month day-of-week year)`, evaluated in a time zone as the Scheduler
/// does across daylight-saving changes: a local time that does not exist (the hour skipped in spring)
/// is skipped, one that happens twice (the hour repeated in autumn) fires once, and a rate of days is
/// days of 24 hours.
public enum ScheduleExpression: Sendable, Equatable {
    /// A one-time schedule at this local time.
    case at(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)
    /// Every `seconds`, from the schedule's start.
    case rate(seconds: Int)
    case cron(CronExpression)

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String) throws(Invalid) -> ScheduleExpression {
        let bad = Invalid(description: "Invalid Schedule Expression \(text.prefix(256)).")
        guard text.hasSuffix(")"), let open = text.firstIndex(of: "(") else { throw bad }
        let kind = text[..<open]
        let body = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        switch kind {
        case "at":
            // yyyy-mm-ddThh:mm:ss
            let parts = body.split(whereSeparator: { "-T:".contains($0) }).map { Int($0) }
            guard body.count == 19, parts.count == 6, let y = parts[0], let mo = parts[1], let d = parts[2], let h = parts[3],
                  let mi = parts[4], let s = parts[5], (1970...2199).contains(y), (1...12).contains(mo), (1...31).contains(d),
                  (0...23).contains(h), (0...59).contains(mi), (0...59).contains(s) else { throw bad }
            return .at(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
        case "rate":
            let parts = body.split(separator: " ")
            guard parts.count == 2, let value = Int(parts[0]), value > 0, value <= 1_000_000 else { throw bad }
            let unit: Int
            switch parts[1] {
            case "minute" where value == 1, "minutes" where value != 1: unit = 60
            case "hour" where value == 1, "hours" where value != 1: unit = 3600
            case "day" where value == 1, "days" where value != 1: unit = 86400
            default: throw bad
            }
            return .rate(seconds: value * unit)
        case "cron":
            guard let cron = CronExpression(body) else { throw bad }
            return .cron(cron)
        default:
            throw bad
        }
    }

    public var isOneTime: Bool { if case .at = self { true } else { false } }

    /// The first time after `after` this schedule fires: for `rate`, counted from `anchor` (the start date,
    /// else the creation time: a rate schedule fires at once); nil when it never fires again.
    public func next(after: Date, timeZone: TimeZone, anchor: Date) -> Date? {
        switch self {
        case .at(let y, let mo, let d, let h, let mi, let s):
            guard let date = LocalTime(timeZone).date(y, mo, d, h, mi, s) else { return nil }
            return date > after ? date : nil
        case .rate(let seconds):
            if anchor > after { return anchor }
            let periods = ((after.timeIntervalSince(anchor)) / Double(seconds)).rounded(.down) + 1
            return anchor.addingTimeInterval(periods * Double(seconds))
        case .cron(let cron):
            return cron.next(after: after, in: LocalTime(timeZone))
        }
    }
}

/// Local wall-clock times of one time zone, converted to instants only when they exist.
struct LocalTime {
    let calendar: Calendar

    init(_ timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// The instant of a local time, or nil when the clock skips it (or the date does not exist).
    func date(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int = 0) -> Date? {
        let wanted = DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
        guard let date = calendar.date(from: wanted) else { return nil }
        let back = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        guard back.year == y, back.month == mo, back.day == d, back.hour == h, back.minute == mi, back.second == s else { return nil }
        return date
    }

    func parts(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return (c.year ?? 1970, c.month ?? 1, c.day ?? 1, c.hour ?? 0, c.minute ?? 0)
    }

    func daysIn(_ year: Int, _ month: Int) -> Int {
        guard let first = calendar.date(from: DateComponents(year: year, month: month, day: 1, hour: 12)),
              let range = calendar.range(of: .day, in: .month, for: first) else { return 28 }
        return range.count
    }

    /// 1 = Sunday ... 7 = Saturday, as cron's day-of-week counts.
    func weekday(_ year: Int, _ month: Int, _ day: Int) -> Int {
        guard let noon = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: 12)) else { return 1 }
        return calendar.component(.weekday, from: noon)
    }
}
