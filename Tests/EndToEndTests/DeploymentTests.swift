import Foundation
import ModelSyncKit
import Testing

/// The deployment files cannot be built here (no Docker engine), so these tests check what can be checked
/// without one: the compose services and volumes, and that the runtime image installs a package for every
/// C library the built binary links.
@Suite("deployment files")
struct DeploymentTests {
    private func text(_ relative: String) throws -> String {
        try String(contentsOfFile: CLI.packageRoot + "/" + relative, encoding: .utf8)
    }

    private func strings(_ node: YAMLNode?) -> [String] {
        guard case .sequence(let items, _)? = node else { return [] }
        return items.compactMap { if case .scalar(let value, _, _) = $0 { return value } else { return nil } }
    }

    @Test("docker-compose.yml runs each role as a daemon, shares the parent of models/, reads secrets from .env")
    func compose() throws {
        let root = try #require(try YAMLNode.parse(try text("docker-compose.yml"), file: "docker-compose.yml"))
        let services = try #require(root["services"])
        for (service, role) in [("model-sync-client", "client"), ("model-sync-publisher", "publisher"),
                                ("model-sync-runpod", "runpod_client")] {
            let definition = try #require(services[service], "missing service \(service)")
            let command = strings(definition["command"])
            #expect(Array(command.prefix(3)) == ["daemon", "--role", role], "\(service): \(command)")
            let modelsDir = try #require(command.firstIndex(of: "--models-dir").map { command[$0 + 1] })
            let parent = (modelsDir as NSString).deletingLastPathComponent
            // The volume is mounted at the parent of models/, so models -> .model-sync/generations/N resolves.
            let volumes = strings(definition["volumes"]).isEmpty ? strings(root["x-model-sync"]?["volumes"]) : strings(definition["volumes"])
            #expect(volumes.contains { $0.hasSuffix(":" + parent) }, "\(service) does not mount \(parent): \(volumes)")
        }
        #expect(try text("docker-compose.yml").contains("env_file: .env"))
    }

    @Test("the runtime image installs a Debian package for every C library the binary links")
    func runtimePackages() throws {
        let dockerfile = try text("Dockerfile")
        let runtime = try #require(dockerfile.components(separatedBy: "FROM debian:bookworm-slim").last)
        // The C libraries model-sync itself links, by soname → the runtime package that provides it.
        let needed = ["libsqlite3.so.0": "libsqlite3-0", "libcurl.so.4": "libcurl4", "libgit2.so.1.5": "libgit2-1.5",
                      "libcrypto.so.3": "libssl3", "libyaml-0.so.2": "libyaml-0-2", "libzip.so.4": "libzip4"]
        let ldd = Process()
        let pipe = Pipe()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        ldd.arguments = [CLI.binary]
        ldd.standardOutput = pipe
        try ldd.run()
        let linked = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        for (soname, package) in needed {
            #expect(linked.contains(soname), "the binary no longer links \(soname): update this test and the Dockerfile")
            #expect(runtime.contains(package), "the runtime stage does not install \(package) (for \(soname))")
        }
    }

    @Test("the systemd unit runs the daemon and stops it with SIGTERM")
    func systemdUnit() throws {
        let unit = try text("deploy/systemd/model-sync-client.service")
        #expect(unit.contains("ExecStart=/usr/local/bin/model-sync daemon --role client --config "))
        #expect(unit.contains("KillSignal=SIGTERM"))
    }
}
