#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthModel
import HearthPackages
import HearthState
import Synchronization

/// Functions, versions, aliases, layers and concurrency settings as Lambda's
/// management API sees them: every value checked, packages imported once,
/// every change one transaction in the state database. Uploaded zips are kept
/// under code/ (by SHA-256) so versions and restarts can rebuild from them.
public final class FunctionCatalog: Sendable {
    public let state: StateStore
    public let packages: PackageStore
    public let builder: FunctionBuilder
    /// The builds of the runtime images (RuntimeVersionConfig).
    public let runtimeVersions: RuntimeVersions
    public let codeDirectory: String
    public let region: String
    /// Account concurrency; reserved concurrency may take all but `unreservedMinimum` of it.
    public let accountConcurrency: Int
    public static let unreservedMinimum = 100

    /// Resolved references by function, then qualifier, so an invocation reads neither SQLite nor its
    /// lock (a commit waiting on a busy disk must not hold up other functions' invocations). A change to
    /// a function drops its entries and counts in `changes`; a lookup that raced a change is not stored.
    /// `events` holds, the same way, what the queue reads besides the record to run each event.
    private let resolved = Mutex<(changes: [String: Int], records: [String: [String: FunctionRecord]],
                                  events: [String: [String: EventSettings]])>(([:], [:], [:]))
    private struct EventSettings: Sendable {
        var config: EventInvokeConfigRecord?
        var reserved: Int?
    }

    /// Where an API client's ImageUri may point: the images directory and the ones the operator lists.
    public let imageRoots: ImageRoots

    /// Images uploaded through the API (`PUT /hearth/v1/images/NAME`), one archive per name.
    public let uploadedImagesDirectory: String

    /// Function URLs by id, for the URL listener: read from the store again only after a change.
    let urlIndex = Mutex<(generation: Int, byId: [String: FunctionUrlTarget])>((-1, [:]))

    public init(stateDirectory: String, imagesDirectory: String, region: String, accountConcurrency: Int, imageDirectories: [String] = []) throws {
        uploadedImagesDirectory = stateDirectory + "/uploaded-images"
        try FileManager.default.createDirectory(atPath: uploadedImagesDirectory, withIntermediateDirectories: true)
        Self.removeUploadLeftovers(uploadedImagesDirectory)
        imageRoots = ImageRoots([imagesDirectory] + imageDirectories + [uploadedImagesDirectory])
        try FileManager.default.createDirectory(atPath: stateDirectory + "/code", withIntermediateDirectories: true)
        Self.removeUploadLeftovers(stateDirectory + "/code")
        state = try StateStore(path: stateDirectory + "/hearth.db")
        packages = try PackageStore(root: stateDirectory + "/store")
        builder = FunctionBuilder(store: packages, imagesDirectory: imagesDirectory)
        runtimeVersions = RuntimeVersions(imagesDirectory: imagesDirectory)
        codeDirectory = stateDirectory + "/code"
        self.region = region
        self.accountConcurrency = accountConcurrency
    }

    public func arn(_ name: String, _ qualifier: String? = nil) -> String { LambdaARN.function(name, qualifier: qualifier, region: region) }

    // MARK: functions

