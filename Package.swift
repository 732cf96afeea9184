// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "hearth",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hearth", targets: ["hearth"]),
        .executable(name: "hearth-init", targets: ["hearth-init"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // C system libraries.
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CLibNL", pkgConfig: "libnl-route-3.0", providers: [.apt(["libnl-route-3-dev"])]),
        // libarchive and libnftables are opened on first use (CLazyLibrary): at every start the dynamic
        // linker took milliseconds over them and the ten libraries they pull in, which most commands
        // (every `hearth sandbox run`) never call. Their headers come from libarchive-dev and libnftables-dev.
        .target(name: "CLazyLibrary"),
        .target(name: "CArchive", dependencies: ["CLazyLibrary"]),
        .target(name: "CNftables", dependencies: ["CLazyLibrary"]),
        // Links, addresses and routes over netlink (libnl-route): the sandboxes' veths and the bridge.
        .target(name: "CNetworkLink", dependencies: ["CLibNL"]),
        // sd-bus's method calls are C varargs, which Swift cannot make: the few systemd calls Hearth makes.
        .target(name: "CSystemdBus", dependencies: ["CSystemd"]),

        // What runs in hearth-init and in the spawn child alike: lockdown, starting the command, a held
        // sandbox's receive-and-apply. System calls only.
        .target(name: "CInitCore"),
        // Child side of the spawn: async-signal-safe C that runs between clone and exec.
        .target(name: "CSandboxInit", dependencies: ["CInitCore"]),
        // The system-call wrappers the supervisor's Swift needs (pidfd, memfd, openat2, epoll, ...); parent side only.
        .target(name: "CSyscalls"),
        // PID 1 of every sandbox. Static, with its own entry point and the few libc functions it calls
        // (entry.S, libc.c, syscalls.c) instead of glibc, whose static start-up alone cost ~0.3 ms of
        // every sandbox's start on a VM. It needs nothing from the sandbox's root.
        .executableTarget(
            name: "hearth-init",
            dependencies: ["CInitCore"],
            cSettings: [.unsafeFlags(["-ffreestanding", "-fno-builtin", "-fno-stack-protector"])],
            linkerSettings: [.unsafeFlags(["-static-executable", "-nostartfiles", "-Xclang-linker", "-nostdlib"])]
        ),

        .target(name: "HearthModel"),
        // Function logs: the stored lines, their streams, CloudWatch filter patterns and Logs Insights queries.
        .target(name: "HearthLogs"),
        .target(name: "HearthCgroups", dependencies: ["HearthModel"]),
        // Living under systemd: a delegated cgroup asked for over D-Bus.
        .target(name: "HearthSystemd", dependencies: ["HearthCgroups", "HearthModel", "CSystemd", "CSystemdBus", "CSyscalls"]),
        .target(
            name: "HearthSandbox",
            dependencies: ["HearthModel", "HearthCgroups", "CSandboxInit", "CSyscalls", "CSeccomp", "CCap"]
        ),
        .target(
            name: "HearthPackages",
            dependencies: ["HearthModel", "CArchive", "CSyscalls", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // One HTTP response writer for both servers.
        .target(
            name: "HearthHTTP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
        .target(
            name: "HearthRuntimeAPI",
            dependencies: [
                "HearthModel", "HearthHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "HearthState", dependencies: ["HearthModel", .product(name: "GRDB", package: "GRDB.swift")]),
        // The durable invocation queue: events synced before 202, retries, ageing, failure records.
        .target(name: "HearthEvents", dependencies: [
            "HearthModel", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "DequeModule", package: "swift-collections"),
        ]),
        // Who may call the API: SigV4 verification and the access keys it checks against.
        .target(name: "HearthAuth", dependencies: ["HearthModel", .product(name: "Crypto", package: "swift-crypto")]),
        // Where async records go outside Hearth: SQS (any SQS-compatible endpoint), signed with SigV4.
        .target(name: "HearthDelivery", dependencies: [
            "HearthEvents", "HearthAuth", "HearthRegistry", "HearthPackages", "HearthModel", .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ]),
        // The sandboxes' network: bridge, veths, the nftables policy, the DNS relay.
        .target(name: "HearthNetwork", dependencies: [
            "HearthModel", "CNetworkLink", "CNftables",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(
            name: "HearthExecution",
            dependencies: ["HearthModel", "HearthLogs", "HearthSandbox", "HearthCgroups", "HearthNetwork", "HearthRuntimeAPI", "CSyscalls",
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .target(
            name: "HearthRegistry",
            dependencies: ["HearthModel", "HearthLogs", "HearthSandbox", "HearthPackages", "HearthState"]
        ),
        .target(
            name: "HearthSupervisor",
            dependencies: ["HearthModel", "HearthLogs", "HearthExecution", "HearthRegistry", "HearthEvents", "HearthSandbox", "HearthNetwork", "HearthCgroups", "HearthPackages", "HearthState", "CSyscalls",
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .target(
            name: "HearthControlAPI",
            dependencies: [
                "HearthModel", "HearthLogs", "HearthExecution", "HearthRegistry", "HearthSupervisor", "HearthPackages", "HearthState", "HearthHTTP",
                "HearthAuth", "HearthEvents", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Function URLs: their own listener, payload format 2.0 events, Lambda's response mapping, CORS.
        // hearth compare: trace readers, the replay, the two arms and the report.
        .target(name: "HearthCompare", dependencies: ["HearthModel", "HearthLogs", "HearthSupervisor", "HearthRegistry", "HearthExecution"]),
        .target(
            name: "HearthFunctionURLs",
            dependencies: [
                "HearthModel", "HearthSupervisor", "HearthRegistry", "HearthState", "HearthHTTP", "HearthAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "HearthCommands",
            dependencies: [
                "HearthModel", "HearthSandbox", "HearthCgroups", "HearthPackages", "HearthRuntimeAPI", "HearthExecution", "HearthRegistry",
                "HearthSupervisor", "HearthControlAPI", "HearthHTTP", "HearthState", "HearthSystemd", "HearthAuth", "HearthEvents", "HearthDelivery",
                "HearthFunctionURLs", "HearthNetwork", "HearthCompare", "HearthLogs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "hearth",
            dependencies: ["HearthCommands", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Benchmarks (scripts/bench): Hearth timed in-process next to its peers.
        .target(name: "CBenchSupport"),
        .executableTarget(
            name: "hearth-bench",
            dependencies: [
                "HearthSandbox", "HearthCgroups", "HearthModel", "HearthPackages", "HearthExecution", "HearthRegistry", "HearthSupervisor",
                "HearthRuntimeAPI", "HearthNetwork", "HearthCompare", "HearthLogs", "CBenchSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Fuzz targets (scripts/fuzz): replays inputs when built normally, libFuzzer with -DFUZZING.
        .target(name: "CFuzzSupport"),
        .executableTarget(
            name: "hearth-fuzz",
            dependencies: ["CFuzzSupport", "HearthPackages", "HearthRuntimeAPI", "HearthControlAPI"]
        ),

        // Static probe that runs inside sandboxes in the integration tests.
        .executableTarget(
            name: "hearth-probe",
            path: "Tests/Probe",
            linkerSettings: [.unsafeFlags(["-static-executable", "-nostartfiles"])]
        ),

        .testTarget(name: "HearthCgroupsTests", dependencies: ["HearthCgroups"]),
        .testTarget(name: "HearthSandboxTests", dependencies: ["HearthSandbox"]),
        .testTarget(name: "HearthPackagesTests", dependencies: ["HearthPackages", "CLazyLibrary"], exclude: ["Fixtures"]),
        .testTarget(name: "HearthRuntimeAPITests", dependencies: [
            "HearthRuntimeAPI", "HearthHTTP", "HearthModel", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "HearthExecutionTests", dependencies: ["HearthExecution", "HearthRuntimeAPI", "HearthSandbox"]),
        .testTarget(name: "HearthLogsTests", dependencies: ["HearthLogs"]),
        .testTarget(name: "HearthSupervisorTests", dependencies: [
            "HearthSupervisor", "HearthLogs", "HearthEvents", "HearthExecution", "HearthRegistry", .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "HearthStateTests", dependencies: ["HearthState", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "HearthEventsTests", dependencies: ["HearthEvents", "HearthModel", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "HearthAuthTests", dependencies: ["HearthAuth", "HearthModel"]),
        .testTarget(name: "HearthSystemdTests", dependencies: ["HearthSystemd"]),
        .testTarget(name: "HearthControlAPITests", dependencies: [
            "HearthControlAPI", "HearthEvents", "HearthSupervisor", "HearthExecution", "HearthRegistry", "HearthState", "HearthPackages", "HearthModel",
            "HearthLogs",
        ]),
        .testTarget(name: "HearthNetworkTests", dependencies: [
            "HearthNetwork", "HearthModel", "HearthSandbox", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "HearthFunctionURLsTests", dependencies: ["HearthFunctionURLs", "HearthModel", "HearthState"]),
        .testTarget(name: "HearthCompareTests", dependencies: ["HearthCompare"]),
        .testTarget(name: "HearthCommandsTests", dependencies: ["HearthCommands", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["hearth-fuzz"]),
        .testTarget(
            name: "SandboxIntegrationTests",
            dependencies: ["HearthSandbox", "HearthCgroups", "HearthCommands", "HearthPackages", "hearth-probe", "hearth-init", "hearth"]
        ),
    ]
)
