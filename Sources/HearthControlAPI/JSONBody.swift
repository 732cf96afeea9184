import Foundation
import HearthSupervisor

/// A request's JSON object with typed reads that name the field on a wrong type.
package struct JSONBody {
    let object: [String: Any]

    package init(_ bytes: [UInt8], required: Bool = true) throws(ServiceError) {
        if bytes.isEmpty && !required {
            object = [:]
            return
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)), let object = parsed as? [String: Any] else {
            throw ServiceError(status: 400, type: "InvalidRequestContentException", message: "Could not parse request body into json: the body is not a JSON object")
        }
        self.object = object
    }

    init(object: [String: Any]) { self.object = object }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    func string(_ key: String) throws(ServiceError) -> String? {
        guard has(key) else { return nil }
        guard let value = object[key] as? String else { throw wrongType(key, "a string") }
        return value
    }

    func int(_ key: String) throws(ServiceError) -> Int? {
        guard has(key) else { return nil }
        // (Foundation on Linux cannot tell JSON true from 1; a boolean here fails the range checks instead.)
        guard let number = object[key] as? NSNumber, number.doubleValue == number.doubleValue.rounded(),
              abs(number.doubleValue) < 1e15 else { throw wrongType(key, "an integer") }
        return number.intValue
    }

    func bool(_ key: String) throws(ServiceError) -> Bool? {
        guard has(key) else { return nil }
        guard let value = object[key] as? Bool else { throw wrongType(key, "a boolean") }
        return value
    }

    func strings(_ key: String) throws(ServiceError) -> [String]? {
        guard has(key) else { return nil }
        guard let value = object[key] as? [String] else { throw wrongType(key, "a list of strings") }
        return value
    }

    func object(_ key: String) throws(ServiceError) -> JSONBody? {
        guard has(key) else { return nil }
        guard let value = object[key] as? [String: Any] else { throw wrongType(key, "an object") }
        return JSONBody(object: value)
    }

    func stringMap(_ key: String) throws(ServiceError) -> [String: String]? {
        guard has(key) else { return nil }
        guard let value = object[key] as? [String: String] else { throw wrongType(key, "a map of strings") }
        return value
    }

    func doubleMap(_ key: String) throws(ServiceError) -> [String: Double]? {
        guard has(key) else { return nil }
        guard let value = object[key] as? [String: NSNumber] else { throw wrongType(key, "a map of numbers") }
        return value.mapValues(\.doubleValue)
    }

    private func wrongType(_ key: String, _ expected: String) -> ServiceError {
        ServiceError(status: 400, type: "SerializationException", message: "\(key) must be \(expected)")
    }
}
