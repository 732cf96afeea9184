import Foundation
import HearthModel
import HearthRegistry
import HearthState
import HearthSupervisor

/// Lambda's REST API (the paths boto3 and the aws CLI use) plus Hearth's own:
/// /healthz, /metrics, /hearth/v1/status, /hearth/v1/functions/NAME/logs and
/// /hearth/v1/code/SHA256 (GetFunction's Code.Location).
public final class LambdaAPI: Sendable {
    /// All the API reaches of Hearth: changes, invocations and reports go through it, reads through its `functions`.
    public let service: any FunctionService
    let functions: any FunctionReader
    let region: String
    /// Where the URL listener serves function URLs (FunctionUrl in the answers).
    let urlAddress: FunctionUrlAddress
    /// Where code given as S3Bucket and S3Key is read from; none unless the daemon is configured with one.
    let s3: (any S3CodeSource)?
    /// Finished Logs Insights queries, until GetQueryResults asks for them.
    let insightsResults = InsightsResults()

    public init(service: any FunctionService, urlAddress: FunctionUrlAddress? = nil, s3: (any S3CodeSource)? = nil) {
        self.service = service
        self.s3 = s3
        functions = service.functions
        region = service.region
        self.urlAddress = urlAddress ?? FunctionUrlAddress(domain: FunctionUrlAddress.defaultDomain(region: service.region), port: 9080)
    }

    /// Where request bodies too large for memory, and the zips decoded from them, are written.
    var spillDirectory: String { service.spillDirectory }

    /// Invoke's payload limit (6 MB) and CreateFunction's (a 50 MB zip, base64 in JSON).
    public static let invokeBodyLimit = 6_291_456
    public static let managementBodyLimit = 69_905_067

    /// An uploaded image: Lambda's 10 GB for an image function.
    public static let imageBodyLimit = 10 * 1024 * 1024 * 1024

    static func bodyLimit(method: String, uri: String) -> Int {
        if uri.hasPrefix("/hearth/v1/images/") { return imageBodyLimit }
        return isInvocation(uri) ? invokeBodyLimit : managementBodyLimit
    }

    /// .../invocations, before any query. By suffix and byte-wise: Foundation's `contains` goes through
    /// NSString and a Substring's `hasSuffix` compares Characters, on every Invoke.
    static func isInvocation(_ uri: String) -> Bool {
        let path = uri.utf8.prefix { $0 != UInt8(ascii: "?") }.reversed()
        return path.starts(with: "/invocations".utf8.reversed()) || path.starts(with: "/response-streaming-invocations".utf8.reversed())
    }

    static func tooLarge(method: String, uri: String, limit: Int) -> ServiceError {
        let operation = isInvocation(uri) ? "InvokeFunction" : uri.contains("/layers/") ? "PublishLayerVersion"
            : uri.hasPrefix("/hearth/v1/images/") ? "UploadImage" : "CreateFunction"
        return .tooLarge("Request must be smaller than \(limit) bytes for the \(operation) operation")
    }

    typealias Handler = @Sendable (LambdaAPI, APIRequest, [String: String]) async throws -> APIResponse

    struct Route: Sendable {
        var method: String
        var pattern: [String]
        var handler: Handler
        init(_ method: String, _ path: String, _ handler: @escaping Handler) {
            self.method = method
            pattern = path.split(separator: "/").map(String.init)
            self.handler = handler
        }
    }

