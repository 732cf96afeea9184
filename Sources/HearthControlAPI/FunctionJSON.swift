import HearthModel
import HearthState
import HearthSupervisor

extension LambdaAPI {
    /// A version's configuration as Lambda answers it, with the build of its runtime.
    func configuration(_ r: FunctionRecord, change: FunctionJSON.Change? = nil) -> [String: Any] {
        FunctionJSON.configuration(r, region: region, change: change, runtimeVersionArn: r.runtime.flatMap { functions.runtimeVersionArn($0) })
    }
}

/// Lambda's response shapes, built from stored records.
enum FunctionJSON {
    /// How Lambda answers a change: CreateFunction (and a version a change publishes) Pending, an update
    /// of $LATEST InProgress; a read afterwards finds it Active and Successful, with a new RevisionId.
    enum Change { case creating, updating }

    static func configuration(_ r: FunctionRecord, region: String, change: Change? = nil, runtimeVersionArn: String? = nil) -> [String: Any] {
        var out: [String: Any] = [
            "FunctionName": r.name,
            "FunctionArn": LambdaARN.function(r.name, qualifier: r.version == "$LATEST" ? nil : r.version, region: region),
            "Role": r.role,
            "CodeSize": r.codeSize,
            "Description": r.description,
            "Timeout": r.timeout,
            "MemorySize": r.memorySize,
            "LastModified": r.lastModified,
            "CodeSha256": r.codeSha256,
            "Version": r.version,
            "TracingConfig": ["Mode": "PassThrough"],
            "RevisionId": r.revisionId,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": r.packageType,
            "Architectures": r.architectures,
            "EphemeralStorage": ["Size": r.ephemeralStorage],
            "LoggingConfig": Self.loggingConfig(r),
            "SnapStart": ["ApplyOn": "None", "OptimizationStatus": "Off"],
        ]
        if let runtime = r.runtime { out["Runtime"] = runtime }
        if let runtimeVersionArn { out["RuntimeVersionConfig"] = ["RuntimeVersionArn": runtimeVersionArn] }
        if let handler = r.handler { out["Handler"] = handler }
        out["Environment"] = ["Variables": r.environment]
        switch change {
        case .creating:
            out["State"] = "Pending"
            out["StateReason"] = "The function is being created."
            out["StateReasonCode"] = "Creating"
            out["LastUpdateStatus"] = nil
        case .updating:
            out["LastUpdateStatus"] = "InProgress"
            out["LastUpdateStatusReason"] = "The function is being created."
            out["LastUpdateStatusReasonCode"] = "Creating"
        case nil: break
        }
        if let dlq = r.deadLetterTargetArn { out["DeadLetterConfig"] = ["TargetArn": dlq] }
        if let mode = r.networkMode {
            out["VpcConfig"] = ["SubnetIds": [mode], "SecurityGroupIds": r.networkAllowances ?? [], "VpcId": "hearth",
                                "Ipv6AllowedForDualStack": false] as [String: Any]
        }
        if !r.layers.isEmpty { out["Layers"] = r.layers.map { ["Arn": $0.arn, "CodeSize": $0.codeSize] as [String: Any] } }
        if let c = r.imageConfig {
            var config: [String: Any] = [:]
            if let e = c.entryPoint { config["EntryPoint"] = e }
            if let cmd = c.command { config["Command"] = cmd }
            if let w = c.workingDirectory { config["WorkingDirectory"] = w }
            out["ImageConfigResponse"] = ["ImageConfig": config]
        }
        return out
    }

    /// LoggingConfig as Lambda answers it: the levels only with the JSON format.
    static func loggingConfig(_ r: FunctionRecord) -> [String: Any] {
        let c = r.loggingConfig ?? .text
        var out: [String: Any] = ["LogFormat": c.logFormat, "LogGroup": c.group(of: r.name)]
        if let level = c.applicationLogLevel { out["ApplicationLogLevel"] = level }
        if let level = c.systemLogLevel { out["SystemLogLevel"] = level }
        return out
    }

    static func alias(_ a: AliasRecord, function: String, region: String) -> [String: Any] {
        var out: [String: Any] = [
            "AliasArn": LambdaARN.function(function, qualifier: a.name, region: region),
            "Name": a.name, "FunctionVersion": a.functionVersion, "Description": a.description, "RevisionId": a.revisionId,
        ]
        if !a.additionalVersionWeights.isEmpty { out["RoutingConfig"] = ["AdditionalVersionWeights": a.additionalVersionWeights] }
        return out
    }

    static func layerVersion(_ l: LayerVersionRecord, region: String, codeURL: String?) -> [String: Any] {
        var content: [String: Any] = ["CodeSha256": l.codeSha256, "CodeSize": l.codeSize]
        if let codeURL { content["Location"] = codeURL }
        var out: [String: Any] = [
            "Content": content,
            "LayerArn": LambdaARN.layer(l.name, region: region),
            "LayerVersionArn": LambdaARN.layer(l.name, version: l.version, region: region),
            "Description": l.description, "CreatedDate": l.createdDate, "Version": l.version,
            "CompatibleRuntimes": l.compatibleRuntimes, "CompatibleArchitectures": l.compatibleArchitectures,
        ]
        if let license = l.licenseInfo { out["LicenseInfo"] = license }
        return out
    }

    /// READY once every sandbox is ready; FAILED with Lambda's StatusReason when they cannot be made.
    static func provisioned(_ p: ProvisionedConcurrencyRecord, available: Int, failure: String? = nil) -> [String: Any] {
        var out: [String: Any] = [
            "RequestedProvisionedConcurrentExecutions": p.requested,
            "AvailableProvisionedConcurrentExecutions": min(available, p.requested),
            "AllocatedProvisionedConcurrentExecutions": min(available, p.requested),
            "Status": available >= p.requested ? "READY" : failure == nil ? "IN_PROGRESS" : "FAILED",
            "LastModified": p.lastModified,
        ]
        if available < p.requested, let failure { out["StatusReason"] = failure }
        return out
    }
}
