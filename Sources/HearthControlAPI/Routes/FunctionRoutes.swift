import Foundation
import HearthModel
import HearthPackages
import HearthRegistry
import HearthState
import HearthSupervisor

extension LambdaAPI {
    func createFunction(_ request: APIRequest) async throws(ServiceError) -> APIResponse {
        let body = try await request.json()
        guard let name = try body.string("FunctionName") else { throw .missing("functionName") }
        let newName = try FunctionReference.parseNew(name)
        // A function cannot be made in another region, as it cannot be read from one.
        if let other = FunctionReference.region(of: name), other != region {
            throw .notFound("Functions from '\(other)' are not reachable in this region ('\(region)')")
        }
        guard let codeObject = try body.object("Code") else { throw .missing("code") }
        let code = try await code(codeObject)
        // Tags are checked before anything is made, so a refused set leaves no function behind.
        let tags = try body.stringMap("Tags") ?? [:]
        try FunctionCatalog.checkTags(tags)
        let record = try await service.createFunction(
            name: newName, packageType: try body.string("PackageType"), code: code,
            settings: try Self.settings(body), publish: try body.bool("Publish") ?? false)
        if !tags.isEmpty { try await service.tag(record.name, tags) }
        return .json(201, configuration(record, change: .creating))
    }

    func getFunction(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let record = try functions.resolve(ref)
        var out: [String: Any] = ["Configuration": configuration(record)]
        if record.packageType == "Image" {
            out["Code"] = ["RepositoryType": "ECR", "ImageUri": record.imageUri ?? "", "ResolvedImageUri": record.imageDigest ?? ""]
        } else {
            var code: [String: Any] = ["RepositoryType": "S3"]
            if let digest = record.zipDigest, let url = codeURL(request, digest: digest) { code["Location"] = url }
            out["Code"] = code
        }
        if let reserved = try functions.reservedConcurrency(ref.name) { out["Concurrency"] = ["ReservedConcurrentExecutions": reserved] }
        let tags = try functions.tags(ref.name)
        if !tags.isEmpty { out["Tags"] = tags }
        return .json(200, out)
    }

    func getConfiguration(_ request: APIRequest, _ params: [String: String]) throws(ServiceError) -> APIResponse {
        .json(200, configuration(try functions.resolve(try reference(request, params))))
    }

    func listFunctions(_ request: APIRequest) throws(ServiceError) -> APIResponse {
        let maxItems = try request.query["MaxItems"].map { (text: String) throws(ServiceError) -> Int in
            guard let n = Int(text) else { throw .validation("maxItems", text, "Member must be a number") }
            return n
        }
        let page = try functions.list(marker: request.query["Marker"], maxItems: maxItems)
        var listed: [[String: Any]] = []
        for record in page.functions {
            listed.append(configuration(record))
            if request.query["FunctionVersion"] == "ALL" {
                for version in try functions.versions(record.name).dropFirst() { listed.append(configuration(version)) }
            }
        }
        var out: [String: Any] = ["Functions": listed]
        if let next = page.nextMarker { out["NextMarker"] = next }
        return .json(200, out)
    }

    func updateCode(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json()
        let record = try await service.updateFunctionCode(ref.name, code: try await code(body),
                                                             publish: try body.bool("Publish") ?? false)
        return .json(200, configuration(record, change: record.version == "$LATEST" ? .updating : .creating))
    }

    func updateConfiguration(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let ref = try reference(request, params)
        let body = try await request.json()
        let record = try await service.updateFunctionConfiguration(ref.name, settings: try Self.settings(body), revisionId: try body.string("RevisionId"))
        return .json(200, configuration(record, change: .updating))
    }

    func deleteFunction(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.deleteFunction(try reference(request, params))
        return APIResponse(status: 204)
    }

    /// Code: ZipFile (base64 in JSON, decoded into a file in the spill directory), S3Bucket and S3Key (read from
    /// the daemon's S3 endpoint), or ImageUri (a local image).
    func code(_ body: JSONBody) async throws(ServiceError) -> FunctionCode {
        if let code = try Self.code(body, directory: spillDirectory) { return code }
        if let zip = try await s3Object(body) { return .zip(zip) }
        throw .invalidParameter("Please provide a source for function code (ZipFile, S3Bucket and S3Key, or ImageUri).")
    }