    public func create(name: String, packageType: String?, code: FunctionCode, settings: FunctionSettings, publish: Bool) throws(ServiceError) -> FunctionRecord {
        try FunctionReference.validateName(name)
        try settings.validate()
        guard settings.role != nil else { throw .missing("role") }
        let type = packageType ?? "Zip"
        guard type == "Zip" || type == "Image" else { throw .validation("packageType", type, "Member must satisfy enum value set: [Zip, Image]") }
        switch (type, code) {
        case ("Zip", .zip):
            guard settings.runtime != nil else { throw .invalidParameter("Runtime is required for .zip deployment packages.") }
            guard settings.handler != nil else { throw .invalidParameter("Handler is required for .zip deployment packages.") }
        case ("Image", .image):
            if settings.runtime != nil || settings.handler != nil { throw .invalidParameter("Runtime and Handler are not supported for Image package type.") }
        case ("Zip", .image): throw .invalidParameter("Please don't provide ImageUri when updating a function with packageType Zip.")
        default: throw .invalidParameter("Please provide ImageUri when updating a function with packageType Image.")
        }
        if try wrap({ try state.function(name) }) != nil { throw .conflict("Function already exist: \(name)") }
        var record = FunctionRecord(
            name: name, version: "$LATEST", packageType: type, runtime: settings.runtime.map(Self.canonicalRuntime), handler: settings.handler,
            role: settings.role ?? "", description: settings.description ?? "", memorySize: settings.memorySize ?? 128,
            timeout: settings.timeout ?? 3, ephemeralStorage: settings.ephemeralStorage ?? 512, environment: settings.environment ?? [:],
            layers: try resolveLayers(settings.layers ?? []), codeSha256: "", codeSize: 0, zipDigest: nil, imageUri: nil, imageDigest: nil,
            imageConfig: settings.imageConfig, architectures: settings.architectures ?? [Self.hostArchitecture], lastModified: Self.now(),
            revisionId: UUID().uuidString.lowercased(), deadLetterTargetArn: settings.deadLetterTargetArn.flatMap { $0.isEmpty ? nil : $0 })
        Self.setNetwork(settings.network, on: &record)
        record.loggingConfig = try settings.loggingConfig.map { change throws(ServiceError) in try LoggingConfig.text.applying(change) }
        try storeCode(code, into: &record)
        try check(record)
        let changesBefore = resolved.withLock { $0.changes[name, default: 0] }
        let created: Bool
        do {
            created = try wrap({ try state.createFunction(record) })
        } catch {
            changed(name)
            throw error
        }
        changed(name)
        guard created else { throw .conflict("Function already exist: \(name)") }
        // Its first invocation (a cold start) finds the record without reading and decoding it again,
        // unless another change of the name came in between (then it is read as usual).
        resolved.withLock { cache in
            if cache.changes[name, default: 0] == changesBefore + 1 { cache.records[name, default: [:]]["$LATEST"] = record }
        }
        return publish ? try publishVersion(name, description: nil, answeredPending: true) : Self.answeredPending(record)
    }

    /// A created or changed function is ready when the change returns (its code is unpacked and checked), but
    /// Lambda answers the change in its Pending or InProgress state, under a revision the function has already
    /// moved past when it is next read. Hearth stores the settled revision and answers with another.
    private static func answeredPending(_ record: FunctionRecord) -> FunctionRecord {
        var answered = record
        answered.revisionId = UUID().uuidString.lowercased()
        return answered
    }

    public func latest(_ name: String) throws(ServiceError) -> FunctionRecord {
        guard let record = try wrap({ try state.function(name) }) else { throw .functionNotFound(arn(name)) }
        return record
    }

    /// The record a reference names: $LATEST, a version number or an alias (resolved to its version).
    public func resolve(_ ref: FunctionReference) throws(ServiceError) -> FunctionRecord {
        let qualifier = ref.qualifier ?? "$LATEST"
        let (cached, changes) = resolved.withLock { ($0.records[ref.name]?[qualifier], $0.changes[ref.name, default: 0]) }
        if let cached { return cached }
        let (record, cacheable) = try resolveUncached(ref)
        if cacheable {
            resolved.withLock { cache in
                if cache.changes[ref.name, default: 0] == changes { cache.records[ref.name, default: [:]][qualifier] = record }
            }
        }
        return record
    }

    /// A function's records or settings changed (or it is gone): what is cached of it is dropped.
    func changed(_ name: String) {
        resolved.withLock { cache in
            cache.changes[name, default: 0] += 1
            cache.records[name] = nil
            cache.events[name] = nil
        }
    }

    /// What running an event of `ref` needs: its record, its event invoke configuration and the
    /// function's reserved concurrency, read once and kept until the function changes (the queue asks
    /// for every event it runs; reading them from SQLite each time cost more CPU than the run itself).
    public func eventRunSettings(_ ref: FunctionReference) throws(ServiceError) -> EventRunSettings {
        let qualifier = ref.qualifier ?? "$LATEST"
        let record = try resolve(ref)
        let (cached, changes) = resolved.withLock { ($0.events[ref.name]?[qualifier], $0.changes[ref.name, default: 0]) }
        if let cached { return EventRunSettings(record: record, eventInvokeConfig: cached.config, reservedConcurrency: cached.reserved) }
        let read = try readEventRunSettings(ref, record: record)
        resolved.withLock { cache in
            if cache.changes[ref.name, default: 0] == changes {
                cache.events[ref.name, default: [:]][qualifier] = EventSettings(config: read.eventInvokeConfig, reserved: read.reservedConcurrency)
            }
        }
        return read
    }