    /// Method, path pattern (":x" parts are parameters) and handler; matched in order.
    static let routes: [Route] = [
        Route("POST", "2015-03-31/functions/:name/invocations") { api, request, params in try await api.invoke(request, params) },
        Route("POST", "2021-11-15/functions/:name/response-streaming-invocations") { api, request, params in
            try await api.invokeWithResponseStream(request, params)
        },
        Route("POST", "2014-11-13/functions/:name/invoke-async") { api, request, params in try await api.invokeAsync(request, params) },
        Route("POST", "2015-03-31/functions") { api, request, params in try await api.createFunction(request) },
        Route("GET", "2015-03-31/functions") { api, request, params in try api.listFunctions(request) },
        Route("GET", "2015-03-31/functions/:name") { api, request, params in try await api.getFunction(request, params) },
        Route("DELETE", "2015-03-31/functions/:name") { api, request, params in try await api.deleteFunction(request, params) },
        Route("GET", "2015-03-31/functions/:name/configuration") { api, request, params in try api.getConfiguration(request, params) },
        Route("PUT", "2015-03-31/functions/:name/configuration") { api, request, params in try await api.updateConfiguration(request, params) },
        Route("PUT", "2015-03-31/functions/:name/code") { api, request, params in try await api.updateCode(request, params) },
        Route("POST", "2015-03-31/functions/:name/policy") { api, request, params in try await api.addPermission(request, params) },
        Route("GET", "2015-03-31/functions/:name/policy") { api, request, params in try api.getPolicy(request, params) },
        Route("DELETE", "2015-03-31/functions/:name/policy/:sid") { api, request, params in try await api.removePermission(request, params) },
        Route("POST", "2015-03-31/functions/:name/versions") { api, request, params in try await api.publishVersion(request, params) },
        Route("GET", "2015-03-31/functions/:name/versions") { api, request, params in try api.listVersions(request, params) },
        Route("POST", "2015-03-31/functions/:name/aliases") { api, request, params in try await api.putAlias(request, params, create: true) },
        Route("GET", "2015-03-31/functions/:name/aliases") { api, request, params in try api.listAliases(request, params) },
        Route("GET", "2015-03-31/functions/:name/aliases/:alias") { api, request, params in try api.getAlias(request, params) },
        Route("PUT", "2015-03-31/functions/:name/aliases/:alias") { api, request, params in try await api.putAlias(request, params, create: false) },
        Route("DELETE", "2015-03-31/functions/:name/aliases/:alias") { api, request, params in try await api.deleteAlias(request, params) },
        Route("PUT", "2017-10-31/functions/:name/concurrency") { api, request, params in try await api.putConcurrency(request, params) },
        Route("DELETE", "2017-10-31/functions/:name/concurrency") { api, request, params in try await api.deleteConcurrency(request, params) },
        Route("GET", "2019-09-30/functions/:name/concurrency") { api, request, params in try api.getConcurrency(request, params) },
        Route("PUT", "2019-09-30/functions/:name/provisioned-concurrency") { api, request, params in try await api.putProvisioned(request, params) },
        Route("GET", "2019-09-30/functions/:name/provisioned-concurrency") { api, request, params in try await api.getProvisioned(request, params) },
        Route("DELETE", "2019-09-30/functions/:name/provisioned-concurrency") { api, request, params in try await api.deleteProvisioned(request, params) },
        Route("POST", "2018-10-31/layers/:layer/versions") { api, request, params in try await api.publishLayerVersion(request, params) },
        Route("GET", "2018-10-31/layers/:layer/versions") { api, request, params in try api.listLayerVersions(request, params) },
        Route("GET", "2018-10-31/layers/:layer/versions/:version") { api, request, params in try api.getLayerVersion(request, params) },
        Route("DELETE", "2018-10-31/layers/:layer/versions/:version") { api, request, params in try await api.deleteLayerVersion(request, params) },
        Route("GET", "2018-10-31/layers") { api, request, params in try api.listLayers(request) },
        Route("POST", "2018-10-31/layers/:layer/versions/:version/policy") { api, request, params in
            try await api.addLayerVersionPermission(request, params)
        },
        Route("GET", "2018-10-31/layers/:layer/versions/:version/policy") { api, request, params in try api.getLayerVersionPolicy(request, params) },
        Route("DELETE", "2018-10-31/layers/:layer/versions/:version/policy/:sid") { api, request, params in
            try await api.removeLayerVersionPermission(request, params)
        },
        Route("GET", "2024-08-31/functions/:name/recursion-config") { api, request, params in try api.getRecursionConfig(request, params) },
        Route("PUT", "2024-08-31/functions/:name/recursion-config") { api, request, params in try await api.putRecursionConfig(request, params) },
        Route("GET", "2021-07-20/functions/:name/runtime-management-config") { api, request, params in
            try api.getRuntimeManagementConfig(request, params)
        },
        Route("PUT", "2021-07-20/functions/:name/runtime-management-config") { api, request, params in
            try await api.putRuntimeManagementConfig(request, params)
        },
        Route("GET", "2020-06-30/functions/:name/code-signing-config") { api, request, params in
            try api.getFunctionCodeSigningConfig(request, params)
        },
        Route("PUT", "2020-06-30/functions/:name/code-signing-config") { api, request, params in
            try await api.putFunctionCodeSigningConfig(request, params)
        },
        Route("DELETE", "2020-06-30/functions/:name/code-signing-config") { api, request, params in
            try api.deleteFunctionCodeSigningConfig(request, params)
        },
        Route("POST", "2020-04-22/code-signing-configs") { api, request, params in try api.createCodeSigningConfig(request) },
        Route("GET", "2020-04-22/code-signing-configs") { api, request, params in try api.listCodeSigningConfigs(request) },
        Route("GET", "2020-04-22/code-signing-configs/:arn") { api, request, params in try api.codeSigningConfigNotFound(request, params) },
        Route("PUT", "2020-04-22/code-signing-configs/:arn") { api, request, params in try api.codeSigningConfigNotFound(request, params) },
        Route("DELETE", "2020-04-22/code-signing-configs/:arn") { api, request, params in try api.codeSigningConfigNotFound(request, params) },
        Route("GET", "2020-04-22/code-signing-configs/:arn/functions") { api, request, params in
            try api.codeSigningConfigNotFound(request, params)
        },
        Route("POST", "2017-03-31/tags/:arn") { api, request, params in try await api.tagResource(request, params) },
        Route("GET", "2017-03-31/tags/:arn") { api, request, params in try api.listTags(request, params) },
        Route("DELETE", "2017-03-31/tags/:arn") { api, request, params in try await api.untagResource(request, params) },
        Route("PUT", "2019-09-25/functions/:name/event-invoke-config") { api, request, params in
            try await api.putEventInvokeConfig(request, params, replace: true)
        },
        Route("POST", "2019-09-25/functions/:name/event-invoke-config") { api, request, params in
            try await api.putEventInvokeConfig(request, params, replace: false)
        },
        Route("GET", "2019-09-25/functions/:name/event-invoke-config") { api, request, params in try api.getEventInvokeConfig(request, params) },
        Route("DELETE", "2019-09-25/functions/:name/event-invoke-config") { api, request, params in
            try await api.deleteEventInvokeConfig(request, params)
        },
        Route("GET", "2019-09-25/functions/:name/event-invoke-config/list") { api, request, params in
            try api.listEventInvokeConfigs(request, params)
        },
        Route("POST", "2021-10-31/functions/:name/url") { api, request, params in try await api.createFunctionUrl(request, params) },
        Route("PUT", "2021-10-31/functions/:name/url") { api, request, params in try await api.updateFunctionUrl(request, params) },
        Route("GET", "2021-10-31/functions/:name/url") { api, request, params in try api.getFunctionUrl(request, params) },
        Route("DELETE", "2021-10-31/functions/:name/url") { api, request, params in try await api.deleteFunctionUrl(request, params) },
        Route("GET", "2021-10-31/functions/:name/urls") { api, request, params in try api.listFunctionUrls(request, params) },
        Route("POST", "schedules/:name") { api, request, params in try await api.createSchedule(request, params, create: true) },
        Route("PUT", "schedules/:name") { api, request, params in try await api.createSchedule(request, params, create: false) },
        Route("GET", "schedules/:name") { api, request, params in try await api.getSchedule(request, params) },
        Route("DELETE", "schedules/:name") { api, request, params in try await api.deleteSchedule(request, params) },
        Route("GET", "schedules") { api, request, params in try await api.listSchedules(request) },
        Route("POST", "schedule-groups/:name") { api, request, params in try await api.createScheduleGroup(request, params) },
        Route("GET", "schedule-groups/:name") { api, request, params in try await api.getScheduleGroup(request, params) },
        Route("DELETE", "schedule-groups/:name") { api, request, params in try await api.deleteScheduleGroup(request, params) },
        Route("GET", "schedule-groups") { api, request, params in try await api.listScheduleGroups(request) },
        Route("GET", "2016-08-19/account-settings") { api, request, params in try await api.accountSettings(request) },
        Route("GET", "healthz") { _, _, _ in .text(200, "ok\n") },
        Route("GET", "metrics") { api, _, _ in .text(200, await api.service.metricsText(), contentType: "text/plain; version=0.0.4") },
        Route("GET", "hearth/v1/status") { api, request, params in try await api.status(request) },
        Route("GET", "hearth/v1/functions/:name/logs") { api, request, params in try api.logs(request, params) },
        Route("GET", "hearth/v1/functions/:name/events") { api, request, params in try await api.eventFailures(request, params) },
        Route("DELETE", "hearth/v1/functions/:name/events") { api, request, params in
            try await api.settleEventFailures(request, params, redrive: false)
        },
        Route("POST", "hearth/v1/functions/:name/events/redrive") { api, request, params in
            try await api.settleEventFailures(request, params, redrive: true)
        },
        Route("GET", "hearth/v1/code/:digest") { api, request, params in try api.code(request, params) },
        Route("PUT", "hearth/v1/images/:image") { api, request, params in try await api.uploadImage(request, params) },
    ]

