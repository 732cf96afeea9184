import AsyncHTTPClient
import Foundation
import HearthAuth
import HearthModel
import HearthPackages
import HearthRegistry
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The S3-compatible endpoint function and layer code may be read from, with the credentials to sign for it.
public struct S3Endpoint: Sendable, Equatable {
    public var url: String
    public var accessKey: String
    public var secretKey: String
    public var region: String

    public init(url: String, accessKey: String, secretKey: String, region: String) {
        self.url = url
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
    }
}

/// Reads code from S3 with a SigV4-signed GetObject, path-style (http(s)://HOST/BUCKET/KEY[?versionId=]),
/// which AWS, MinIO and moto all serve; the body goes to a file as it arrives, up to Lambda's 250 MB.
public final class S3CodeFetcher: S3CodeSource, @unchecked Sendable {
    /// Lambda's 250 MB for a function's code.
    public static let maxObjectBytes = 262_144_000
    /// The largest object read (tests lower it).
    let maxBytes: Int
    private let endpoint: S3Endpoint
    private let host: String
    private let client: HTTPClient

    public init(endpoint: S3Endpoint, maxBytes: Int = S3CodeFetcher.maxObjectBytes) throws {
        self.maxBytes = maxBytes
        let outside: OutsideEndpoint
        do { outside = try OutsideEndpoint(endpoint.url, setting: "s3_endpoint", readTimeout: 60) } catch {
            throw HearthError.invalidArgument("\(error)")
        }
        self.endpoint = S3Endpoint(url: outside.base, accessKey: endpoint.accessKey, secretKey: endpoint.secretKey, region: endpoint.region)
        host = outside.host
        client = outside.client
    }

    public func shutdown() async { try? await client.shutdown() }

    public func fetch(_ location: S3Location, into directory: String) async throws(ServiceError) -> UnnamedFile {
        let path = "/" + location.bucket + "/" + location.key
        let query = location.version.map { "versionId=" + SigV4Signer.encodedComponent($0) } ?? ""
        let headers: [(name: String, value: String)] = [("Host", host)]
        // S3 signs the path encoded once: the canonical form of the unencoded path is exactly that.
        let signed = SigV4Signer.sign(method: "GET", rawPath: path, rawQuery: query, headers: headers, body: [], service: "s3",
                                      region: endpoint.region, accessKey: endpoint.accessKey, secretKey: endpoint.secretKey)
        var request = HTTPClientRequest(url: endpoint.url + SigV4Signer.encodedPath(path) + (query.isEmpty ? "" : "?" + query))
        request.method = .GET
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        do {
            let response = try await client.execute(request, timeout: .seconds(120))
            guard response.status == .ok else {
                let body = try await response.body.collect(upTo: 64 * 1024)
                throw Self.getObjectError(status: Int(response.status.code), xml: String(buffer: body))
            }
            let file = try UnnamedFile(directory: directory)
            var total = 0
            for try await chunk in response.body {
                total += chunk.readableBytes
                guard total <= maxBytes else {
                    throw ServiceError.invalidParameter("The S3 object s3://\(location.bucket)/\(location.key) is larger than \(maxBytes) bytes.")
                }
                try chunk.withUnsafeReadableBytes { try file.write($0) }
            }
            return file
        } catch let error as ServiceError {
            throw error
        } catch {
            throw .invalidParameter("Error occurred while GetObject. S3 Error Code: ServiceUnavailable. S3 Error Message: \(error)")
        }
    }

    /// Lambda's words for an object it could not read, with S3's own code and message from the error's XML.
    static func getObjectError(status: Int, xml: String) -> ServiceError {
        func element(_ name: String) -> String? {
            guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else { return nil }
            return String(xml[start.upperBound..<end.lowerBound])
        }
        let code = element("Code") ?? "HTTP\(status)"
        let message = element("Message") ?? "HTTP \(status)"
        return .invalidParameter("Error occurred while GetObject. S3 Error Code: \(code). S3 Error Message: \(message)")
    }
}
