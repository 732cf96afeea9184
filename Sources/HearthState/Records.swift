import HearthModel

/// A function's configuration at one version ($LATEST or a published number),
/// in Lambda's terms. Stored as JSON so new fields need no schema change.
public struct FunctionRecord: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    /// "Zip" or "Image".
    public var packageType: String
    public var runtime: String?
    public var handler: String?
    public var role: String
    public var description: String
    public var memorySize: Int
    public var timeout: Int
    public var ephemeralStorage: Int
    public var environment: [String: String]
    public var layers: [LayerReference]
    /// Lambda's CodeSha256: base64 of the package's SHA-256.
    public var codeSha256: String
    public var codeSize: Int64
    /// Zip functions: the hex SHA-256 of the stored zip (code/<hex>.zip in the state directory).
    public var zipDigest: String?
    /// Image functions: what the user named and the digest it resolved to in the package store.
    public var imageUri: String?
    public var imageDigest: String?
    public var imageConfig: ImageConfigOverride?
    public var architectures: [String]
    public var lastModified: String
    public var revisionId: String
    /// DeadLetterConfig.TargetArn: where the events of this version go when they fail (SQS or SNS).
    public var deadLetterTargetArn: String?
    /// What its sandboxes may reach (VpcConfig's SubnetIds: internet, restricted or none); nil: the daemon's default.
    public var networkMode: String?
    /// What else they may reach (VpcConfig's SecurityGroupIds: NAME=IPV4:PORT or an IPv4 CIDR).
    public var networkAllowances: [String]?
    /// LoggingConfig; nil: Text, to /aws/lambda/NAME.
    public var loggingConfig: LoggingConfig?

    public init(name: String, version: String, packageType: String, runtime: String?, handler: String?, role: String, description: String,
                memorySize: Int, timeout: Int, ephemeralStorage: Int, environment: [String: String], layers: [LayerReference],
                codeSha256: String, codeSize: Int64, zipDigest: String?, imageUri: String?, imageDigest: String?,
                imageConfig: ImageConfigOverride?, architectures: [String], lastModified: String, revisionId: String,
                deadLetterTargetArn: String? = nil) {
        self.name = name
        self.version = version
        self.packageType = packageType
        self.runtime = runtime
        self.handler = handler
        self.role = role
        self.description = description
        self.memorySize = memorySize
        self.timeout = timeout
        self.ephemeralStorage = ephemeralStorage
        self.environment = environment
        self.layers = layers
        self.codeSha256 = codeSha256
        self.codeSize = codeSize
        self.zipDigest = zipDigest
        self.imageUri = imageUri
        self.imageDigest = imageDigest
        self.imageConfig = imageConfig
        self.architectures = architectures
        self.lastModified = lastModified
        self.revisionId = revisionId
        self.deadLetterTargetArn = deadLetterTargetArn
    }

    /// True when code and configuration are the same (what PublishVersion compares).
    public func sameContent(as other: FunctionRecord) -> Bool {
        var a = self, b = other
        for r in [\FunctionRecord.version, \.lastModified, \.revisionId, \.description] {
            a[keyPath: r] = ""
            b[keyPath: r] = ""
        }
        return a == b
    }
}

/// A layer version a function uses.
public struct LayerReference: Codable, Sendable, Equatable {
    public var arn: String
    public var codeSize: Int64
    public var zipDigest: String

    public init(arn: String, codeSize: Int64, zipDigest: String) {
        self.arn = arn
        self.codeSize = codeSize
        self.zipDigest = zipDigest
    }
}

/// ImageConfig: what overrides the image's ENTRYPOINT, CMD and WORKDIR.
public struct ImageConfigOverride: Codable, Sendable, Equatable {
    public var entryPoint: [String]?
    public var command: [String]?
    public var workingDirectory: String?

    public init(entryPoint: [String]?, command: [String]?, workingDirectory: String?) {
        self.entryPoint = entryPoint
        self.command = command
        self.workingDirectory = workingDirectory
    }
}

public struct AliasRecord: Codable, Sendable, Equatable {
    public var name: String
    public var functionVersion: String
    public var description: String
    public var revisionId: String
    /// AdditionalVersionWeights: another version and the share of invocations it gets.
    public var additionalVersionWeights: [String: Double]

    public init(name: String, functionVersion: String, description: String, revisionId: String, additionalVersionWeights: [String: Double] = [:]) {
        self.name = name
        self.functionVersion = functionVersion
        self.description = description
        self.revisionId = revisionId
        self.additionalVersionWeights = additionalVersionWeights
    }
}

