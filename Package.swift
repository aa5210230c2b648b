// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "corral",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "corral", targets: ["corral"]),
        .executable(name: "corral-bench", targets: ["CorralBench"]),
        .executable(name: "corral-runner", targets: ["CorralRunner"]),
        .executable(name: "corral-fuzz", targets: ["CorralFuzz"]),
        .library(name: "CorralCore", targets: ["CorralCore"]),
        .library(name: "CorralHost", targets: ["CorralHost"]),
        .library(name: "ZooKeeperClient", targets: ["ZooKeeperClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // Pure decisions: CPU lists, topology model, units, configuration, allocator.
        .target(
            name: "CorralCore",
            dependencies: [.product(name: "Yams", package: "Yams"), .product(name: "TOMLKit", package: "TOMLKit"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The few kernel calls Glibc hides: fork/exec with child setup, pidfds.
        .target(name: "CCorralShim"),
        // The tiny C parent of every native workload: keeps its exit status
        // across executor restarts.
        .executableTarget(
            name: "CorralRunner",
            // Plain C, linked statically: the toolchain would otherwise load the
            // Swift runtime and libstdc++ into every runner (~1.5 ms per start).
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // Reads and changes the machine: sysfs/procfs topology, cgroups, affinity.
        .target(
            name: "CorralHost",
            dependencies: ["CorralCore", "CCorralShim"]
        ),
        // Engines: ProcessEngine (native pinned processes) and DockerEngine
        // (Docker Engine API over a unix socket: Docker or Podman).
        .target(
            name: "CorralEngines",
            dependencies: ["CorralCore", "CorralHost", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        // Instance runtime: lifecycles driven over the engines, checks, hooks.
        .target(
            name: "CorralRuntime",
            dependencies: ["CorralCore", "CorralEngines", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        // What both web consoles share (the controller's and the executor's
        // one-node console): the layout, stylesheet and script, rendering,
        // server-sent events, the stage processors' view.
        .target(
            name: "CorralConsole",
            dependencies: [
                "CorralCore", "CorralRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // The executor service: state store, API, recovery.
        .target(
            name: "CorralExecutor",
            dependencies: [
                "CorralCore", "CorralHost", "CorralEngines", "CorralRuntime", "CorralConsole",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                "ZooKeeperClient",
            ]
        ),
        // crypt(3) from libxcrypt: the bcrypt password hashes of Drove's userAuth.
        .target(name: "CCrypt", linkerSettings: [.linkedLibrary("crypt")]),
        // The controller: Drove's REST API, leader election, watch-driven
        // executor view, the application engine and its ZooKeeper store.
        .target(
            name: "CorralController",
            dependencies: [
                "CorralCore", "CorralExecutor", "CorralConsole", "ZooKeeperClient", "CCrypt",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Command-line front end.
        .target(
            name: "CorralCLI",
            dependencies: [
                "CorralCore", "CorralHost", "CorralExecutor", "CorralRuntime", "CorralController",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "corral", dependencies: ["CorralCLI"]),
        .executableTarget(name: "CorralBench", dependencies: [
            "CorralCore", "CorralHost", "CorralEngines", "CorralRuntime", "CorralExecutor", "ZooKeeperClient", "CorralTestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
        ]),
        // Readers of outside input as functions of bytes, for libFuzzer and the corpus tests.
        .target(name: "CorralFuzzTargets", dependencies: ["CorralCore",
                                                          .product(name: "Logging", package: "swift-log")]),
        // libFuzzer's entry point (scripts/fuzz builds it with --sanitize=fuzzer).
        .executableTarget(name: "CorralFuzz", dependencies: ["CorralFuzzTargets"]),
        // A ZooKeeper client on SwiftNIO, depending on nothing of Corral's: jute
        // records and framing, the session, operations, watches, recipes.
        .target(name: "ZooKeeperClient", dependencies: [.product(name: "NIOCore", package: "swift-nio"),
                                                        .product(name: "NIOPosix", package: "swift-nio"),
                                                        .product(name: "Logging", package: "swift-log")]),
        // What tests share: sinks, temporary directories, waiting for a state, reading /metrics.
        .target(name: "CorralTestSupport", dependencies: ["CorralEngines", .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(
            name: "ZooKeeperClientTests",
            dependencies: ["ZooKeeperClient", "CorralTestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Interop"]
        ),
        .testTarget(
            name: "CorralCoreTests",
            dependencies: ["CorralCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "CorralHostTests",
            // CorralRunner: `swift test` builds the runner the process tests exec.
            dependencies: ["CorralHost", "CorralCore", "CorralEngines", "CorralRunner", "CorralTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "CorralEnginesTests",
            dependencies: ["CorralEngines", "CorralRuntime", "CorralCore", "CorralHost", "CorralRunner", "CorralTestSupport",
                           .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Processors"],
            resources: [.copy("Recorded")]
        ),
        .testTarget(
            name: "CorralExecutorTests",
            dependencies: ["CorralExecutor", "CorralCore", "CorralHost", "CorralRuntime", "CorralFuzzTargets", "CorralEngines", "CorralRunner", "CorralTestSupport",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "CorralCLITests",
            // Depending on the executable makes `swift test` build the binary these tests run.
            dependencies: ["CorralCLI", "CorralCore", "CorralEngines", "CorralRuntime", "corral", "CorralRunner", "CorralTestSupport", "ZooKeeperClient", "CorralController",
                           .product(name: "PropertyBased", package: "swift-property-based")],
            exclude: ["Tools"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
