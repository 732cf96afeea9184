import ArgumentParser

public struct HearthCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Self-hosted serverless for one Linux box.",
        subcommands: [ServeCommand.self, DeployCommand.self, InvokeCommand.self, ListCommand.self, ShowCommand.self,
                      DeleteCommand.self, LogsCommand.self, EventsCommand.self, ScheduleCommand.self, SchedulesCommand.self, UrlCommand.self, StatusCommand.self, RunCommand.self, SandboxCommand.self,
                      KeysCommand.self, CompareCommand.self, ThawGuardCommand.self])

    public init() {}
}

public struct SandboxCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Run commands in a sandbox with the isolation a function gets.",
        subcommands: [SandboxRunCommand.self])

    public init() {}
}
