import ArgumentParser
import Foundation

/// `hearth schedule FUNCTION EXPRESSION`: an EventBridge Scheduler schedule that invokes the function
/// asynchronously (through the durable queue) with `--input` as its event.
public struct ScheduleCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "schedule", abstract: "Invoke a function on a schedule: at(), rate() or cron().")

    @Argument(help: "Function name.") var function: String
    @Argument(help: "at(yyyy-mm-ddThh:mm:ss), rate(N minutes|hours|days) or cron(min hour day month weekday year).") var expression: String
    @Option(help: "Schedule name (default: the function's name).") var name: String?
    @Option(help: "The event, as JSON (default {}).") var input: String?
    @Option(help: "Time zone the expression is read in (default UTC).") var timezone: String?
    @Flag(help: "Delete the schedule once it has fired for the last time.") var deleteAfter = false
    @Flag(help: "Replace the schedule of that name.") var update = false
    @OptionGroup var client: ClientOptions

    public init() {}

    public func run() throws {
        let api = try client.client()
        let configuration = try api.call(.GET, "/2015-03-31/functions/\(APIClient.escape(function))/configuration").object
        guard let arn = configuration["FunctionArn"] as? String else { throw ValidationError("no such function: \(function)") }
        var target: [String: Any] = ["Arn": arn, "RoleArn": "arn:aws:iam::000000000000:role/hearth-scheduler"]
        if let input { target["Input"] = input }
        var body: [String: Any] = ["ScheduleExpression": expression, "FlexibleTimeWindow": ["Mode": "OFF"], "Target": target,
                                   "ActionAfterCompletion": deleteAfter ? "DELETE" : "NONE"]
        if let timezone { body["ScheduleExpressionTimezone"] = timezone }
        let scheduleName = name ?? function
        let answer = try api.call(update ? .PUT : .POST, "/schedules/\(APIClient.escape(scheduleName))", json: body).object
        if client.json { return printJSON(answer) }
        print("\(scheduleName): \(expression) invokes \(function) (\(answer["ScheduleArn"] ?? ""))")
    }
}

/// `hearth schedules`: every schedule, its expression and state.
public struct SchedulesCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "schedules", abstract: "List schedules.")

    @Flag(help: "Delete the schedule given with --name.") var delete = false
    @Option(help: "A schedule's name (with --delete).") var name: String?
    @OptionGroup var client: ClientOptions

    public init() {}

    public func run() throws {
        let api = try client.client()
        if delete {
            guard let name else { throw ValidationError("--delete needs --name") }
            _ = try api.call(.DELETE, "/schedules/\(APIClient.escape(name))")
            return print("\(name) deleted")
        }
        let list = try api.call(.GET, "/schedules").object["Schedules"] as? [[String: Any]] ?? []
        var rows: [[String]] = []
        for summary in list {
            let name = summary["Name"] as? String ?? ""
            let group = summary["GroupName"] as? String ?? "default"
            let detail = try api.call(.GET, "/schedules/\(APIClient.escape(name))?groupName=\(APIClient.escape(group))").object
            let target = (summary["Target"] as? [String: Any])?["Arn"] as? String ?? ""
            rows.append([name, group, detail["ScheduleExpression"] as? String ?? "", detail["ScheduleExpressionTimezone"] as? String ?? "",
                         summary["State"] as? String ?? "", String(target.split(separator: ":").dropFirst(6).joined(separator: ":"))])
        }
        if client.json { return printJSON(["Schedules": list]) }
        guard !rows.isEmpty else { return print("no schedules") }
        print(Table.render(["NAME", "GROUP", "EXPRESSION", "TIME ZONE", "STATE", "FUNCTION"], rows))
    }
}
