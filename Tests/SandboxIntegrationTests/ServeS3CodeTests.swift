import Foundation
import HearthDelivery
import HearthModel
import HearthRegistry
import XCTest

extension ServeDestinationTests {
    /// Code kept in S3 (moto_server's, as the daemon's s3_endpoint): a function created and updated from
    /// S3Bucket and S3Key, an object version pinned with S3ObjectVersion, a layer from S3, and AWS's words for a
    /// key or bucket that is not there. boto3 signs for the daemon; the daemon signs its GetObject for moto.
    func testFunctionsAndLayersAreMadeFromCodeKeptInS3() throws {
        let daemon = try XCTUnwrap(daemon)
        let out = try daemon.boto("""
            import io, zipfile
            s3 = boto3.client("s3", endpoint_url="\(sqsEndpoint)", region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            def zipped(files):
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w") as z:
                    for name, text in files.items():
                        z.writestr(name, text)
                return buffer.getvalue()
            def code(answer):
                return zipped({"app.py": "import helper\\ndef handler(e, c):\\n    return {'answer': '%s', 'helper': helper.NAME}\\n" % answer})
            s3.create_bucket(Bucket="code-bucket")
            s3.put_bucket_versioning(Bucket="code-bucket", VersioningConfiguration={"Status": "Enabled"})
            one = code("one")
            first = s3.put_object(Bucket="code-bucket", Key="fn/app 1.zip", Body=one)["VersionId"]
            s3.put_object(Bucket="code-bucket", Key="fn/app 1.zip", Body=code("two"))
            s3.put_object(Bucket="code-bucket", Key="layers/helper.zip", Body=zipped({"python/helper.py": "NAME = 'from the S3 layer'\\n"}))

            layer = c.publish_layer_version(LayerName="s3helper", Content={"S3Bucket": "code-bucket", "S3Key": "layers/helper.zip"})
            c.create_function(FunctionName="from-s3", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/r", Handler="app.handler",
                              Code={"S3Bucket": "code-bucket", "S3Key": "fn/app 1.zip"}, Layers=[layer["LayerVersionArn"]])
            out["latest"] = payload(c.invoke(FunctionName="from-s3", Payload=b"{}"))
            u = c.update_function_code(FunctionName="from-s3", S3Bucket="code-bucket", S3Key="fn/app 1.zip", S3ObjectVersion=first)
            out["sha_matches"] = u["CodeSha256"] == base64.b64encode(__import__("hashlib").sha256(one).digest()).decode()
            out["pinned"] = payload(c.invoke(FunctionName="from-s3", Payload=b"{}"))
            out["no_key"] = err(c.create_function, FunctionName="no-key", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/r",
                                Handler="app.handler", Code={"S3Bucket": "code-bucket", "S3Key": "missing.zip"})
            out["no_bucket"] = err(c.update_function_code, FunctionName="from-s3", S3Bucket="no-such-bucket", S3Key="fn/app 1.zip")
            out["bad_bucket"] = err(c.update_function_code, FunctionName="from-s3", S3Bucket="ends-with-dot.", S3Key="k")
            out["after_refusals"] = payload(c.invoke(FunctionName="from-s3", Payload=b"{}"))
            out["no_key_exists"] = err(c.get_function, FunctionName="no-key")
            """)
        XCTAssertEqual(out["latest"] as? NSDictionary, ["answer": "two", "helper": "from the S3 layer"] as NSDictionary)
        XCTAssertEqual(out["sha_matches"] as? Bool, true, "CodeSha256 is the pinned version's")
        XCTAssertEqual((out["pinned"] as? [String: Any])?["answer"] as? String, "one", "S3ObjectVersion picks the first upload")
        let noKey = try XCTUnwrap(out["no_key"] as? [String: Any])
        XCTAssertEqual(noKey["code"] as? String, "InvalidParameterValueException")
        XCTAssertEqual(noKey["message"] as? String,
                       "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
        XCTAssertEqual((out["no_bucket"] as? [String: Any])?["message"] as? String,
                       "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
        XCTAssertEqual((out["bad_bucket"] as? [String: Any])?["code"] as? String, "ValidationException")
        XCTAssertEqual((out["after_refusals"] as? [String: Any])?["answer"] as? String, "one", "a refused update changes nothing")
        XCTAssertEqual((out["no_key_exists"] as? [String: Any])?["code"] as? String, "ResourceNotFoundException", "nothing is half-made")
    }

    /// An object past the fetcher's limit is refused while it streams, in words that name it and the limit; one
    /// inside it arrives whole.
    func testAnObjectLargerThanTheLimitIsRefusedAsItArrives() async throws {
        _ = try daemon.map { try $0.python("""
            import boto3, json
            s3 = boto3.client("s3", endpoint_url="\(sqsEndpoint)", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
            s3.create_bucket(Bucket="limits")
            s3.put_object(Bucket="limits", Key="big.zip", Body=b"x" * 200_000)
            s3.put_object(Bucket="limits", Key="small.zip", Body=b"y" * 1_000)
            out = {}
            """) }
        let fetcher = try S3CodeFetcher(endpoint: S3Endpoint(url: sqsEndpoint, accessKey: "testing", secretKey: "testing", region: "us-east-1"),
                                        maxBytes: 100_000)
        do {
            let small = try await fetcher.fetch(try S3Location(bucket: "limits", key: "small.zip", version: nil), into: fixtures)
            XCTAssertEqual(small.size, 1_000)
            do {
                _ = try await fetcher.fetch(try S3Location(bucket: "limits", key: "big.zip", version: nil), into: fixtures)
                XCTFail("a 200,000-byte object passed a 100,000-byte limit")
            } catch {
                XCTAssertEqual(error, .invalidParameter("The S3 object s3://limits/big.zip is larger than 100000 bytes."))
            }
        } catch {
            XCTFail("\(error)")
        }
        await fetcher.shutdown()
    }
}
