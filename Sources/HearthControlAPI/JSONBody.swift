import Foundation
import HearthModel
import HearthPackages
import HearthRegistry
import HearthSupervisor

/// A request's JSON object with typed reads that name the field on a wrong type.
package struct JSONBody {
    let object: [String: Any]
    /// Long strings of a spooled body, decoded into files (`upload`).
    let spills: SpilledJSON?

    package init(_ bytes: [UInt8], required: Bool = true) throws(ServiceError) {
        try self.init(bytes, required: required, spills: nil)
    }

    init(_ bytes: [UInt8], required: Bool, spills: SpilledJSON?) throws(ServiceError) {
        self.spills = spills
        if bytes.isEmpty && !required {
            object = [:]
            return
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(bytes)), let object = parsed as? [String: Any] else {
            throw ServiceError(status: 400, type: "InvalidRequestContentException", message: "Could not parse request body into json: the body is not a JSON object")
        }
        self.object = object
    }

    init(object: [String: Any], spills: SpilledJSON? = nil) {
        self.object = object
        self.spills = spills
    }

    /// A base64 field (a zip) as a file of its decoded bytes in `directory`, whether the body held it in
    /// memory or it was decoded into a file while the body was read; nil when absent.
    func upload(_ key: String, directory: String) throws(ServiceError) -> UnnamedFile? {
        guard let text = try string(key) else { return nil }
        if let spilled = spills?.file(for: text) {
            guard let file = spilled else { throw .invalidParameter("\(key) is not valid base64") }
            return file
        }
        guard let bytes = Data(base64Encoded: text) else { throw .invalidParameter("\(key) is not valid base64") }
        do {
            let file = try UnnamedFile(directory: directory)
            try file.write(Array(bytes))
            return file
        } catch {
            throw .service("cannot keep the upload: \(error)")
        }
    }

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

    /// A timestamp as rest-json sends it: seconds since 1970, possibly fractional.
    func timestamp(_ key: String) throws(ServiceError) -> Double? {
        guard has(key) else { return nil }
        guard let number = object[key] as? NSNumber, number.doubleValue.isFinite, abs(number.doubleValue) < 1e11 else {
            throw wrongType(key, "a timestamp (seconds since 1970)")
        }
        return number.doubleValue
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
        return JSONBody(object: value, spills: spills)
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
