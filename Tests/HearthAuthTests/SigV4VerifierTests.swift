import Foundation
import HearthModel
@testable import HearthAuth
import XCTest

/// SigV4 against AWS's own test vector and against requests botocore signed (a Lambda Invoke on an ARN,
/// whose "%3A" is signed as "%253A"), then every way a request can be refused, each with AWS's answer.
final class SigV4VerifierTests: XCTestCase {
    let vanillaSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    let signedAt = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z

    func verifier(service: String = "lambda", region: String = "us-east-1") -> SigV4Verifier {
        SigV4Verifier(region: region, service: service) { id in
            ["AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "HRTHEXAMPLEKEY000000": "secretsecretsecretsecretsecretsecret0000"][id]
        }
    }

    /// AWS's get-vanilla.
    func testAWSTestSuitesVanillaRequest() throws {
        let request = SignedRequest(method: "GET", rawTarget: "/", headers: [
            ("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ], payloadSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try verifier(service: "service").verify(request, now: signedAt), "AKIDEXAMPLE")
    }

    /// botocore's signature of an Invoke on a qualified ARN, with a query and a signed extra header.
    var invoke: SignedRequest {
        SignedRequest(method: "POST",
                      rawTarget: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af%3Aprod/invocations?Qualifier=a%20b",
                      headers: [("Host", "127.0.0.1:9000"), ("X-Amz-Log-Type", "Tail"), ("X-Amz-Date", "20150830T123600Z"),
                                ("Authorization", "AWS4-HMAC-SHA256 Credential=HRTHEXAMPLEKEY000000/20150830/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date;x-amz-log-type, Signature=8392cc2b046a59b2944d7be3437b4b887efcda56102da146998f51eb6e2cf1b0")],
                      payloadSHA256: "613fe5aa65343dbb1b9abe6abac6773f5c91bd60d3f2ffb7e2eae69e1db8b227")
    }

    func testBotocoresInvokeOnAnARNIsAccepted() throws {
        XCTAssertEqual(try verifier().verify(invoke, now: signedAt.addingTimeInterval(299)), "HRTHEXAMPLEKEY000000")
    }

    /// botocore's presigned URL (the query-string form): the empty body's hash signed, and an expiry.
    func testBotocoresPresignedURLIsAcceptedUntilItExpires() throws {
        let url = "/2015-03-31/functions/f/configuration?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=HRTHEXAMPLEKEY000000%2F20150830%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=b95e344c4c6a5395fdf12d73253a84a70d94da9c1e7b82cb69ffabf77112b12a"
        let request = SignedRequest(method: "GET", rawTarget: url, headers: [("Host", "127.0.0.1:9000")],
                                    payloadSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try verifier().verify(request, now: signedAt.addingTimeInterval(59)), "HRTHEXAMPLEKEY000000")
        XCTAssertEqual(refusal(request, now: signedAt.addingTimeInterval(61))?.message,
                       "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T123701Z - 1 min.)")
        var other = request
        other.rawTarget = url.replacingOccurrences(of: "functions/f/", with: "functions/g/")
        XCTAssertEqual(refusal(other)?.type, "InvalidSignatureException")
    }

    func refusal(_ request: SignedRequest, now: Date? = nil, region: String = "us-east-1") -> ServiceError? {
        do {
            _ = try verifier(region: region).verify(request, now: now ?? signedAt)
            return nil
        } catch {
            return error
        }
    }

    func testEachChangeToASignedRequestIsRefusedWithAWSsAnswer() {
        var tampered = invoke
        tampered.payloadSHA256 = "0" + tampered.payloadSHA256.dropFirst()
        XCTAssertEqual(refusal(tampered)?.type, "InvalidSignatureException", "a changed body")
        var header = invoke
        header.headers[1].value = "None"
        XCTAssertEqual(refusal(header)?.type, "InvalidSignatureException", "a changed signed header")
        var path = invoke
        path.rawTarget = path.rawTarget.replacingOccurrences(of: "%3Aprod", with: "%3Atest")
        XCTAssertEqual(refusal(path)?.type, "InvalidSignatureException", "another qualifier")
        var query = invoke
        query.rawTarget += "&Extra=1"
        XCTAssertEqual(refusal(query)?.type, "InvalidSignatureException", "an added parameter")
        let mismatch = refusal(header)
        XCTAssertEqual(mismatch?.status, 403)
        XCTAssertTrue(mismatch?.message.hasPrefix("The request signature we calculated does not match the signature you provided.") == true)
    }

    func testKeysScopesAndTimesAreChecked() {
        var unknown = invoke
        unknown.headers[3].value = unknown.headers[3].value.replacingOccurrences(of: "HRTHEXAMPLEKEY000000", with: "HRTHNOSUCHKEY0000000")
        XCTAssertEqual(refusal(unknown), ServiceError(status: 403, type: "UnrecognizedClientException",
                                                      message: "The security token included in the request is invalid."))
        XCTAssertEqual(refusal(invoke, region: "eu-west-1")?.message, "Credential should be scoped to a valid region. ")
        let late = refusal(invoke, now: signedAt.addingTimeInterval(301))
        XCTAssertEqual(late?.type, "InvalidSignatureException")
        XCTAssertEqual(late?.message, "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)")
        XCTAssertEqual(refusal(invoke, now: signedAt.addingTimeInterval(-301))?.message,
                       "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T123059Z + 5 min.)")
        var unsigned = invoke
        unsigned.headers.remove(at: 3)
        XCTAssertEqual(refusal(unsigned), ServiceError(status: 403, type: "MissingAuthenticationTokenException", message: "Missing Authentication Token"))
        var noHost = invoke
        noHost.headers[3].value = noHost.headers[3].value.replacingOccurrences(of: "SignedHeaders=host;", with: "SignedHeaders=")
        XCTAssertEqual(refusal(noHost)?.type, "InvalidSignatureException")
        var garbled = invoke
        garbled.headers[3].value = "AWS4-HMAC-SHA256 Signature=00"
        XCTAssertEqual(refusal(garbled)?.type, "IncompleteSignatureException")
        var badDate = invoke
        badDate.headers[2].value = "2015-08-30T12:36:00Z"
        XCTAssertEqual(refusal(badDate)?.type, "IncompleteSignatureException")
    }

    func testTheDeclaredPayloadHashIsHeldToTheBody() throws {
        // With x-amz-content-sha256 signed as UNSIGNED-PAYLOAD the body is not covered; any other value must be the body's hash.
        var declared = invoke
        declared.headers.append(("X-Amz-Content-Sha256", String(repeating: "a", count: 64)))
        XCTAssertEqual(refusal(declared)?.message, "The provided 'x-amz-content-sha256' header does not match what was computed.")
    }

    func testDatesAreReadAsUTC() {
        XCTAssertEqual(SigV4Verifier.parseDate("20150830T123600Z"), signedAt)
        XCTAssertEqual(SigV4Verifier.parseDate("20240229T000000Z"), Date(timeIntervalSince1970: 1_709_164_800))
        XCTAssertNil(SigV4Verifier.parseDate("20151330T123600Z"))
        XCTAssertNil(SigV4Verifier.parseDate("2015083OT123600Z"))
        XCTAssertEqual(AuthFailure.stamp(signedAt), "20150830T123600Z")
    }
}
