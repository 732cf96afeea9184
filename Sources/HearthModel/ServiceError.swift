/// An error of Lambda's API: the HTTP status, the exception name clients
/// match on (x-amzn-ErrorType), the message, and for throttles the Reason.
public struct ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var type: String
    public var message: String
    public var reason: String?

    public init(status: Int, type: String, message: String, reason: String? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.reason = reason
    }

    public var description: String { "\(type): \(message)" }

    public static func notFound(_ message: String) -> ServiceError {
        ServiceError(status: 404, type: "ResourceNotFoundException", message: message)
    }

    public static func functionNotFound(_ arn: String) -> ServiceError { notFound("Function not found: \(arn)") }

    public static func invalidParameter(_ message: String) -> ServiceError {
        ServiceError(status: 400, type: "InvalidParameterValueException", message: message)
    }

    /// Lambda's wording for a value outside its model's constraints.
    public static func validation(_ field: String, _ value: String, _ constraint: String) -> ServiceError {
        validation([Failure(field: field, value: value, constraint: constraint)])
    }

    /// One failed constraint of a request's member, as AWS words it in a validation error.
    public struct Failure: Sendable, Equatable {
        public var field: String, value: String, constraint: String
        public init(field: String, value: String, constraint: String) {
            self.field = field
            self.value = value
            self.constraint = constraint
        }
    }

    /// Every failed constraint at once: "2 validation errors detected: Value 'a' at 'x' failed to satisfy constraint: ...; Value ...".
    /// `type`: AWS words some of these as an InvalidParameterValueException (a created function's name too long).
    public static func validation(_ failures: [Failure], type: String = "ValidationException") -> ServiceError {
        let count = failures.count == 1 ? "1 validation error" : "\(failures.count) validation errors"
        let each = failures.map { "Value '\($0.value)' at '\($0.field)' failed to satisfy constraint: \($0.constraint)" }
        return ServiceError(status: 400, type: type, message: "\(count) detected: " + each.joined(separator: "; "))
    }

    /// A required member left out, in AWS's words (the value is null, not the text 'null').
    public static func missing(_ field: String) -> ServiceError {
        ServiceError(status: 400, type: "ValidationException",
                     message: "1 validation error detected: Value null at '\(field)' failed to satisfy constraint: Member must not be null")
    }

    public static func conflict(_ message: String) -> ServiceError {
        ServiceError(status: 409, type: "ResourceConflictException", message: message)
    }

    public static func throttled(_ reason: String, _ message: String = "Rate Exceeded.") -> ServiceError {
        ServiceError(status: 429, type: "TooManyRequestsException", message: message, reason: reason)
    }

    public static func tooLarge(_ message: String) -> ServiceError {
        ServiceError(status: 413, type: "RequestEntityTooLargeException", message: message)
    }

    public static func invalidContent(_ message: String) -> ServiceError {
        ServiceError(status: 400, type: "InvalidRequestContentException", message: message)
    }

    public static func service(_ message: String) -> ServiceError {
        ServiceError(status: 500, type: "ServiceException", message: message)
    }
}