    /// What the body gives itself: ZipFile or ImageUri.
    static func code(_ body: JSONBody, directory: String) throws(ServiceError) -> FunctionCode? {
        if let zip = try body.upload("ZipFile", directory: directory) { return .zip(zip) }
        if let uri = try body.string("ImageUri") { return .image(uri: uri) }
        return nil
    }

    /// S3Bucket, S3Key and S3ObjectVersion, checked; nil when the body names no object.
    static func s3Location(_ body: JSONBody) throws(ServiceError) -> S3Location? {
        guard body.has("S3Bucket") || body.has("S3Key") || body.has("S3ObjectVersion") else { return nil }
        guard let bucket = try body.string("S3Bucket"), let key = try body.string("S3Key") else {
            throw .invalidParameter("Please provide both S3Bucket and S3Key.")
        }
        return try S3Location(bucket: bucket, key: key, version: try body.string("S3ObjectVersion"))
    }

    /// The zip the body's S3 location names, as a file; nil when it names none.
    func s3Object(_ body: JSONBody) async throws(ServiceError) -> UnnamedFile? {
        guard let location = try Self.s3Location(body) else { return nil }
        guard let s3 else {
            throw .invalidParameter("This daemon reads no S3 (set s3_endpoint in its configuration): upload the zip as ZipFile instead.")
        }
        return try await s3.fetch(location, into: spillDirectory)
    }

    static func settings(_ body: JSONBody) throws(ServiceError) -> FunctionSettings {
        var s = FunctionSettings()
        s.runtime = try body.string("Runtime")
        s.handler = try body.string("Handler")
        s.role = try body.string("Role")
        s.description = try body.string("Description")
        s.memorySize = try body.int("MemorySize")
        s.timeout = try body.int("Timeout")
        s.ephemeralStorage = try body.object("EphemeralStorage").flatMap { (o: JSONBody) throws(ServiceError) -> Int? in try o.int("Size") }
        if let env = try body.object("Environment") { s.environment = try env.stringMap("Variables") ?? [:] }
        s.layers = try body.strings("Layers")
        s.architectures = try body.strings("Architectures")
        if let dlq = try body.object("DeadLetterConfig") { s.deadLetterTargetArn = try dlq.string("TargetArn") ?? "" }
        if let vpc = try body.object("VpcConfig") { s.network = try networkChoice(vpc) }
        if let logging = try body.object("LoggingConfig") {
            s.loggingConfig = LoggingConfig.Change(logFormat: try logging.string("LogFormat"), applicationLogLevel: try logging.string("ApplicationLogLevel"),
                                                   systemLogLevel: try logging.string("SystemLogLevel"), logGroup: try logging.string("LogGroup"))
        }
        if let config = try body.object("ImageConfig") {
            s.imageConfig = ImageConfigOverride(entryPoint: try config.strings("EntryPoint"), command: try config.strings("Command"),
                                                workingDirectory: try config.string("WorkingDirectory"))
        }
        return s
    }

    /// VpcConfig as Hearth reads it: the one subnet names the mode (internet, restricted, none), the security
    /// groups are the allowances; no subnet and no group (as Lambda takes to leave a VPC) is the daemon's default.
    static func networkChoice(_ vpc: JSONBody) throws(ServiceError) -> FunctionSettings.NetworkChoice {
        let subnets = try vpc.strings("SubnetIds") ?? []
        let groups = try vpc.strings("SecurityGroupIds") ?? []
        if subnets.isEmpty && groups.isEmpty { return .daemonDefault }
        guard subnets.count == 1 else {
            throw .invalidParameter("VpcConfig.SubnetIds names one Hearth network mode (internet, restricted or none), not \(subnets.count) subnets")
        }
        do {
            return .chosen(try FunctionNetwork.parse(mode: subnets[0], allowances: groups))
        } catch {
            throw .invalidParameter("VpcConfig: \(error)")
        }
    }
}
