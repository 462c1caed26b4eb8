// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for model-sync's parsers of untrusted input (docs/fuzzing.md). A package of its own, so
// the project's `swift build` and `make test` never build them: they need `-sanitize=fuzzer,address`,
// which `make fuzz` passes.

/// One executable per target: libFuzzer drives a single entry point per process.
func fuzzTarget(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport", .product(name: "ModelSyncKit", package: "model-sync")]
    )
}

let package = Package(
    name: "model-sync-fuzz",
    dependencies: [
        // `name:` lets the product be named whatever the checkout's folder is called.
        .package(name: "model-sync", path: "../.."),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        fuzzTarget("fuzz-manifest"),
        fuzzTarget("fuzz-canonical-json"),
        fuzzTarget("fuzz-config"),
        fuzzTarget("fuzz-dotenv"),
        fuzzTarget("fuzz-zip"),
        fuzzTarget("fuzz-json"),
        fuzzTarget("fuzz-have-list"),
    ],
    swiftLanguageModes: [.v6]
)
