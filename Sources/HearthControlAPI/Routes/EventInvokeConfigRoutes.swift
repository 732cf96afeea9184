import Foundation
import HearthModel
import HearthRegistry
import HearthState

/// Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s) (/2019-09-25/functions/NAME/event-invoke-config):
/// per function, version or alias, as Lambda answers them.
extension LambdaAPI {
    func putEventInvokeConfig(_ request: APIRequest, _ params: [String: String], replace: Bool) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json()
        var change = EventInvokeConfigChange()
        change.maximumRetryAttempts = try body.int("MaximumRetryAttempts")
        change.maximumEventAgeInSeconds = try body.int("MaximumEventAgeInSeconds")
        if let destinations = try body.object("DestinationConfig") {
            change.onSuccess = .some(try Self.destination(destinations, "OnSuccess"))
            change.onFailure = .some(try Self.destination(destinations, "OnFailure"))
        }
        let record = try await service.putEventInvokeConfig(ref, change, replace: replace)
        return .json(200, eventInvokeConfigJSON(record, function: ref.name))
    }

    func getEventInvokeConfig(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        return .json(200, eventInvokeConfigJSON(try functions.eventInvokeConfig(ref), function: ref.name))
    }

    func deleteEventInvokeConfig(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.deleteEventInvokeConfig(try reference(request, params))
        return APIResponse(status: 204)
    }

    func listEventInvokeConfigs(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let all = try functions.eventInvokeConfigs(ref.name)
        let maxItems = try request.query["MaxItems"].map { (text: String) throws(ServiceError) -> Int in
            guard let n = Int(text), (1...50).contains(n) else {
                throw .validation("maxItems", text, "Member must have value between 1 and 50")
            }
            return n
        } ?? 50
        let start = request.query["Marker"].flatMap(Int.init).map { max(0, min($0, all.count)) } ?? 0
        let page = all[start..<min(start + maxItems, all.count)]
        var out: [String: Any] = ["FunctionEventInvokeConfigs": page.map { eventInvokeConfigJSON($0, function: ref.name) }]
        if start + maxItems < all.count { out["NextMarker"] = String(start + maxItems) }
        return .json(200, out)
    }

    /// OnSuccess/OnFailure's Destination; nil when left out or empty.
    static func destination(_ config: JSONBody, _ key: String) throws(ServiceError) -> String? {
        guard let object = try config.object(key), let arn = try object.string("Destination"), !arn.isEmpty else { return nil }
        return arn
    }

    func eventInvokeConfigJSON(_ r: EventInvokeConfigRecord, function: String) -> [String: Any] {
        var out: [String: Any] = [
            "FunctionArn": LambdaARN.function(function, qualifier: r.qualifier, region: region),
            "LastModified": r.lastModified,
            "DestinationConfig": [
                "OnSuccess": r.onSuccess.map { ["Destination": $0] } ?? [String: String](),
                "OnFailure": r.onFailure.map { ["Destination": $0] } ?? [String: String](),
            ],
        ]
        if let v = r.maximumRetryAttempts { out["MaximumRetryAttempts"] = v }
        if let v = r.maximumEventAgeInSeconds { out["MaximumEventAgeInSeconds"] = v }
        return out
    }
}