    /// Answers one request; errors become Lambda's error responses. Every response carries x-amzn-RequestId.
    public func handle(_ request: APIRequest) async -> APIResponse {
        var request = request
        let requestId = RequestIdentifiers.uuid()
        request.requestId = requestId
        var response: APIResponse
        do {
            response = try await route(request)
        } catch let error as ServiceError {
            response = Self.errorResponse(error)
        } catch {
            response = Self.errorResponse(.service("\(error)"))
        }
        response.headers.append(("x-amzn-RequestId", requestId))
        return response
    }

    private func route(_ request: APIRequest) async throws -> APIResponse {
        if request.method == "POST", request.segments.isEmpty, let target = request.headers["x-amz-target"], target.hasPrefix(Self.logsTargetPrefix) {
            return await logsOperation(String(target.dropFirst(Self.logsTargetPrefix.count)), request)
        }
        var pathMatched = false
        for route in Self.routes {
            guard let params = Self.match(route.pattern, request.segments) else { continue }
            pathMatched = true
            if route.method == request.method { return try await route.handler(self, request, params) }
        }
        if pathMatched { throw ServiceError(status: 405, type: "MethodNotAllowedException", message: "\(request.method) is not allowed on this resource") }
        throw ServiceError(status: 404, type: "UnknownOperationException", message: "No operation at \(request.method) /\(request.segments.joined(separator: "/"))")
    }

