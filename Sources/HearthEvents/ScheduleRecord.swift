import Foundation

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