public struct LayerVersionRecord: Codable, Sendable, Equatable {
    public var name: String
    public var version: Int
    public var description: String
    public var compatibleRuntimes: [String]
    public var compatibleArchitectures: [String]
    public var licenseInfo: String?
    public var codeSha256: String
    public var codeSize: Int64
    public var zipDigest: String
    public var createdDate: String

    public init(name: String, version: Int, description: String, compatibleRuntimes: [String], compatibleArchitectures: [String],
                licenseInfo: String?, codeSha256: String, codeSize: Int64, zipDigest: String, createdDate: String) {
        self.name = name
        self.version = version
        self.description = description
        self.compatibleRuntimes = compatibleRuntimes
        self.compatibleArchitectures = compatibleArchitectures
        self.licenseInfo = licenseInfo
        self.codeSha256 = codeSha256
        self.codeSize = codeSize
        self.zipDigest = zipDigest
        self.createdDate = createdDate
    }
}

public struct ProvisionedConcurrencyRecord: Codable, Sendable, Equatable {
    public var qualifier: String
    public var requested: Int
    public var lastModified: String

    public init(qualifier: String, requested: Int, lastModified: String) {
        self.qualifier = qualifier
        self.requested = requested
        self.lastModified = lastModified
    }
}

/// A function's event invoke configuration at one qualifier. Fields left out of a Put are nil (and
/// absent from the response, as on Lambda); the dispatcher applies Lambda's defaults to them.
public struct EventInvokeConfigRecord: Codable, Sendable, Equatable {
    /// "$LATEST", a version number or an alias.
    public var qualifier: String
    public var maximumRetryAttempts: Int?
    public var maximumEventAgeInSeconds: Int?
    /// Destination ARNs; nil for none.
    public var onSuccess: String?
    public var onFailure: String?
    /// Unix seconds (the API answers it as a timestamp).
    public var lastModified: Double

    public init(qualifier: String, maximumRetryAttempts: Int?, maximumEventAgeInSeconds: Int?, onSuccess: String?, onFailure: String?,
                lastModified: Double) {
        self.qualifier = qualifier
        self.maximumRetryAttempts = maximumRetryAttempts
        self.maximumEventAgeInSeconds = maximumEventAgeInSeconds
        self.onSuccess = onSuccess
        self.onFailure = onFailure
        self.lastModified = lastModified
    }
}

/// A function URL's CORS settings, as CreateFunctionUrlConfig's `Cors` carries them; nil fields were not given.
public struct FunctionUrlCors: Codable, Sendable, Equatable {
    public var allowCredentials: Bool?
    public var allowHeaders: [String]?
    public var allowMethods: [String]?
    public var allowOrigins: [String]?
    public var exposeHeaders: [String]?
    public var maxAge: Int?

    public init(allowCredentials: Bool? = nil, allowHeaders: [String]? = nil, allowMethods: [String]? = nil, allowOrigins: [String]? = nil,
                exposeHeaders: [String]? = nil, maxAge: Int? = nil) {
        self.allowCredentials = allowCredentials
        self.allowHeaders = allowHeaders
        self.allowMethods = allowMethods
        self.allowOrigins = allowOrigins
        self.exposeHeaders = exposeHeaders
        self.maxAge = maxAge
    }
}

/// A function URL: one per function (unqualified) or per alias, named by a random id.
public struct FunctionUrlRecord: Codable, Sendable, Equatable {
    /// 32 lower-case letters and digits, as AWS makes them; the host name's first label.
    public var urlId: String
    /// The alias it invokes; nil for the unqualified function ($LATEST).
    public var qualifier: String?
    /// NONE or AWS_IAM.
    public var authType: String
    /// BUFFERED or RESPONSE_STREAM; nil when never given (Lambda then answers it only on Get).
    public var invokeMode: String?
    public var cors: FunctionUrlCors?
    /// ISO 8601 with microseconds, as Lambda answers them.
    public var creationTime: String
    public var lastModifiedTime: String

    public init(urlId: String, qualifier: String?, authType: String, invokeMode: String?, cors: FunctionUrlCors?, creationTime: String,
                lastModifiedTime: String) {
        self.urlId = urlId
        self.qualifier = qualifier
        self.authType = authType
        self.invokeMode = invokeMode
        self.cors = cors
        self.creationTime = creationTime
        self.lastModifiedTime = lastModifiedTime
    }
}

/// PutRuntimeManagementConfig: when the runtime may change (Auto, FunctionUpdate or Manual) and, for
/// Manual, the runtime version it stays on.
public struct RuntimeManagementRecord: Codable, Sendable, Equatable {
    public var updateRuntimeOn: String
    public var runtimeVersionArn: String?

    public init(updateRuntimeOn: String, runtimeVersionArn: String? = nil) {
        self.updateRuntimeOn = updateRuntimeOn
        self.runtimeVersionArn = runtimeVersionArn
    }
}
