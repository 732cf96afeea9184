import HearthModel
import HearthPackages

/// A zip kept in S3 (Code's or Content's S3Bucket, S3Key and S3ObjectVersion), checked as Lambda checks them.
public struct S3Location: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var version: String?

    public init(bucket: String, key: String, version: String?) throws(ServiceError) {
        guard (3...63).contains(bucket.count), !bucket.hasSuffix("."),
              bucket.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSetASCII.alnum($0) || ".-_".unicodeScalars.contains($0)) }) else {
            throw .validation("s3Bucket", bucket, #"Member must satisfy regular expression pattern: ^[0-9A-Za-z\.\-_]*(?<!\.)$ and have length between 3 and 63"#)
        }
        guard (1...1024).contains(key.utf8.count) else {
            throw .validation("s3Key", String(key.prefix(80)), "Member must have length between 1 and 1024")
        }
        if let version, !(1...1024).contains(version.utf8.count) {
            throw .validation("s3ObjectVersion", String(version.prefix(80)), "Member must have length between 1 and 1024")
        }
        self.bucket = bucket
        self.key = key
        self.version = version
    }
}

/// Where S3 locations are read from: the S3-compatible endpoint the daemon is configured with (AWS's, MinIO,
/// a local test server). `HearthDelivery.S3CodeFetcher` is the real one.
public protocol S3CodeSource: Sendable {
    /// The object's bytes in a file in `directory`; Lambda's InvalidParameterValueException when it cannot be read.
    func fetch(_ location: S3Location, into directory: String) async throws(ServiceError) -> UnnamedFile
}