    /// The record, and whether it may be cached (an alias with weights picks a version each time).
    private func resolveUncached(_ ref: FunctionReference) throws(ServiceError) -> (FunctionRecord, Bool) {
        let latest = try latest(ref.name)
        guard let q = ref.qualifier, q != "$LATEST" else { return (latest, true) }
        if let number = Int(q) {
            guard let version = try wrap({ try state.version(ref.name, number) }) else { throw .functionNotFound(arn(ref.name, q)) }
            return (version, true)
        }
        guard let alias = try wrap({ try state.alias(ref.name, q) }) else { throw .functionNotFound(arn(ref.name, q)) }
        let (record, _) = try resolveUncached(FunctionReference(name: ref.name, qualifier: Self.pickVersion(alias)))
        return (record, alias.additionalVersionWeights.isEmpty)
    }

    public func list(marker: String?, maxItems: Int?) throws(ServiceError) -> (functions: [FunctionRecord], nextMarker: String?) {
        let limit = maxItems ?? 50
        guard (1...10_000).contains(limit) else { throw .validation("maxItems", "\(limit)", "Member must have value between 1 and 10000") }
        let page = try wrap({ try state.listFunctions(after: marker, limit: limit + 1) })
        let functions = Array(page.prefix(limit))
        return (functions, page.count > limit ? functions.last?.name : nil)
    }

    public func updateCode(_ name: String, code: FunctionCode, publish: Bool) throws(ServiceError) -> FunctionRecord {
        var record = try latest(name)
        switch (record.packageType, code) {
        case ("Zip", .image): throw .invalidParameter("Please don't provide ImageUri when updating a function with packageType Zip.")
        case ("Image", .zip): throw .invalidParameter("Please provide ImageUri when updating a function with packageType Image.")
        default: break
        }
        try storeCode(code, into: &record)
        record.lastModified = Self.now()
        record.revisionId = UUID().uuidString.lowercased()
        try check(record)
        defer { changed(name) }
        guard try wrap({ try state.updateLatest(record) }) else { throw .functionNotFound(arn(name)) }
        return publish ? try publishVersion(name, description: nil, answeredPending: true) : Self.answeredPending(record)
    }

