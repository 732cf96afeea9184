import Crypto
import Foundation
@testable import HearthAuth
import XCTest

/// The signer against AWS's get-vanilla vector, and against Hearth's own verifier for an SQS call.
final class SigV4SignerTests: XCTestCase {
    let signedAt = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z

    func testAWSTestSuitesVanillaRequest() {
        let added = SigV4Signer.sign(method: "GET", rawPath: "/", headers: [("Host", "example.amazonaws.com")], body: [], service: "service",
                                     region: "us-east-1", accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                     date: signedAt, contentHashHeader: false)
        XCTAssertEqual(added.first { $0.0 == "X-Amz-Date" }?.1, "20150830T123600Z")
        XCTAssertEqual(added.first { $0.0 == "Authorization" }?.1,
                       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    /// An SQS SendMessage as Hearth sends it verifies, and a changed body does not.
    func testWhatItSignsVerifies() throws {
        let body = Array(#"{"QueueUrl":"http://127.0.0.1:5000/000000000000/dlq","MessageBody":"{}"}"#.utf8)
        let headers: [(name: String, value: String)] = [("Host", "127.0.0.1:5000"), ("Content-Type", "application/x-amz-json-1.0"),
                                                        ("X-Amz-Target", "AmazonSQS.SendMessage")]
        let added = SigV4Signer.sign(method: "POST", rawPath: "/", headers: headers, body: body, service: "sqs", region: "eu-west-1",
                                     accessKey: "HRTHEXAMPLEKEY000000", secretKey: "secretsecretsecretsecretsecretsecret0000", date: signedAt)
        let verifier = SigV4Verifier(region: "eu-west-1", service: "sqs") { $0 == "HRTHEXAMPLEKEY000000" ? "secretsecretsecretsecretsecretsecret0000" : nil }
        let all = headers + added.map { (name: $0.0, value: $0.1) }
        let hash = SigV4Verifier.hex(SHA256.hash(data: body))
        XCTAssertEqual(try verifier.verify(SignedRequest(method: "POST", rawTarget: "/", headers: all, payloadSHA256: hash), now: signedAt),
                       "HRTHEXAMPLEKEY000000")
        let other = SigV4Verifier.hex(SHA256.hash(data: Array("{}".utf8)))
        XCTAssertThrowsError(try verifier.verify(SignedRequest(method: "POST", rawTarget: "/", headers: all, payloadSHA256: other), now: signedAt))
    }

    /// EventBridge Scheduler's paths are scoped to "scheduler", CloudWatch Logs' calls (POST / with a
    /// Logs_20140328 target) to "logs", the rest to "lambda": a signature for the wrong service is refused on each.
    func testSchedulerPathsAndLogsCallsAreSignedForTheirServices() throws {
        let verifier = SigV4Verifier(region: "us-east-1") { $0 == "HRTHEXAMPLEKEY000000" ? "secretsecretsecretsecretsecretsecret0000" : nil }
        let hash = SigV4Verifier.hex(SHA256.hash(data: [UInt8]()))
        func request(_ path: String, service: String, target: String? = nil) -> SignedRequest {
            let headers: [(name: String, value: String)] = [("Host", "127.0.0.1:9000")] + (target.map { [("X-Amz-Target", $0)] } ?? [])
            let added = SigV4Signer.sign(method: "GET", rawPath: path, headers: headers, body: [], service: service, region: "us-east-1",
                                         accessKey: "HRTHEXAMPLEKEY000000", secretKey: "secretsecretsecretsecretsecretsecret0000", date: signedAt)
            return SignedRequest(method: "GET", rawTarget: path, headers: headers + added.map { (name: $0.0, value: $0.1) }, payloadSHA256: hash)
        }
        XCTAssertEqual(try verifier.verify(request("/schedules/nightly", service: "scheduler"), now: signedAt), "HRTHEXAMPLEKEY000000")
        XCTAssertEqual(try verifier.verify(request("/schedule-groups", service: "scheduler"), now: signedAt), "HRTHEXAMPLEKEY000000")
        XCTAssertThrowsError(try verifier.verify(request("/schedules/nightly", service: "lambda"), now: signedAt))
        XCTAssertThrowsError(try verifier.verify(request("/2015-03-31/functions", service: "scheduler"), now: signedAt))
        XCTAssertEqual(try verifier.verify(request("/2015-03-31/functions", service: "lambda"), now: signedAt), "HRTHEXAMPLEKEY000000")
        XCTAssertEqual(try verifier.verify(request("/", service: "logs", target: "Logs_20140328.FilterLogEvents"), now: signedAt), "HRTHEXAMPLEKEY000000")
        XCTAssertThrowsError(try verifier.verify(request("/", service: "lambda", target: "Logs_20140328.FilterLogEvents"), now: signedAt))
        XCTAssertThrowsError(try verifier.verify(request("/", service: "logs"), now: signedAt))
    }
}
