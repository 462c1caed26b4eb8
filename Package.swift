// swift-tools-version:6.0
import PackageDescription

/// One `.systemLibrary` target per C library. `pkgConfig` finds the flags, the `apt` provider tells
/// SwiftPM (and a reader) which Debian package brings the headers.
func cLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let package = Package(
    name: "model-sync",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "model-sync", targets: ["model-sync"]),
        .library(name: "ModelSyncKit", targets: ["ModelSyncKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        cLibrary("CModelSyncSQLite", pkgConfig: "sqlite3", apt: "libsqlite3-dev"),
        cLibrary("CModelSyncCurl", pkgConfig: "libcurl", apt: "libcurl4-openssl-dev"),
        cLibrary("CModelSyncGit2", pkgConfig: "libgit2", apt: "libgit2-dev"),
        cLibrary("CModelSyncCrypto", pkgConfig: "libcrypto", apt: "libssl-dev"),
        cLibrary("CModelSyncYAML", pkgConfig: "yaml-0.1", apt: "libyaml-dev"),
        cLibrary("CModelSyncZip", pkgConfig: "libzip", apt: "libzip-dev"),
        // renameat2(2), which Swift's Glibc module does not declare.
        .target(name: "CModelSyncSystem"),
        .target(
            name: "ModelSyncKit",
            dependencies: [
                "CModelSyncSQLite", "CModelSyncCurl", "CModelSyncGit2",
                "CModelSyncCrypto", "CModelSyncYAML", "CModelSyncZip", "CModelSyncSystem",
            ]
        ),
        .executableTarget(
            name: "model-sync",
            dependencies: [
                "ModelSyncKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Helpers both test targets share (test data generators).
        .target(name: "ModelSyncTestSupport", path: "Tests/ModelSyncTestSupport"),
        .testTarget(
            name: "ModelSyncKitTests",
            dependencies: ["ModelSyncKit", "ModelSyncTestSupport"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["ModelSyncKit", "ModelSyncTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
