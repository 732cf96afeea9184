import AsyncHTTPClient
import Foundation
import HearthAuth
import HearthEvents
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Where SQS destinations and dead-letter queues go: one SQS-compatible endpoint (AWS's, or a local one
/// such as moto_server), with the credentials to sign for it. From the daemon's settings.
public struct SQSEndpoint: Sendable, Equatable {
    public var url: String
    public var accessKey: String
    public var secretKey: String

    public init(url: String, accessKey: String, secretKey: String) {
        self.url = url
        self.accessKey = accessKey
        self.secretKey = secretKey
    }
}

/// Sends messages with SQS's JSON protocol (what current SDKs speak): GetQueueUrl once per queue ARN,
/// then SendMessage, each signed with SigV4 for the queue's region.
public final class SQSSender: DestinationSender, @unchecked Sendable {
    private let endpoint: SQSEndpoint
    private let host: String
    private let client: HTTPClient
    private let lock = NSLock()
    private var queueURLs: [String: String] = [:]

    public init(endpoint: SQSEndpoint) throws {
        let outside: OutsideEndpoint
        do { outside = try OutsideEndpoint(endpoint.url, setting: "sqs_endpoint", readTimeout: 30) } catch { throw SQSError("\(error)") }
        self.endpoint = SQSEndpoint(url: outside.base, accessKey: endpoint.accessKey, secretKey: endpoint.secretKey)
        host = outside.host
        client = outside.client
    }

    public func shutdown() async { try? await client.shutdown() }

    /// arn:aws:sqs:REGION:ACCOUNT:NAME
    static func queue(_ arn: String) -> (region: String, account: String, name: String)? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sqs", !parts[3].isEmpty, !parts[4].isEmpty, !parts[5].isEmpty else { return nil }
        return (parts[3], parts[4], parts[5])
    }

    public func refusal(for target: String) -> String? {
        Self.queue(target) == nil ? "only SQS queues are delivered to outside Hearth" : nil
    }

    public func send(_ delivery: Delivery) async throws {
        guard let queue = Self.queue(delivery.target) else { throw SQSError("\(delivery.target) is not an SQS queue ARN") }
        let url = try await queueURL(delivery.target, queue)
        var body: [String: Any] = ["QueueUrl": url, "MessageBody": String(decoding: delivery.body, as: UTF8.self)]
        if !delivery.attributes.isEmpty {
            var attributes: [String: Any] = [:]
            for a in delivery.attributes { attributes[a.name] = ["DataType": a.dataType, "StringValue": a.value] }
            body["MessageAttributes"] = attributes
        }
        _ = try await call("SendMessage", body, region: queue.region)
    }

    private func queueURL(_ arn: String, _ queue: (region: String, account: String, name: String)) async throws -> String {
        if let known = lock.withLock({ queueURLs[arn] }) { return known }
        let answer = try await call("GetQueueUrl", ["QueueName": queue.name, "QueueOwnerAWSAccountId": queue.account], region: queue.region)
        guard let url = answer["QueueUrl"] as? String else { throw SQSError("GetQueueUrl for \(arn) answered no QueueUrl") }
        lock.withLock { queueURLs[arn] = url }
        return url
    }

    /// One JSON-protocol call; the answer's object, or an error with SQS's own type and message.
    private func call(_ action: String, _ body: [String: Any], region: String) async throws -> [String: Any] {
        let bytes = Array(try JSONSerialization.data(withJSONObject: body))
        let headers: [(name: String, value: String)] = [("Host", host), ("Content-Type", "application/x-amz-json-1.0"),
                                                        ("X-Amz-Target", "AmazonSQS.\(action)")]
        let signed = SigV4Signer.sign(method: "POST", rawPath: "/", headers: headers, body: bytes, service: "sqs", region: region,
                                      accessKey: endpoint.accessKey, secretKey: endpoint.secretKey)
        var request = HTTPClientRequest(url: endpoint.url + "/")
        request.method = .POST
        for (name, value) in headers where name != "Host" { request.headers.add(name: name, value: value) }
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 1 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: data))) as? [String: Any] ?? [:]
        guard response.status == .ok else {
            let type = (object["__type"] as? String).map { $0.split(separator: "#").last.map(String.init) ?? $0 } ?? "HTTP \(response.status.code)"
            throw SQSError("\(action): \(type): \(object["message"] ?? object["Message"] ?? "")")
        }
        return object
    }
}

public struct SQSError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
