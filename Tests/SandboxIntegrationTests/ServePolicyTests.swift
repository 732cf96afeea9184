import Foundation
import XCTest

/// Resource policies (AddPermission, GetPolicy, RemovePermission) with boto3 and the aws CLI, against AWS's
/// recorded answers: what scripts that set up a function URL or an event source call first.
extension ServeURLTests {
    func testResourcePoliciesAreKeptAndAnsweredAsAWSDoes() throws {
        let daemon = try d()
        let out = try daemon.boto("""
            c.create_function(FunctionName="pol", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.web",
                              Code={"ZipFile": open("\(Self.fixtures)/app.zip", "rb").read()})
            out["no_policy"] = err(c.get_policy, FunctionName="pol")
            out["remove_none"] = err(c.remove_permission, FunctionName="pol", StatementId="x")
            r = c.add_permission(FunctionName="pol", StatementId="urlPermission", Action="lambda:InvokeFunctionUrl", Principal="*",
                                 FunctionUrlAuthType="NONE")
            out["url_status"] = r["ResponseMetadata"]["HTTPStatusCode"]
            out["url_statement"] = r["Statement"]
            out["s3_statement"] = json.loads(c.add_permission(FunctionName="pol", StatementId="s3", Action="lambda:InvokeFunction",
                                                              Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket",
                                                              SourceAccount="000000000000")["Statement"])
            out["account"] = json.loads(c.add_permission(FunctionName="pol", StatementId="acct", Action="lambda:InvokeFunction",
                                                         Principal="123456789012")["Statement"])["Principal"]
            out["duplicate"] = err(c.add_permission, FunctionName="pol", StatementId="s3", Action="lambda:InvokeFunction", Principal="*")
            out["bad_sid"] = err(c.add_permission, FunctionName="pol", StatementId="example.com", Action="lambda:InvokeFunction", Principal="*")
            out["bad_principal"] = err(c.add_permission, FunctionName="pol", StatementId="p", Action="lambda:InvokeFunction", Principal="not valid!")
            out["latest"] = err(c.add_permission, FunctionName="pol", Qualifier="$LATEST", StatementId="l", Action="lambda:InvokeFunction", Principal="*")
            out["no_function"] = err(c.add_permission, FunctionName="nope", StatementId="n", Action="lambda:InvokeFunction", Principal="*")
            out["no_alias"] = err(c.add_permission, FunctionName="pol", Qualifier="ghost", StatementId="n", Action="lambda:InvokeFunction", Principal="*")
            p = c.get_policy(FunctionName="pol")
            out["policy"] = json.loads(p["Policy"])
            out["stale"] = err(c.remove_permission, FunctionName="pol", StatementId="s3", RevisionId="0" * 36)
            out["missing_sid"] = err(c.remove_permission, FunctionName="pol", StatementId="non-existent")
            out["remove_status"] = c.remove_permission(FunctionName="pol", StatementId="s3", RevisionId=p["RevisionId"])["ResponseMetadata"]["HTTPStatusCode"]
            out["after_remove"] = [s["Sid"] for s in json.loads(c.get_policy(FunctionName="pol")["Policy"])["Statement"]]
            c.publish_version(FunctionName="pol")
            c.add_permission(FunctionName="pol", Qualifier="1", StatementId="v1", Action="lambda:InvokeFunction", Principal="*")
            out["version_resource"] = json.loads(c.get_policy(FunctionName="pol", Qualifier="1")["Policy"])["Statement"][0]["Resource"]
            c.remove_permission(FunctionName="pol", StatementId="urlPermission")
            c.remove_permission(FunctionName="pol", StatementId="acct")
            out["all_removed"] = err(c.get_policy, FunctionName="pol")
            out["remove_no_function"] = err(c.remove_permission, FunctionName="nope", StatementId="x")
            """)
        func message(_ key: String) -> String? { (out[key] as? [String: Any])?["message"] as? String }
        func status(_ key: String) -> Int? { (out[key] as? [String: Any])?["status"] as? Int }
        XCTAssertEqual(message("no_policy"), "The resource you requested does not exist.")
        XCTAssertEqual(message("remove_none"), "No policy is associated with the given resource.")
        XCTAssertEqual(out["url_status"] as? Int, 201)
        XCTAssertEqual(out["url_statement"] as? String,
                       #"{"Sid":"urlPermission","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"arn:aws:lambda:us-east-1:000000000000:function:pol","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}"#,
                       "field for field, in AWS's order")
        let s3 = try XCTUnwrap(out["s3_statement"] as? [String: Any])
        XCTAssertEqual(s3["Principal"] as? [String: String], ["Service": "s3.amazonaws.com"])
        XCTAssertEqual((s3["Condition"] as? [String: Any])?["ArnLike"] as? [String: String], ["AWS:SourceArn": "arn:aws:s3:::bucket"])
        XCTAssertEqual((s3["Condition"] as? [String: Any])?["StringEquals"] as? [String: String], ["AWS:SourceAccount": "000000000000"])
        XCTAssertEqual(out["account"] as? [String: String], ["AWS": "arn:aws:iam::123456789012:root"])
        XCTAssertEqual(status("duplicate"), 409)
        XCTAssertEqual(message("duplicate"), "The statement id (s3) provided already exists. Please provide a new statement id, or remove the existing statement.")
        XCTAssertEqual(message("bad_sid"),
                       "1 validation error detected: Value 'example.com' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)")
        XCTAssertEqual(message("bad_principal"), "The provided principal was invalid. Please check the principal and try again.")
        XCTAssertEqual(message("latest"), "We currently do not support adding policies for $LATEST.")
        XCTAssertEqual(message("no_function"), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope")
        XCTAssertEqual(message("no_alias"), "Cannot find alias arn: arn:aws:lambda:us-east-1:000000000000:function:pol:ghost")
        let policy = try XCTUnwrap(out["policy"] as? [String: Any])
        XCTAssertEqual(policy["Version"] as? String, "2012-10-17")
        XCTAssertEqual(policy["Id"] as? String, "default")
        XCTAssertEqual((policy["Statement"] as? [[String: Any]])?.compactMap { $0["Sid"] as? String }, ["urlPermission", "s3", "acct"])
        XCTAssertEqual(status("stale"), 412)
        XCTAssertEqual(message("missing_sid"), "Statement non-existent is not found in resource policy.")
        XCTAssertEqual(out["remove_status"] as? Int, 204)
        XCTAssertEqual(out["after_remove"] as? [String], ["urlPermission", "acct"])
        XCTAssertEqual(out["version_resource"] as? String, "arn:aws:lambda:us-east-1:000000000000:function:pol:1", "a version has a policy of its own")
        XCTAssertEqual(message("all_removed"), "The resource you requested does not exist.", "no statements left, no policy")
        XCTAssertEqual(message("remove_no_function"), "No policy found for: arn:aws:lambda:us-east-1:000000000000:function:nope")

        let (code, text) = try daemon.aws(["lambda", "add-permission", "--function-name", "pol", "--statement-id", "cli",
                                           "--action", "lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE"])
        XCTAssertEqual(code, 0, text)
        XCTAssertTrue(text.contains("lambda:InvokeFunctionUrl") && text.contains("cli"), text)
    }
}
