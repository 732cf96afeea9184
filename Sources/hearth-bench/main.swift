import ArgumentParser

struct HearthBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth-bench", abstract: "Hearth's benchmarks, side by side with its peers.",
        subcommands: [SandboxBench.self, PackagesBench.self, RunBench.self, InvokeBench.self, SoakBench.self, AsyncBench.self, NetworkBench.self, CompareBench.self])
}

HearthBench.main()
