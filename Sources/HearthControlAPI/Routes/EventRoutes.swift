import Foundation
import HearthEvents
import HearthModel
import HearthRegistry

/// Hearth's own view of a function's asynchronous events: failures that could not be delivered
/// anywhere (`hearth events NAME`), re-driven or deleted.
extension LambdaAPI {
    func eventFailures(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let failures = try await service.eventFailures(ref.name)
        let queued = await service.queueStats()?.queued[ref.name] ?? 0
        return .json(200, [
            "Queued": queued,
            "Failures": failures.map { f -> [String: Any] in
                var row: [String: Any] = ["Id": f.id, "RequestId": f.requestId, "Reason": f.reason, "FailedAt": f.failedAt,
                                          "Record": (try? JSONSerialization.jsonObject(with: Data(f.record))) ?? NSNull()]
                if let q = f.qualifier { row["Qualifier"] = q }
                return row
            },
        ])
    }

    /// POST .../events/redrive or DELETE .../events, with {"Ids": [...]} for some (all when left out).
    func settleEventFailures(_ request: APIRequest, _ params: [String: String], redrive: Bool) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        _ = try functions.latest(ref.name)
        let body = try await request.json(required: false)
        var ids: [Int64]?
        if body.has("Ids") {
            guard let list = body.object["Ids"] as? [Any] else { throw .invalidParameter("Ids must be a list of failure ids") }
            ids = try list.map { (item: Any) throws(ServiceError) -> Int64 in
                guard let n = item as? Int else { throw .invalidParameter("Ids must be a list of failure ids, got \(item)") }
                return Int64(n)
            }
        }
        let count = try await service.settleFailures(ref.name, ids: ids, redrive: redrive)
        return .json(200, [redrive ? "Redriven" : "Deleted": count])
    }
}
