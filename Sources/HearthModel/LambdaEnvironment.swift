/// The environment of a Lambda execution environment (reference §2.1): the
/// variables Lambda sets, which users may not set, and the rules for theirs.
public enum LambdaEnvironment {
    /// Set by the platform; a function's configuration may not set them.
    public static let reserved: Set<String> = [
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_MAX_CONCURRENCY",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    ]
    /// Aggregate size of a function's variables, measured as Lambda measures it: their JSON object, compact.
    public static let maxBytes = 4096

    /// Lambda's rules: names [a-zA-Z][a-zA-Z0-9_]+, no reserved names, 4 KB in all.
    public static func validateUserVariables(_ variables: [(String, String)]) throws {
        var reservedUsed: [String] = []
        for (key, value) in variables {
            let bytes = Array(key.utf8)
            let letter = { (b: UInt8) in (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
            guard bytes.count >= 2, letter(bytes[0]), bytes.dropFirst().allSatisfy({ letter($0) || ($0 >= 48 && $0 <= 57) || $0 == 95 }) else {
                throw HearthError.invalidArgument("environment variable name '\(key)' must match [a-zA-Z][a-zA-Z0-9_]+")
            }
            if reserved.contains(key) { reservedUsed.append(key) }
            guard !value.utf8.contains(0) else { throw HearthError.invalidArgument("environment variable \(key) has a NUL byte") }
        }
        if !reservedUsed.isEmpty {
            throw HearthError.invalidArgument(
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: \(reservedUsed.joined(separator: ", "))")
        }
        var json = JSONText()
        json.object(variables)
        let measured = String(decoding: json.bytes, as: UTF8.self)
        // Characters as Java counts them (UTF-16 units), as AWS measures.
        guard measured.utf16.count <= maxBytes else {
            throw HearthError.invalidArgument(
                "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: \(measured)")
        }
    }

    public struct Context: Sendable {
        public var functionName: String
        public var memoryMB: Int
        public var handler: String?
        public var executionEnvironment: String?
        public var region: String
        public var version: String
        public var initializationType: String
        public var logStreamName: String
        public var logging = LoggingConfig.text

        public init(functionName: String, memoryMB: Int, handler: String?, executionEnvironment: String?, region: String = "us-east-1",
                    version: String = "$LATEST", initializationType: String = "on-demand", logStreamName: String) {
            self.functionName = functionName
            self.memoryMB = memoryMB
            self.handler = handler
            self.executionEnvironment = executionEnvironment
            self.region = region
            self.version = version
            self.initializationType = initializationType
            self.logStreamName = logStreamName
        }
    }

    /// Image ENV first, Lambda's overridable defaults, the user's variables, then the reserved ones.
    public static func build(_ context: Context, image: [(String, String)], user: [(String, String)]) -> [(String, String)] {
        var env: [(String, String)] = []
        func set(_ key: String, _ value: String) {
            env.removeAll { $0.0 == key }
            env.append((key, value))
        }
        for (k, v) in image { set(k, v) }
        set("PATH", "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin")
        set("LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib")
        set("LANG", "en_US.UTF-8")
        set("TZ", ":UTC")
        // X-Ray's variables as Lambda sets them, on the sandbox's loopback: no daemon listens there, so an
        // SDK's UDP segments go nowhere, and tools that look for the variables find them.
        set("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
        set("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000")
        set("_AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1")
        set("_AWS_XRAY_DAEMON_PORT", "2000")
        // The JSON format's level filter, for the runtime's own logging to apply; the user may override both.
        if context.logging.isJSON {
            set("AWS_LAMBDA_LOG_FORMAT", "JSON")
            set("AWS_LAMBDA_LOG_LEVEL", context.logging.applicationLogLevel ?? "INFO")
        }
        for (k, v) in user { set(k, v) }
        if let handler = context.handler { set("_HANDLER", handler) }
        set("AWS_REGION", context.region)
        set("AWS_DEFAULT_REGION", context.region)
        if let execution = context.executionEnvironment { set("AWS_EXECUTION_ENV", execution) }
        set("AWS_LAMBDA_FUNCTION_NAME", context.functionName)
        set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", String(context.memoryMB))
        set("AWS_LAMBDA_FUNCTION_VERSION", context.version)
        set("AWS_LAMBDA_INITIALIZATION_TYPE", context.initializationType)
        set("AWS_LAMBDA_LOG_GROUP_NAME", context.logging.group(of: context.functionName))
        set("AWS_LAMBDA_LOG_STREAM_NAME", context.logStreamName)
        set("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
        set("LAMBDA_TASK_ROOT", "/var/task")
        set("LAMBDA_RUNTIME_DIR", "/var/runtime")
        return env
    }
}
