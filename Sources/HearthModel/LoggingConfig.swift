/// A function's LoggingConfig as Lambda keeps it: the format of its logs (Text or JSON), the levels that
/// filter them (JSON only), and the log group they go to.
public struct LoggingConfig: Codable, Sendable, Equatable {
    public var logFormat: String
    public var applicationLogLevel: String?
    public var systemLogLevel: String?
    /// nil: /aws/lambda/NAME.
    public var logGroup: String?

    public static let formats = ["JSON", "Text"]
    public static let applicationLevels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
    public static let systemLevels = ["DEBUG", "INFO", "WARN"]
    /// What a function has until it says otherwise.
    public static let text = LoggingConfig(logFormat: "Text")

    public init(logFormat: String, applicationLogLevel: String? = nil, systemLogLevel: String? = nil, logGroup: String? = nil) {
        self.logFormat = logFormat
        self.applicationLogLevel = applicationLogLevel
        self.systemLogLevel = systemLogLevel
        self.logGroup = logGroup
    }

    public var isJSON: Bool { logFormat == "JSON" }

    /// What CreateFunction and UpdateFunctionConfiguration carry: any of the members.
    public struct Change: Sendable, Equatable {
        public var logFormat: String?
        public var applicationLogLevel: String?
        public var systemLogLevel: String?
        public var logGroup: String?

        public init(logFormat: String? = nil, applicationLogLevel: String? = nil, systemLogLevel: String? = nil, logGroup: String? = nil) {
            self.logFormat = logFormat
            self.applicationLogLevel = applicationLogLevel
            self.systemLogLevel = systemLogLevel
            self.logGroup = logGroup
        }

        /// Every failed constraint at once, in AWS's words, as its validation does.
        public func validate() throws(ServiceError) {
            var failures: [ServiceError.Failure] = []
            if let f = logFormat, !LoggingConfig.formats.contains(f) {
                failures.append(.init(field: "loggingConfig.logFormat", value: f, constraint: "Member must satisfy enum value set: [JSON, Text]"))
            }
            if let l = applicationLogLevel, !LoggingConfig.applicationLevels.contains(l) {
                failures.append(.init(field: "loggingConfig.applicationLogLevel", value: l,
                                      constraint: "Member must satisfy enum value set: [\(LoggingConfig.applicationLevels.joined(separator: ", "))]"))
            }
            if let l = systemLogLevel, !LoggingConfig.systemLevels.contains(l) {
                failures.append(.init(field: "loggingConfig.systemLogLevel", value: l,
                                      constraint: "Member must satisfy enum value set: [\(LoggingConfig.systemLevels.joined(separator: ", "))]"))
            }
            if let g = logGroup {
                if g.isEmpty || g.utf8.count > 512 {
                    failures.append(.init(field: "loggingConfig.logGroup", value: g, constraint: "Member must have length between 1 and 512"))
                } else if !g.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_/#".unicodeScalars.contains($0)) }) {
                    failures.append(.init(field: "loggingConfig.logGroup", value: g, constraint: "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"))
                }
            }
            if !failures.isEmpty { throw .validation(failures) }
        }
    }

    /// This configuration with `change` applied, as Lambda merges one: the members given replace, a JSON
    /// format has both levels (INFO unless given), a Text one has none (and refuses them).
    public func applying(_ change: Change) throws(ServiceError) -> LoggingConfig {
        try change.validate()
        var next = self
        if let f = change.logFormat { next.logFormat = f }
        if let g = change.logGroup { next.logGroup = g }
        if next.isJSON {
            next.applicationLogLevel = change.applicationLogLevel ?? next.applicationLogLevel ?? "INFO"
            next.systemLogLevel = change.systemLogLevel ?? next.systemLogLevel ?? "INFO"
        } else {
            if change.applicationLogLevel != nil || change.systemLogLevel != nil {
                throw .invalidParameter("LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"Json\" and try again.")
            }
            next.applicationLogLevel = nil
            next.systemLogLevel = nil
        }
        return next
    }

    /// The log group of function `name`.
    public func group(of name: String) -> String { logGroup ?? "/aws/lambda/" + name }

    /// Whether a platform line (START, END, REPORT: INFO) is written at this system log level.
    public var writesPlatformInfo: Bool { !isJSON || systemLogLevel != "WARN" }
}