    public func updateConfiguration(_ name: String, settings: FunctionSettings, revisionId: String?) throws(ServiceError) -> FunctionRecord {
        try settings.validate()
        var record = try latest(name)
        if let revisionId, revisionId != record.revisionId {
            throw ServiceError(status: 412, type: "PreconditionFailedException",
                               message: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
        }
        if record.packageType == "Image", settings.runtime != nil || settings.handler != nil {
            throw .invalidParameter("Runtime and Handler are not supported for Image package type.")
        }
        if let v = settings.runtime { record.runtime = Self.canonicalRuntime(v) }
        if let v = settings.handler { record.handler = v }
        if let v = settings.role { record.role = v }
        if let v = settings.description { record.description = v }
        if let v = settings.memorySize { record.memorySize = v }
        if let v = settings.timeout { record.timeout = v }
        if let v = settings.ephemeralStorage { record.ephemeralStorage = v }
        if let v = settings.environment { record.environment = v }
        if let v = settings.layers { record.layers = try resolveLayers(v) }
        if let v = settings.imageConfig { record.imageConfig = v }
        if let v = settings.deadLetterTargetArn { record.deadLetterTargetArn = v.isEmpty ? nil : v }
        Self.setNetwork(settings.network, on: &record)
        if let change = settings.loggingConfig { record.loggingConfig = try (record.loggingConfig ?? .text).applying(change) }
        record.lastModified = Self.now()
        record.revisionId = UUID().uuidString.lowercased()
        try check(record)
        defer { changed(name) }
        guard try wrap({ try state.updateLatest(record) }) else { throw .functionNotFound(arn(name)) }
        return Self.answeredPending(record)
    }

    /// DeleteFunction: the whole function, or one version when qualified.
    public func delete(_ ref: FunctionReference) throws(ServiceError) {
        defer { changed(ref.name) }
        if let q = ref.qualifier, q != "$LATEST" {
            guard let number = Int(q) else { throw .invalidParameter("Deletion of aliases is not supported via DeleteFunction; use DeleteAlias.") }
            if let alias = try wrap({ try state.aliases(ref.name) }).first(where: { $0.functionVersion == q || $0.additionalVersionWeights[q] != nil }) {
                throw .conflict("Unable to delete version because the following aliases reference it: [\(alias.name)]")
            }
            // AWS names the function, not the version, when the version is missing.
            guard try wrap({ try state.deleteVersion(ref.name, number) }) else { throw .functionNotFound(arn(ref.name)) }
                return
        }
        if ref.qualifier == "$LATEST" { throw .invalidParameter("$LATEST version cannot be deleted without deleting the function.") }
        guard try wrap({ try state.deleteFunction(ref.name) }) else { throw .functionNotFound(arn(ref.name)) }
        collectCode()
    }

    // MARK: versions and aliases

    public func publishVersion(_ name: String, description: String?) throws(ServiceError) -> FunctionRecord {
        try publishVersion(name, description: description, answeredPending: false)
    }

    /// `answeredPending`: a version made by CreateFunction's or UpdateFunctionCode's Publish, which Lambda answers Pending.
    private func publishVersion(_ name: String, description: String?, answeredPending: Bool) throws(ServiceError) -> FunctionRecord {
        defer { changed(name) }
        let revisionId = UUID().uuidString.lowercased()
        guard let version = try wrap({ try state.publishVersion(name, description: description, lastModified: Self.now(), revisionId: revisionId) }) else {
            throw .functionNotFound(arn(name))
        }
        // An unchanged function returns its newest version as it is.
        return answeredPending && version.revisionId == revisionId ? Self.answeredPending(version) : version
    }

    public func versions(_ name: String) throws(ServiceError) -> [FunctionRecord] {
        let latest = try latest(name)
        return [latest] + (try wrap { try state.versions(name) })
    }

    public func putAlias(_ function: String, name: String, version: String?, description: String?, weights: [String: Double]?,
                         create: Bool, revisionId: String?) throws(ServiceError) -> AliasRecord {
        _ = try latest(function)
        guard !name.isEmpty, name.count <= 128, Int(name) == nil,
              name.unicodeScalars.allSatisfy({ CharacterSetASCII.alnum($0) || $0 == "-" || $0 == "_" }) else {
            throw .validation("name", name, "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
        }
        let existing = try wrap { try state.alias(function, name) }
        if create, existing != nil { throw .conflict("Alias already exists: \(arn(function, name))") }
        if !create, existing == nil { throw .notFound("Alias not found: \(arn(function, name))") }
        if let revisionId, let existing, revisionId != existing.revisionId {
            throw ServiceError(status: 412, type: "PreconditionFailedException", message: "The Revision Id provided does not match the latest Revision Id.")
        }
        let target = version ?? existing?.functionVersion ?? ""
        let extra = weights ?? existing?.additionalVersionWeights ?? [:]
        try Self.checkRouting(extra, primary: target)
        try checkVersionExists(function, target)
        for v in extra.keys.sorted() { try checkVersionExists(function, v) }
        let record = AliasRecord(name: name, functionVersion: target, description: description ?? existing?.description ?? "",
                                 revisionId: UUID().uuidString.lowercased(), additionalVersionWeights: extra)
        defer { changed(function) }
        guard try wrap({ try state.putAlias(function, record, create: create) }) else { throw .conflict("Alias changed concurrently: \(name)") }
        return record
    }

    /// An alias's routing as Lambda checks it: the model's constraints first (version numbers as keys,
    /// weights within 0.0-1.0), then at most one additional version, never $LATEST, never the alias's own.
    static func checkRouting(_ weights: [String: Double], primary: String) throws(ServiceError) {
        let rendered = "{" + weights.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "}"
        for (version, weight) in weights {
            guard (1...1024).contains(version.utf8.count), version.utf8.allSatisfy({ (48...57).contains($0) }) else {
                throw .validation("routingConfig.additionalVersionWeights", rendered,
                                  "Map keys must satisfy constraint: [Member must have length less than or equal to 1024, "
                                      + "Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
            }
            guard weight.isFinite, (0...1).contains(weight) else {
                throw .validation("routingConfig.additionalVersionWeights", rendered,
                                  "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, "
                                      + "Member must have value greater than or equal to 0.0, Member must not be null]")
            }
        }
        guard weights.count <= 1 else { throw .invalidParameter("Number of items in AdditionalVersionWeights cannot be greater than 1") }
        guard let version = weights.keys.first else { return }
        if primary == "$LATEST" { throw .invalidParameter("$LATEST is not supported for an alias pointing to more than 1 version") }
        if version == primary {
            throw .invalidParameter("Invalid function version \(version). Function version \(version) is already included in routing configuration.")
        }
    }

    private func checkVersionExists(_ function: String, _ version: String) throws(ServiceError) {
        if version == "$LATEST" { return }
        guard let n = Int(version), try wrap({ try state.version(function, n) }) != nil else {
            throw .notFound("Function not found: \(arn(function, version))")
        }
    }

    public func alias(_ function: String, _ name: String) throws(ServiceError) -> AliasRecord {
        _ = try latest(function)
        guard let alias = try wrap({ try state.alias(function, name) }) else { throw .notFound("Alias not found: \(arn(function, name))") }
        return alias
    }

    public func aliases(_ function: String) throws(ServiceError) -> [AliasRecord] {
        _ = try latest(function)
        return try wrap { try state.aliases(function) }
    }

    public func deleteAlias(_ function: String, _ name: String) throws(ServiceError) {
        _ = try latest(function)
        defer { changed(function) }
        try wrap { try state.deleteAlias(function, name) }
    }

    // MARK: concurrency

    // MARK: tags

    public func tags(_ function: String) throws(ServiceError) -> [String: String] {
        _ = try latest(function)
        return try wrap { try state.tags(function) }
    }

    public func tag(_ function: String, _ tags: [String: String]) throws(ServiceError) {
        _ = try latest(function)
        try Self.checkTags(tags)
        guard try wrap({ try state.tag(function, tags, limit: LambdaLimits.tagsPerFunction) }) else {
            throw .invalidParameter("Number of tags exceeds resource tag limit.")
        }
    }

    public func untag(_ function: String, keys: [String]) throws(ServiceError) {
        _ = try latest(function)
        try wrap { try state.untag(function, keys) }
    }

    /// Lambda's limits on one tag: a key of 1-128 characters not starting with "aws:", a value of at most 256.
    public static func checkTags(_ tags: [String: String]) throws(ServiceError) {
        guard tags.count <= LambdaLimits.tagsPerFunction else { throw .invalidParameter("Number of tags exceeds resource tag limit.") }
        for (key, value) in tags {
            guard (1...128).contains(key.count) else {
                throw .validation("tags", key, "Member must have length between 1 and 128")
            }
            guard !key.lowercased().hasPrefix("aws:") else { throw .invalidParameter("Tag keys starting with 'aws:' are reserved for AWS.") }
            guard value.count <= 256 else { throw .validation("tags", value, "Member must have length less than or equal to 256") }
        }
    }

    public func putReservedConcurrency(_ function: String, _ value: Int) throws(ServiceError) {
        _ = try latest(function)
        guard value >= 0 else { throw .validation("reservedConcurrentExecutions", "\(value)", "Member must have value greater than or equal to 0") }
        var others = try wrap { try state.allReservedConcurrency() }
        others[function] = nil
        let available = accountConcurrency - Self.unreservedMinimum - others.values.reduce(0, +)
        guard value <= available else {
            throw .invalidParameter("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [\(Self.unreservedMinimum)].")
        }
        try wrap { try state.setReservedConcurrency(function, value) }
        changed(function)
    }

    public func reservedConcurrency(_ function: String) throws(ServiceError) -> Int? {
        _ = try latest(function)
        return try wrap { try state.reservedConcurrency(function) }
    }

    public func deleteReservedConcurrency(_ function: String) throws(ServiceError) {
        _ = try latest(function)
        try wrap { try state.setReservedConcurrency(function, nil) }
        changed(function)
    }

    /// Lambda's checks (published versions only; within the function's reserved concurrency, else within
    /// what the account leaves unreserved, keeping its minimum), and Hearth's own: every provisioned
    /// sandbox together must fit the host's memory budget.
    public func putProvisioned(_ function: String, qualifier: String?, count: Int, memoryBudgetMB: Int) throws(ServiceError) -> ProvisionedConcurrencyRecord {
        guard let qualifier, qualifier != "$LATEST" else {
            throw .invalidParameter("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
        }
        let target = try resolve(FunctionReference(name: function, qualifier: qualifier))
        guard count >= 1 else { throw .validation("provisionedConcurrentExecutions", "\(count)", "Member must have value greater than or equal to 1") }
        let reservedByFunction = try wrap { try state.allReservedConcurrency() }
        let others = try wrap { try state.allProvisioned() }.filter { $0.0 != function || $0.1.qualifier != qualifier }
        if let reserved = reservedByFunction[function] {
            let sameFunction = others.filter { $0.0 == function }.reduce(0) { $0 + $1.1.requested }
            if count + sameFunction > reserved {
                throw .invalidParameter("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
            }
        } else {
            // Provisioned concurrency of functions without a reservation comes out of the unreserved pool.
            let unreserved = accountConcurrency - reservedByFunction.values.reduce(0, +)
                - others.filter { reservedByFunction[$0.0] == nil }.reduce(0) { $0 + $1.1.requested }
            if count > unreserved {
                throw .invalidParameter("Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [\(unreserved)].")
            }
            if unreserved - count < Self.unreservedMinimum {
                throw .invalidParameter(
                    "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [\(Self.unreservedMinimum)].")
            }
        }
        var otherMemoryMB = 0
        for (name, config) in others {
            if let record = try? resolve(FunctionReference(name: name, qualifier: config.qualifier)) {
                otherMemoryMB += config.requested * record.memorySize
            }
        }
        // count <= the account's concurrency here, and memory sizes are at most 10,240 MB: no overflow.
        let wantedMB = count * target.memorySize
        guard otherMemoryMB + wantedMB <= memoryBudgetMB else {
            throw .invalidParameter(
                "Provisioned concurrency of \(count) at \(target.memorySize) MB needs \(wantedMB) MB; with the other provisioned sandboxes "
                    + "(\(otherMemoryMB) MB) that is more than the host's memory budget for sandboxes (\(memoryBudgetMB) MB).")
        }
        let record = ProvisionedConcurrencyRecord(qualifier: qualifier, requested: count, lastModified: Self.now())
        try wrap { try state.setProvisioned(function, record) }
        return record
    }

    public func provisioned(_ function: String, qualifier: String?) throws(ServiceError) -> ProvisionedConcurrencyRecord {
        _ = try latest(function)
        guard let qualifier, let record = try wrap({ try state.provisioned(function, qualifier) }) else {
            throw ServiceError(status: 404, type: "ProvisionedConcurrencyConfigNotFoundException",
                               message: "No Provisioned Concurrency Config found for this function")
        }
        return record
    }

    public func deleteProvisioned(_ function: String, qualifier: String?) throws(ServiceError) {
        _ = try latest(function)
        guard let qualifier, try wrap({ try state.deleteProvisioned(function, qualifier) }) else {
            throw ServiceError(status: 404, type: "ProvisionedConcurrencyConfigNotFoundException",
                               message: "No Provisioned Concurrency Config found for this function")
        }
    }

    // MARK: layers

    public func publishLayerVersion(_ name: String, zip: UnnamedFile, description: String?, runtimes: [String], architectures: [String],
                                    license: String?) throws(ServiceError) -> LayerVersionRecord {
        guard !name.isEmpty, name.count <= 140, name.unicodeScalars.allSatisfy({ CharacterSetASCII.alnum($0) || $0 == "-" || $0 == "_" }) else {
            throw .validation("layerName", name, "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+")
        }
        let (digest, size) = try storeZip(zip)
        let sha = Self.base64Sha256(hex: digest)
        return try wrap {
            try state.publishLayerVersion { version in
                LayerVersionRecord(name: name, version: version, description: description ?? "", compatibleRuntimes: runtimes,
                                   compatibleArchitectures: architectures, licenseInfo: license, codeSha256: sha, codeSize: size,
                                   zipDigest: digest, createdDate: Self.now())
            }
        }
    }

    public func layerVersion(_ name: String, _ version: Int) throws(ServiceError) -> LayerVersionRecord {
        guard let record = try wrap({ try state.layerVersion(name, version) }) else {
            throw .notFound("The resource you requested does not exist.")
        }
        return record
    }

    public func layerVersions(_ name: String) throws(ServiceError) -> [LayerVersionRecord] { try wrap { try state.layerVersions(name) } }
    public func layers() throws(ServiceError) -> [LayerVersionRecord] { try wrap { try state.latestLayers() } }

    public func deleteLayerVersion(_ name: String, _ version: Int) throws(ServiceError) {
        try wrap { try state.deleteLayerVersion(name, version) }
        collectCode()
    }

    // MARK: building

    /// The runnable form of a record (what a sandbox is started from).
    public func instance(for record: FunctionRecord, initializationType: String = "on-demand") throws -> FunctionInstance {
        let code: FunctionDefinition.Code
        if record.packageType == "Image", let digest = record.imageDigest {
            code = .storedImage(try Digest(parsing: digest))
        } else {
            code = .zip(path: zipPath(record.zipDigest ?? ""), runtime: record.runtime ?? "", handler: record.handler ?? "")
        }
        var definition = FunctionDefinition(
            name: record.name, code: code, layers: record.layers.map { zipPath($0.zipDigest) }, memoryMB: record.memorySize,
            timeoutSeconds: record.timeout, environment: record.environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        definition.version = record.version
        definition.ephemeralStorageMB = record.ephemeralStorage
        definition.initializationType = initializationType
        definition.logging = record.loggingConfig ?? .text
        if let c = record.imageConfig { definition.imageOverride = c }
        var instance = try builder.build(definition)
        instance.region = region
        instance.network = try Self.network(of: record)
        return instance
    }

    /// The record's network choice, checked again (a state file is input too).
    static func network(of record: FunctionRecord) throws -> FunctionNetwork? {
        guard let mode = record.networkMode else { return nil }
        return try FunctionNetwork.parse(mode: mode, allowances: record.networkAllowances ?? [])
    }

    static func setNetwork(_ choice: FunctionSettings.NetworkChoice?, on record: inout FunctionRecord) {
        switch choice {
        case nil: return
        case .daemonDefault:
            record.networkMode = nil
            record.networkAllowances = nil
        case .chosen(let network):
            record.networkMode = network.mode.rawValue
            record.networkAllowances = network.allowances.map(\.description)
        }
    }

    /// A record must build: its package unpacks and fits, its runtime image exists. A missing
    /// bootstrap is not checked here: Lambda accepts the function and fails its invocations.
    private func check(_ record: FunctionRecord) throws(ServiceError) {
        do {
            _ = try instance(for: record)
        } catch is InvalidEntrypoint {
        } catch let error as PackageError {
            throw .invalidParameter("Could not unpack the uploaded package: \(error)")
        } catch {
            throw .invalidParameter("\(error)")
        }
    }

    func zipPath(_ hex: String) -> String { codeDirectory + "/" + hex + ".zip" }

    private func storeCode(_ code: FunctionCode, into record: inout FunctionRecord) throws(ServiceError) {
        switch code {
        case .zip(let upload):
            let (digest, size) = try storeZip(upload)
            record.zipDigest = digest
            record.codeSha256 = Self.base64Sha256(hex: digest)
            record.codeSize = size
        case .image(let uri):
            guard !uri.isEmpty else {
                throw .invalidParameter("ImageUri must name a local image (an OCI layout directory, OCI archive or docker save tarball) under \(imageRoots.directories.joined(separator: ", "))")
            }
            do {
                let image = try imageRoots.open(uri)
                let (digest, stored) = try ImageImporter(store: packages).importImage(path: image.path, tag: image.tag)
                try packages.setReference("function-image-" + digest.hex, to: digest)
                record.imageUri = uri
                record.imageDigest = digest.description
                record.codeSha256 = Self.base64Sha256(hex: digest.hex)
                record.codeSize = stored.layers.reduce(Int64(0)) { total, layer in total + ((try? packages.layer(layer).bytes) ?? 0) }
            } catch {
                throw .invalidParameter("Cannot use image \(uri): \(error)")
            }
        }
    }

    /// Keeps an uploaded zip (a file with no name in the code directory) as code/<sha256>.zip once it has
    /// unpacked: a refusal or a crash at any point leaves nothing in the state directory.
    private func storeZip(_ upload: UnnamedFile) throws(ServiceError) -> (hex: String, size: Int64) {
        let size = upload.size
        guard size > 0 else { throw .invalidParameter("Uploaded file must be a non-empty zip") }
        do {
            let (digest, _) = try Digest.of(file: upload.path)
            let path = zipPath(digest.hex)
            if !FileManager.default.fileExists(atPath: path) {
                _ = try ZipImporter(store: packages).importZip(at: upload.path, displayName: "the uploaded zip")
                try upload.link(as: path)
            }
            return (digest.hex, size)
        } catch {
            throw .invalidParameter("Could not unzip uploaded file. Please check your file, then try to upload again. (\(error))")
        }
    }

    /// Uploads left under a temporary name by a crash (.upload-*: an older Hearth's zips; .image-*: an
    /// image being given its name).
    static func removeUploadLeftovers(_ directory: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(".upload-") || name.hasPrefix(".image-") {
            unlink(directory + "/" + name)
        }
    }

    /// Imports an uploaded image archive and keeps it under `name` (replacing one of that name), for an
    /// ImageUri to name. Returns its digest.
    public func uploadImage(name: String, archive: UnnamedFile) throws(ServiceError) -> String {
        do {
            let (digest, _) = try ImageImporter(store: packages).importImage(archive.path)
            let temporary = uploadedImagesDirectory + "/.image-" + UUID().uuidString
            try archive.link(as: temporary)
            guard rename(temporary, uploadedImagesDirectory + "/" + name) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw PackageError.io("cannot keep the image \(name): \(reason)")
            }
            return digest.description
        } catch {
            throw .invalidParameter("Cannot use the uploaded image \(name): \(error)")
        }
    }

    private func resolveLayers(_ arns: [String]) throws(ServiceError) -> [LayerReference] {
        var out: [LayerReference] = []
        for text in arns {
            let parts = text.split(separator: ":").map(String.init)
            guard parts.count == 8, parts[0] == "arn", parts[5] == "layer", let version = Int(parts[7]),
                  let layer = try wrap({ try state.layerVersion(parts[6], version) }) else {
                throw .invalidParameter("Layer version \(text) does not exist.")
            }
            out.append(LayerReference(arn: text, codeSize: layer.codeSize, zipDigest: layer.zipDigest))
        }
        return out
    }

    /// Reserved concurrency of every function together (GetAccountSettings' unreserved share).
    public func reservedConcurrencyTotal() throws(ServiceError) -> Int {
        try wrap { try state.allReservedConcurrency().values.reduce(0, +) }
    }

    /// Bytes of every stored zip (GetAccountSettings' TotalCodeSize in use).
    public func storedCodeBytes() -> Int64 {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: codeDirectory) else { return 0 }
        var total: Int64 = 0
        for name in names where name.hasSuffix(".zip") {
            var st = stat()
            if stat(codeDirectory + "/" + name, &st) == 0 { total += Int64(st.st_size) }
        }
        return total
    }

    /// A stored zip by its SHA-256 in lower-case hex, opened for reading, and its length; nil if there is no
    /// such package (or it is not a digest). The caller closes the descriptor.
    public func openStoredZip(digest: String) -> (fd: Int32, length: Int)? {
        guard digest.utf8.count == 64, digest.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { return nil }
        let fd = open(zipPath(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return nil
        }
        return (fd, Int(st.st_size))
    }

    /// Removes stored zips nothing refers to any more, and unreferenced packages.
    public func collectCode() {
        guard let used = try? state.referencedZipDigests(),
              let names = try? FileManager.default.contentsOfDirectory(atPath: codeDirectory) else { return }
        for name in names where name.hasSuffix(".zip") && !used.contains(String(name.dropLast(4))) {
            unlink(codeDirectory + "/" + name)
        }
    }

    // MARK: helpers

    func wrap<T>(_ body: () throws -> T) throws(ServiceError) -> T {
        do { return try body() } catch { throw .service("state: \(error)") }
    }

    /// An alias's version, or one of its additional versions by weight.
    static func pickVersion(_ alias: AliasRecord) -> String {
        var roll = Double.random(in: 0..<1)
        for (version, weight) in alias.additionalVersionWeights.sorted(by: { $0.key < $1.key }) {
            if roll < weight { return version }
            roll -= weight
        }
        return alias.functionVersion
    }

    static func canonicalRuntime(_ name: String) -> String { name }

    static var hostArchitecture: String {
        #if arch(x86_64)
        "x86_64"
        #else
        "arm64"
        #endif
    }

    /// Lambda's LastModified: 2026-11-23T08:00:00.000+0000.
    public static func now() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        return f.string(from: Date())
    }

    /// CodeSha256 as Lambda gives it: base64 of the digest's bytes.
    static func base64Sha256(hex: String) -> String {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return Data(bytes).base64EncodedString()
    }
}
