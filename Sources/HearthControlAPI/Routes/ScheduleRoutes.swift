import Foundation
import HearthEvents
import HearthModel

/// EventBridge Scheduler's API (service "scheduler", rest-json) for schedules whose target is a Lambda
/// function: Create/Get/Update/Delete/ListSchedules and Create/Get/Delete/ListScheduleGroups.
extension LambdaAPI {
    func createSchedule(_ request: APIRequest, _ params: [String: String], create: Bool) async throws(ServiceError) -> APIResponse {
        let name = params["name"] ?? ""
        let body = try await request.json()
        let group = try body.string("GroupName") ?? "default"
        let now = Date().timeIntervalSince1970
        var created = now
        if !create { created = try await service.schedule(ScheduleKey(group: group, name: name)).creationDate }
        guard let expression = try body.string("ScheduleExpression") else { throw .missing("scheduleExpression") }
        guard let window = try body.object("FlexibleTimeWindow") else { throw .missing("flexibleTimeWindow") }
        guard let mode = try window.string("Mode") else { throw .missing("flexibleTimeWindow.mode") }
        guard let target = try body.object("Target") else { throw .missing("target") }
        guard let arn = try target.string("Arn") else { throw .missing("target.arn") }
        guard let role = try target.string("RoleArn") else { throw .missing("target.roleArn") }
        let retry = try target.object("RetryPolicy")
        let record = ScheduleRecord(
            name: name, groupName: group, expression: expression, timezone: try body.string("ScheduleExpressionTimezone") ?? "UTC",
            description: try body.string("Description"), startDate: try body.timestamp("StartDate"), endDate: try body.timestamp("EndDate"),
            state: try body.string("State") ?? "ENABLED", flexibleMode: mode, flexibleWindowMinutes: try window.int("MaximumWindowInMinutes"),
            actionAfterCompletion: try body.string("ActionAfterCompletion") ?? "NONE",
            target: ScheduleRecord.Target(arn: arn, roleArn: role, input: try target.string("Input"),
                                          maximumEventAgeInSeconds: try retry?.int("MaximumEventAgeInSeconds") ?? 86400,
                                          maximumRetryAttempts: try retry?.int("MaximumRetryAttempts") ?? 185,
                                          deadLetterArn: try target.object("DeadLetterConfig")?.string("Arn")),
            creationDate: created, lastModificationDate: now)
        try await service.putSchedule(record, create: create)
        return .json(200, ["ScheduleArn": scheduleARN(group, name)])
    }

    func getSchedule(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let key = ScheduleKey(group: request.query["groupName"] ?? "default", name: params["name"] ?? "")
        return .json(200, scheduleJSON(try await service.schedule(key)))
    }

    func deleteSchedule(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.deleteSchedule(ScheduleKey(group: request.query["groupName"] ?? "default", name: params["name"] ?? ""))
        return .json(200, [String: Any]())
    }

    func listSchedules(_ request: APIRequest) async throws(ServiceError) -> APIResponse {
        var all = await service.schedules()
        if let group = request.query["ScheduleGroup"] ?? request.query["GroupName"] { all = all.filter { $0.groupName == group } }
        if let prefix = request.query["NamePrefix"] { all = all.filter { $0.name.hasPrefix(prefix) } }
        if let state = request.query["State"] { all = all.filter { $0.state == state } }
        let (page, next) = try Self.page(all, request)
        var out: [String: Any] = ["Schedules": page.map { r -> [String: Any] in
            ["Arn": scheduleARN(r.groupName, r.name), "Name": r.name, "GroupName": r.groupName, "State": r.state,
             "CreationDate": r.creationDate, "LastModificationDate": r.lastModificationDate, "Target": ["Arn": r.target.arn]]
        }]
        if let next { out["NextToken"] = next }
        return .json(200, out)
    }

    func createScheduleGroup(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let name = params["name"] ?? ""
        try await service.createScheduleGroup(name)
        return .json(200, ["ScheduleGroupArn": LambdaARN.scheduleGroup(name, region: region)])
    }

    func getScheduleGroup(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        let name = params["name"] ?? ""
        guard let group = try await service.scheduleGroups().first(where: { $0.name == name }) else {
            throw ServiceError(status: 404, type: "ResourceNotFoundException", message: "Schedule group \(name) does not exist.")
        }
        return .json(200, groupJSON(group.name, group.creationDate))
    }

    func deleteScheduleGroup(_ request: APIRequest, _ params: [String: String]) async throws(ServiceError) -> APIResponse {
        try await service.deleteScheduleGroup(params["name"] ?? "")
        return .json(200, [String: Any]())
    }

    func listScheduleGroups(_ request: APIRequest) async throws(ServiceError) -> APIResponse {
        var groups = try await service.scheduleGroups()
        if let prefix = request.query["NamePrefix"] { groups = groups.filter { $0.name.hasPrefix(prefix) } }
        let (page, next) = try Self.page(groups, request)
        var out: [String: Any] = ["ScheduleGroups": page.map { groupJSON($0.name, $0.creationDate) }]
        if let next { out["NextToken"] = next }
        return .json(200, out)
    }

    /// MaxResults (1-100) from NextToken, which is the index to go on from.
    static func page<T>(_ all: [T], _ request: APIRequest) throws(ServiceError) -> ([T], String?) {
        var limit = 100
        if let text = request.query["MaxResults"] {
            guard let n = Int(text), (1...100).contains(n) else { throw .validation("maxResults", text, "Member must have value between 1 and 100") }
            limit = n
        }
        let start = request.query["NextToken"].flatMap(Int.init).map { max(0, min($0, all.count)) } ?? 0
        let end = min(start + limit, all.count)
        return (Array(all[start..<end]), end < all.count ? String(end) : nil)
    }

    func scheduleARN(_ group: String, _ name: String) -> String { LambdaARN.schedule(group: group, name: name, region: region) }

    func groupJSON(_ name: String, _ created: Double) -> [String: Any] {
        ["Arn": LambdaARN.scheduleGroup(name, region: region), "Name": name, "State": "ACTIVE", "CreationDate": created,
         "LastModificationDate": created]
    }

    func scheduleJSON(_ r: ScheduleRecord) -> [String: Any] {
        var window: [String: Any] = ["Mode": r.flexibleMode]
        if let minutes = r.flexibleWindowMinutes { window["MaximumWindowInMinutes"] = minutes }
        var target: [String: Any] = ["Arn": r.target.arn, "RoleArn": r.target.roleArn,
                                     "RetryPolicy": ["MaximumEventAgeInSeconds": r.target.maximumEventAgeInSeconds,
                                                     "MaximumRetryAttempts": r.target.maximumRetryAttempts]]
        if let input = r.target.input { target["Input"] = input }
        if let dlq = r.target.deadLetterArn { target["DeadLetterConfig"] = ["Arn": dlq] }
        var out: [String: Any] = [
            "Arn": scheduleARN(r.groupName, r.name), "Name": r.name, "GroupName": r.groupName, "ScheduleExpression": r.expression,
            "ScheduleExpressionTimezone": r.timezone, "State": r.state, "FlexibleTimeWindow": window, "Target": target,
            "ActionAfterCompletion": r.actionAfterCompletion, "CreationDate": r.creationDate, "LastModificationDate": r.lastModificationDate,
        ]
        if let d = r.description { out["Description"] = d }
        if let s = r.startDate { out["StartDate"] = s }
        if let e = r.endDate { out["EndDate"] = e }
        return out
    }
}
