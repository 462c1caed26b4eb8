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

    private func scalar(_ node: YAMLNode?) -> String? {
        if case .scalar(let value, _, _)? = node { return value }
        return nil
    }

    private func services(_ node: YAMLNode?) -> [String] {
        guard case .mapping(let entries, _)? = node else { return [] }
        return entries.map(\.key)
    }

    @Test("the bot's example compose file keeps the old profiles, mounts the models read-only for the bots, and runs model-sync")
    func botStack() throws {
        let file = "deploy/compose/docker-compose.bot.yml"
        let root = try #require(try YAMLNode.parse(try text(file), file: file))
        let services = try #require(root["services"])
        // `docker compose --profile paper|live up -d bot-paper|bot-live model-sync-runpod dashboard api prometheus grafana`
        for (profile, bot) in [("paper", "bot-paper"), ("live", "bot-live")] {
            let definition = try #require(services[bot], "missing \(bot)")
            #expect(strings(definition["profiles"]) == [profile])
            let volumes = strings(definition["volumes"])
            #expect(volumes.contains("bot-data:/app/data:ro"), "\(bot) must mount the models read-only: \(volumes)")
            #expect(!volumes.contains { $0.hasPrefix("bot-data:") && !$0.hasSuffix(":ro") })
        }
        for name in ["model-sync-runpod", "dashboard", "api", "prometheus", "grafana"] {
            let definition = try #require(services[name], "missing \(name)")
            // No profile: enabled under --profile paper and --profile live alike.
            #expect(definition["profiles"] == nil, "\(name) must run under both profiles")
        }
        let runpod = try #require(services["model-sync-runpod"])
        let command = strings(runpod["command"])
        #expect(Array(command.prefix(3)) == ["daemon", "--role", "runpod_client"])
        let modelsDir = try #require(command.firstIndex(of: "--models-dir").map { command[$0 + 1] })
        #expect(strings(runpod["volumes"]).contains("bot-data:" + (modelsDir as NSString).deletingLastPathComponent))

        // Prometheus scrapes the port the reference configuration listens on, and loads the alert rules.
        let config = try Config.load(path: CLI.packageRoot + "/configs/all-keys.yaml", environment: ["RUNPOD_ENDPOINT_ID": "ep1"])
        let port = try #require(config.daemon.metricsListen?.port)
        #expect(strings(runpod["expose"]) == [String(port)])
        let prometheus = try #require(try YAMLNode.parse(try text("deploy/prometheus/prometheus.yml"), file: "prometheus.yml"))
        guard case .sequence(let jobs, _)? = prometheus["scrape_configs"], let job = jobs.first,
              case .sequence(let statics, _)? = job["static_configs"] else {
            Issue.record("prometheus.yml has no static scrape configuration")
            return
        }
        #expect(statics.flatMap { strings($0["targets"]) }.contains("model-sync-runpod:\(port)"))
        #expect(strings(prometheus["rule_files"]) == ["/etc/prometheus/alerts.yml"])
        let prometheusVolumes = strings(services["prometheus"]?["volumes"])
        let grafanaVolumes = strings(services["grafana"]?["volumes"])
        #expect(prometheusVolumes.contains("./deploy/prometheus:/etc/prometheus:ro"))
        #expect(grafanaVolumes.contains("./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro"))
    }

    @Test("every metric the alert rules and the Grafana dashboard use is one the daemon exports")
    func metricNames() throws {
        var metrics = DaemonMetrics()
        metrics.active = .init(generation: 1, manifest: try Digest(parsing: "sha256:" + String(repeating: "0", count: 64)))
        let exported = Set(DaemonRole.allCases.flatMap { role in
            metrics.render(role: role).split(separator: "\n").compactMap { line -> String? in
                line.hasPrefix("# TYPE ") ? line.split(separator: " ")[2].description : nil
            }
        })
        let alerts = try text("deploy/prometheus/alerts.yml")
        let dashboard = try text("deploy/grafana/dashboards/model-sync.json")
        let parsed = try JSONSerialization.jsonObject(with: Data(dashboard.utf8)) as? [String: Any]
        #expect(parsed?["uid"] as? String == "model-sync")
        #expect(((parsed?["panels"] as? [[String: Any]]) ?? []).allSatisfy { ($0["targets"] as? [Any])?.isEmpty == false })
        let rules = try #require(try YAMLNode.parse(alerts, file: "alerts.yml"))
        guard case .sequence(let groups, _)? = rules["groups"], case .sequence(let list, _)? = groups.first?["rules"] else {
            Issue.record("alerts.yml has no rules")
            return
        }
        let names = Set(list.compactMap { scalar($0["alert"]) })
        for name in ["ModelSyncNoSuccessfulPull", "ModelSyncHealthCheckFailed", "ModelSyncHeldBack", "ModelSyncRunPodJobFailures"] {
            #expect(names.contains(name), "missing alert \(name)")
        }
        let used = try NSRegularExpression(pattern: "model_sync_[a-z_]+")
        for source in [alerts, dashboard] {
            let range = NSRange(source.startIndex..., in: source)
            for match in used.matches(in: source, range: range) {
                let name = String(source[Range(match.range, in: source)!])
                #expect(exported.contains(name), "\(name) is used but the daemon does not export it")
            }
        }
    }
}

@Suite("the old script's command line")
struct OldCommandLineTests {
    @Test("python3 -m scripts.model_sync ARGS runs model-sync ARGS through the shim")
    func shim() throws {
        let sandbox = Sandbox()
        let shim = try String(contentsOfFile: CLI.packageRoot + "/scripts/model_sync.py", encoding: .utf8)
        #expect(shim.split(separator: "\n").count == 3, "the shim is meant to be three lines")
        sandbox.write("bot/scripts/model_sync.py", Array(shim.utf8))
        let python = Process()
        let pipe = Pipe()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-m", "scripts.model_sync", "status", "--models-dir", "models", "--json"]
        python.currentDirectoryURL = URL(fileURLWithPath: sandbox.path + "/bot")
        python.environment = ProcessInfo.processInfo.environment.merging(["MODEL_SYNC": CLI.binary]) { $1 }
        python.standardOutput = pipe
        try python.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)
        #expect(output.contains("\"models_dir\""), "\(output)")
    }
}