    static func match(_ pattern: [String], _ segments: [String]) -> [String: String]? {
        guard pattern.count == segments.count else { return nil }
        var params: [String: String] = [:]
        for (p, s) in zip(pattern, segments) {
            if p.hasPrefix(":") { params[String(p.dropFirst())] = s } else if p != s { return nil }
        }
        return params
    }

    /// Written straight into bytes, keys in the order JSONSerialization's sorted keys gave them: a storm of
    /// throttles once spent a quarter of the daemon's CPU sorting these keys with ICU's collation.
    static func errorResponse(_ error: ServiceError) -> APIResponse {
        let type = error.status >= 500 ? "Service" : "User"
        var body = JSONText()
        if let reason = error.reason {
            body.object([("message", error.message), ("Reason", reason), ("Type", type)])
        } else {
            body.object([("Message", error.message), ("Type", type)])
        }
        return APIResponse(status: error.status, headers: [("Content-Type", "application/json"), ("x-amzn-ErrorType", error.type)],
                           body: body.bytes)
    }

    /// The function a path's name and ?Qualifier= name; an ARN of another region names nothing here, in AWS's words.
    func reference(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> FunctionReference {
        let name = params["name"] ?? ""
        let ref = try FunctionReference.parse(name, qualifier: request.query["Qualifier"])
        if let other = FunctionReference.region(of: name), other != region {
            throw .notFound("Functions from '\(other)' are not reachable in this region ('\(region)')")
        }
        return ref
    }

    /// The URL this server serves a stored zip at (GetFunction's Code.Location).
    func codeURL(_ request: APIRequest, digest: String) -> String? {
        guard let host = request.host, !host.isEmpty else { return nil }
        return "http://\(host)/hearth/v1/code/\(digest)"
    }
}
