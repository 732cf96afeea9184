import Foundation
import HearthModel
import HearthPackages
import HearthSupervisor

extension LambdaAPI {
    func publishLayerVersion(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let body = try await request.json()
        guard let content = try body.object("Content") else { throw .missing("content") }
        let upload: UnnamedFile? = if let zip = try content.upload("ZipFile", directory: spillDirectory) { zip } else { try await s3Object(content) }
        guard let zip = upload else { throw .invalidParameter("Please provide the layer's content as Content.ZipFile, or Content.S3Bucket and S3Key.") }
        let record = try await service.publishLayerVersion(try Self.layerName(params["layer"]), zip: zip, description: try body.string("Description"),
                                                     runtimes: try body.strings("CompatibleRuntimes") ?? [],
                                                     architectures: try body.strings("CompatibleArchitectures") ?? [],
                                                     license: try body.string("LicenseInfo"))
        return .json(201, FunctionJSON.layerVersion(record, region: region, codeURL: codeURL(request, digest: record.zipDigest)))
    }

    func getLayerVersion(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let record = try functions.layerVersion(try Self.layerName(params["layer"]), try Self.layerVersionNumber(params["version"]))
        return .json(200, FunctionJSON.layerVersion(record, region: region, codeURL: codeURL(request, digest: record.zipDigest)))
    }

    func deleteLayerVersion(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.deleteLayerVersion(try Self.layerName(params["layer"]), try Self.layerVersionNumber(params["version"]))
        return APIResponse(status: 204)
    }

    func listLayerVersions(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        let versions = try functions.layerVersions(try Self.layerName(params["layer"])).map { record -> [String: Any] in
            var item = FunctionJSON.layerVersion(record, region: region, codeURL: nil)
            item["Content"] = nil
            item["LayerArn"] = nil
            return item
        }
        return .json(200, ["LayerVersions": versions])
    }

    /// ListLayers, and GetLayerVersionByArn (the same path with ?find=LayerVersion&Arn=).
    func listLayers(_ request: APIRequest) throws(ServiceError) -> APIResponse {
        if request.query["find"] == "LayerVersion" {
            let parts = (request.query["Arn"] ?? "").split(separator: ":").map(String.init)
            guard parts.count == 8, parts[5] == "layer", let version = Int(parts[7]) else {
                throw .validation("arn", request.query["Arn"] ?? "", "Member must be a layer version ARN")
            }
            let record = try functions.layerVersion(parts[6], version)
            return .json(200, FunctionJSON.layerVersion(record, region: region, codeURL: codeURL(request, digest: record.zipDigest)))
        }
        let layers = try functions.layers().map { record -> [String: Any] in
            var latest = FunctionJSON.layerVersion(record, region: region, codeURL: nil)
            latest["Content"] = nil
            latest["LayerArn"] = nil
            return ["LayerName": record.name, "LayerArn": LambdaARN.layer(record.name, region: region), "LatestMatchingVersion": latest]
        }
        return .json(200, ["Layers": layers])
    }

    /// A LayerName as Lambda takes it: the name, or the layer's ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME).
    static func layerName(_ text: String?) throws(ServiceError) -> String {
        let text = text ?? ""
        guard text.hasPrefix("arn:") else { return text }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 7, parts[2] == "lambda", parts[5] == "layer", !parts[6].isEmpty else {
            throw .validation("layerName", text, "Member must satisfy regular expression pattern: "
                              + #"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"#)
        }
        return String(parts[6])
    }

    static func layerVersionNumber(_ text: String?) throws(ServiceError) -> Int {
        guard let text, let n = Int(text), n >= 1 else { throw .validation("versionNumber", text ?? "", "Member must be a positive number") }
        return n
    }
}
