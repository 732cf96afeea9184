import Foundation
import HearthModel
import HearthRegistry
import HearthState

/// Create/Get/Update/Delete/ListFunctionUrlConfig(s) (/2021-10-31/functions/NAME/url[s]), answered field by
/// field as AWS does (InvokeMode only once given, except on Get and List).
extension LambdaAPI {
    func createFunctionUrl(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let change = try await urlChange(request)
        let record = try await service.createFunctionUrl(ref, change)
        return .json(201, functionUrlJSON(record, function: ref.name, lastModified: false))
    }

    func updateFunctionUrl(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let record = try await service.updateFunctionUrl(ref, try await urlChange(request))
        return .json(200, functionUrlJSON(record, function: ref.name, lastModified: true))
    }

    func getFunctionUrl(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        return .json(200, functionUrlJSON(try functions.functionUrl(ref), function: ref.name, lastModified: true, defaults: true))
    }

    func deleteFunctionUrl(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.deleteFunctionUrl(try reference(request, params))
        return APIResponse(status: 204)
    }

    func listFunctionUrls(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let name = try FunctionReference.parse(params["name"] ?? "").name
        let all = try functions.functionUrls(name)
        let maxItems = try request.query["MaxItems"].map { (text: String) throws(ServiceError) -> Int in
            guard let n = Int(text), (1...50).contains(n) else { throw .validation("maxItems", text, "Member must have value between 1 and 50") }
            return n
        } ?? 50
        let start = request.query["Marker"].flatMap(Int.init).map { max(0, min($0, all.count)) } ?? 0
        let page = all[start..<min(start + maxItems, all.count)]
        var out: [String: Any] = ["FunctionUrlConfigs": page.map { functionUrlJSON($0, function: name, lastModified: true, defaults: true) }]
        if start + maxItems < all.count { out["NextMarker"] = String(start + maxItems) }
        return .json(200, out)
    }

    private func urlChange(_ request: APIRequest) async throws(ServiceError) -> FunctionUrlChange {
        let body = try await request.json()
        var change = FunctionUrlChange(authType: try body.string("AuthType"), invokeMode: try body.string("InvokeMode"))
        if body.has("Cors") {
            if let cors = try body.object("Cors") {
                change.cors = .some(FunctionUrlCors(
                    allowCredentials: try cors.bool("AllowCredentials"), allowHeaders: try cors.strings("AllowHeaders"),
                    allowMethods: try cors.strings("AllowMethods"), allowOrigins: try cors.strings("AllowOrigins"),
                    exposeHeaders: try cors.strings("ExposeHeaders"), maxAge: try cors.int("MaxAge")))
            }
        }
        return change
    }

    func functionUrlJSON(_ r: FunctionUrlRecord, function: String, lastModified: Bool, defaults: Bool = false) -> [String: Any] {
        var out: [String: Any] = [
            "AuthType": r.authType,
            "CreationTime": r.creationTime,
            "FunctionArn": LambdaARN.function(function, qualifier: r.qualifier, region: region),
            "FunctionUrl": urlAddress.url(id: r.urlId),
        ]
        if lastModified { out["LastModifiedTime"] = r.lastModifiedTime }
        if let mode = r.invokeMode ?? (defaults ? "BUFFERED" : nil) { out["InvokeMode"] = mode }
        if let cors = r.cors {
            var c: [String: Any] = [:]
            if let v = cors.allowCredentials { c["AllowCredentials"] = v }
            if let v = cors.allowHeaders { c["AllowHeaders"] = v }
            if let v = cors.allowMethods { c["AllowMethods"] = v }
            if let v = cors.allowOrigins { c["AllowOrigins"] = v }
            if let v = cors.exposeHeaders { c["ExposeHeaders"] = v }
            if let v = cors.maxAge { c["MaxAge"] = v }
            out["Cors"] = c
        }
        return out
    }
}
