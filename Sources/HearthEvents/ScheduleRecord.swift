import Foundation
import HearthModel

/// One EventBridge Scheduler schedule as Hearth keeps it (CreateSchedule's fields; times are Unix seconds).
public struct ScheduleRecord: Codable, Sendable, Equatable {
    public var name: String
    public var groupName: String
    public var expression: String
    public var timezone: String
    public var description: String?
    public var startDate: Double?
    public var endDate: Double?
    /// ENABLED or DISABLED.
    public var state: String
    /// OFF, or FLEXIBLE with a window of minutes.
    public var flexibleMode: String
    public var flexibleWindowMinutes: Int?
    /// NONE or DELETE.
    public var actionAfterCompletion: String
    public var target: Target
    public var creationDate: Double
    public var lastModificationDate: Double

    public struct Target: Codable, Sendable, Equatable {
        /// A Lambda function's ARN (Hearth's only target).
        public var arn: String
        public var roleArn: String
        public var input: String?
        public var maximumEventAgeInSeconds: Int
        public var maximumRetryAttempts: Int
        public var deadLetterArn: String?

        /// The function (and qualifier) the Arn names; nil when it is not a function's.
        public var function: (name: String, qualifier: String?)? { DestinationTarget.function(arn) }

        public init(arn: String, roleArn: String, input: String?, maximumEventAgeInSeconds: Int = 86400, maximumRetryAttempts: Int = 185,
                    deadLetterArn: String? = nil) {
            self.arn = arn
            self.roleArn = roleArn
            self.input = input
            self.maximumEventAgeInSeconds = maximumEventAgeInSeconds
            self.maximumRetryAttempts = maximumRetryAttempts
            self.deadLetterArn = deadLetterArn
        }
    }

    public init(name: String, groupName: String, expression: String, timezone: String = "UTC", description: String? = nil,
                startDate: Double? = nil, endDate: Double? = nil, state: String = "ENABLED", flexibleMode: String = "OFF",
                flexibleWindowMinutes: Int? = nil, actionAfterCompletion: String = "NONE", target: Target, creationDate: Double,
                lastModificationDate: Double) {
        self.name = name
        self.groupName = groupName
        self.expression = expression
        self.timezone = timezone
        self.description = description
        self.startDate = startDate
        self.endDate = endDate
        self.state = state
        self.flexibleMode = flexibleMode
        self.flexibleWindowMinutes = flexibleWindowMinutes
        self.actionAfterCompletion = actionAfterCompletion
        self.target = target
        self.creationDate = creationDate
        self.lastModificationDate = lastModificationDate
    }

    /// The first time after `after` this schedule fires, within its start and end dates; nil when it is done.
    public func nextFire(after: Double) -> Double? {
        guard let parsed = try? ScheduleExpression.parse(expression), let zone = TimeZone(identifier: timezone) else { return nil }
        var from = after
        // One-time schedules ignore the start and end dates, as the Scheduler does.
        if !parsed.isOneTime, let start = startDate, start - 1 > from { from = start - 1 }
        let anchor = startDate ?? creationDate
        guard let next = parsed.next(after: Date(timeIntervalSince1970: from), timeZone: zone, anchor: Date(timeIntervalSince1970: anchor)) else {
            return nil
        }
        let time = next.timeIntervalSince1970
        if !parsed.isOneTime, let end = endDate, time >= end { return nil }
        return time
    }

    /// A flexible window's offset for one fire, the same on every computation (so a restart does not move it).
    public func offset(for fire: Double) -> Double {
        guard flexibleMode == "FLEXIBLE", let minutes = flexibleWindowMinutes, minutes > 0 else { return 0 }
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in "\(groupName)/\(name)/\(Int64(fire))".utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return Double(hash % UInt64(minutes * 60))
    }
}

extension ScheduleRecord {
    /// A schedule's or group's name: 1-64 of [0-9a-zA-Z-_.].
    public static func isName(_ value: String) -> Bool {
        (1...64).contains(value.count) && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func invalid(_ message: String) -> ServiceError { ServiceError(status: 400, type: "ValidationException", message: message) }

    /// EventBridge Scheduler's constraints on a schedule, in ValidationExceptions that name the field.
    public func validate() throws(ServiceError) {
        for (field, value) in [("name", name), ("groupName", groupName)] {
            guard Self.isName(value) else {
                throw Self.invalid("1 validation error detected: Value '\(value.prefix(80))' at '\(field)' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$ and have length between 1 and 64")
            }
        }
        do { _ = try ScheduleExpression.parse(expression) } catch { throw Self.invalid(error.description) }
        guard TimeZone(identifier: timezone) != nil else { throw Self.invalid("Invalid ScheduleExpressionTimezone \(timezone.prefix(64)).") }
        guard ["ENABLED", "DISABLED"].contains(state) else {
            throw Self.invalid("1 validation error detected: Value '\(state.prefix(40))' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]")
        }
        guard ["NONE", "DELETE"].contains(actionAfterCompletion) else {
            throw Self.invalid("1 validation error detected: Value '\(actionAfterCompletion.prefix(40))' at 'actionAfterCompletion' failed to satisfy constraint: Member must satisfy enum value set: [NONE, DELETE]")
        }
        switch flexibleMode {
        case "OFF":
            guard flexibleWindowMinutes == nil else { throw Self.invalid("MaximumWindowInMinutes is only allowed when Mode is FLEXIBLE.") }
        case "FLEXIBLE":
            guard let minutes = flexibleWindowMinutes, (1...1440).contains(minutes) else {
                throw Self.invalid("MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.")
            }
        default:
            throw Self.invalid("1 validation error detected: Value '\(flexibleMode.prefix(40))' at 'flexibleTimeWindow.mode' failed to satisfy constraint: Member must satisfy enum value set: [OFF, FLEXIBLE]")
        }
        if let start = startDate, let end = endDate, end <= start { throw Self.invalid("The EndDate must be after the StartDate.") }
        guard DestinationTarget.function(target.arn) != nil else {
            throw Self.invalid("Hearth invokes Lambda functions only: the target Arn must be a function ARN, got '\(target.arn.prefix(200))'.")
        }
        guard !target.roleArn.isEmpty else { throw Self.invalid("1 validation error detected: Value null at 'target.roleArn' failed to satisfy constraint: Member must not be null") }
        guard (60...86400).contains(target.maximumEventAgeInSeconds) else {
            throw Self.invalid("1 validation error detected: Value '\(target.maximumEventAgeInSeconds)' at 'target.retryPolicy.maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value between 60 and 86400")
        }
        guard (0...185).contains(target.maximumRetryAttempts) else {
            throw Self.invalid("1 validation error detected: Value '\(target.maximumRetryAttempts)' at 'target.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value between 0 and 185")
        }
        if let input = target.input {
            guard input.utf8.count <= 8192 else { throw Self.invalid("The target Input must be at most 8192 characters.") }
            guard (try? JSONSerialization.jsonObject(with: Data(input.utf8), options: [.fragmentsAllowed])) != nil else {
                throw Self.invalid("The target Input must be JSON for a Lambda function target.")
            }
        }
    }
}
