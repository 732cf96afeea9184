import Foundation
import HearthModel
import HearthState

/// What Create/UpdateFunctionUrlConfig carry; nil is "not given".
public struct FunctionUrlChange: Sendable, Equatable {
    public var authType: String?
    public var invokeMode: String?
    /// `.some(nil)` clears the CORS settings (`Cors: {}` on an update keeps none).
    public var cors: FunctionUrlCors??

    public init(authType: String? = nil, invokeMode: String? = nil, cors: FunctionUrlCors?? = nil) {
        self.authType = authType
        self.invokeMode = invokeMode
        self.cors = cors
    }
}

/// A URL as the URL listener needs it: which function and alias it invokes, and how.
public struct FunctionUrlTarget: Sendable, Equatable {
    public var function: String
    public var record: FunctionUrlRecord

    public var reference: FunctionReference { FunctionReference(name: function, qualifier: record.qualifier) }
}

/// Function URLs: one per function or alias, checked in Lambda's words (the wording of AWS's recorded answers).
extension FunctionCatalog {
    public static let urlAuthTypes = ["NONE", "AWS_IAM"]
    public static let urlInvokeModes = ["BUFFERED", "RESPONSE_STREAM"]

    public func createFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) throws(ServiceError) -> FunctionUrlRecord {
        let qualifier = try Self.urlQualifier(ref)
        guard let authType = change.authType else { throw .missing("authType") }
        try Self.checkUrl(change)
        try requireTarget(ref.name, qualifier)
        let now = Self.microsecondsNow()
        let record = FunctionUrlRecord(urlId: Self.newUrlId(), qualifier: qualifier, authType: authType, invokeMode: change.invokeMode,
                                       cors: (change.cors ?? nil).flatMap(Self.nonEmpty), creationTime: now, lastModifiedTime: now)
        guard try wrap({ try state.createFunctionUrl(ref.name, record) }) else {
            throw .conflict("Failed to create function url config for [functionArn = \(arn(ref.name, qualifier))]. Error message:  FunctionUrlConfig exists for this Lambda function")
        }
        return record
    }

    public func updateFunctionUrl(_ ref: FunctionReference, _ change: FunctionUrlChange) throws(ServiceError) -> FunctionUrlRecord {
        let qualifier = try Self.urlQualifier(ref)
        try Self.checkUrl(change)
        try requireTarget(ref.name, qualifier)
        guard var record = try wrap({ try state.functionUrl(ref.name, qualifier: qualifier) }) else { throw Self.noSuchUrl }
        if let v = change.authType { record.authType = v }
        if let v = change.invokeMode { record.invokeMode = v }
        if let v = change.cors { record.cors = v.flatMap(Self.nonEmpty) }
        record.lastModifiedTime = Self.microsecondsNow()
        let stored = record
        guard try wrap({ try state.updateFunctionUrl(ref.name, stored) }) else { throw Self.noSuchUrl }
        return stored
    }

    public func functionUrl(_ ref: FunctionReference) throws(ServiceError) -> FunctionUrlRecord {
        let qualifier = try Self.urlQualifier(ref)
        guard let record = try wrap({ try state.functionUrl(ref.name, qualifier: qualifier) }) else { throw Self.noSuchUrl }
        return record
    }

    public func functionUrls(_ function: String) throws(ServiceError) -> [FunctionUrlRecord] {
        try FunctionReference.validateName(function)
        guard try wrap({ try state.function(function) }) != nil else { throw .notFound("Function does not exist") }
        return try wrap { try state.functionUrls(function) }
    }

    public func deleteFunctionUrl(_ ref: FunctionReference) throws(ServiceError) {
        let qualifier = try Self.urlQualifier(ref)
        guard try wrap({ try state.deleteFunctionUrl(ref.name, qualifier: qualifier) }) else { throw Self.noSuchUrl }
    }

    /// The URL with this id, from a table read again only when the state has changed since.
    public func functionUrl(id: String) -> FunctionUrlTarget? {
        let generation = state.generation
        if let hit = urlIndex.withLock({ $0.generation == generation ? $0.byId[id] : nil }) { return hit }
        if urlIndex.withLock({ $0.generation == generation }) { return nil }
        // The generation is read before the table: a change during the read leaves it stale, and it is read again next time.
        guard let all = try? state.allFunctionUrls() else { return nil }
        var byId: [String: FunctionUrlTarget] = [:]
        for (function, record) in all { byId[record.urlId] = FunctionUrlTarget(function: function, record: record) }
        urlIndex.withLock { $0 = (generation, byId) }
        return byId[id]
    }

    /// Lambda's answer when a function, alias or URL is missing (Get and Delete say no more than this).
    static let noSuchUrl = ServiceError.notFound("The resource you requested does not exist.")

    /// A URL's qualifier is an alias or nothing: never $LATEST or a version number.
    static func urlQualifier(_ ref: FunctionReference) throws(ServiceError) -> String? {
        guard let q = ref.qualifier else { return nil }
        let isAlias = !q.isEmpty && !q.allSatisfy(\.isNumber)
            && q.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSetASCII.alnum($0) || $0 == "-" || $0 == "_") }
        guard isAlias else { throw .validation("qualifier", q, #"Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)"#) }
        return q
    }

    static func checkUrl(_ change: FunctionUrlChange) throws(ServiceError) {
        if let v = change.authType, !urlAuthTypes.contains(v) {
            throw .validation("authType", v, "Member must satisfy enum value set: [\(urlAuthTypes.joined(separator: ", "))]")
        }
        if let v = change.invokeMode, !urlInvokeModes.contains(v) {
            throw .validation("invokeMode", v, "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
        }
        guard let cors = change.cors ?? nil else { return }
        if let age = cors.maxAge, !(0...86_400).contains(age) {
            throw .validation("cors.maxAge", "\(age)", "Member must have value less than or equal to 86400")
        }
        for (field, list, count, length) in [("allowHeaders", cors.allowHeaders, 100, 1024), ("allowMethods", cors.allowMethods, 6, 6),
                                             ("allowOrigins", cors.allowOrigins, 100, 253), ("exposeHeaders", cors.exposeHeaders, 100, 1024)] {
            guard let list else { continue }
            if list.count > count { throw .validation("cors.\(field)", "\(list)", "Member must have length less than or equal to \(count)") }
            for item in list where item.isEmpty || item.utf8.count > length {
                throw .validation("cors.\(field)", item, "Member must have length less than or equal to \(length) and greater than or equal to 1")
            }
        }
    }

    /// The function, and the alias when one is named, exist ("Function does not exist", as Create and Update say).
    private func requireTarget(_ function: String, _ qualifier: String?) throws(ServiceError) {
        guard try wrap({ try state.function(function) }) != nil else { throw .notFound("Function does not exist") }
        if let qualifier, try wrap({ try state.alias(function, qualifier) }) == nil { throw .notFound("Function does not exist") }
    }

    /// CORS settings with nothing in them are none.
    static func nonEmpty(_ cors: FunctionUrlCors) -> FunctionUrlCors? { cors == FunctionUrlCors() ? nil : cors }

    static func newUrlId() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// "2026-12-02T19:06:04.123456Z", as Lambda writes a URL's times.
    static func microsecondsNow() -> String {
        let now = Date().timeIntervalSince1970
        let seconds = now.rounded(.down)
        let micros = Int(((now - seconds) * 1_000_000).rounded(.down))
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), micros)
    }
}
