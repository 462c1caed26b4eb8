#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Fixtures/runpod/server.py with a scenario whose first archive download stalls; stopped with SIGKILL.
private final class StallingRunPod {
    private let process = Process()
    let port: Int
    let scenarioPath: String

    init(sandbox: Sandbox, stallSeconds: Double, output jobOutput: [String: Any] = [:]) throws {
        scenarioPath = sandbox.path + "/scenario.json"
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLI.packageRoot + "/Fixtures/runpod/server.py", "--scenario", scenarioPath]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try Self.write(stallSeconds: stallSeconds, output: jobOutput, to: scenarioPath)
        try process.run()
        port = try readPort(from: output, process: process, name: "runpod/server.py")
    }

    deinit { stop(process) }

    func update(stallSeconds: Double) throws {
        try Self.write(stallSeconds: stallSeconds, to: scenarioPath)
    }

    private static func write(stallSeconds: Double, output: [String: Any] = [:], to scenarioPath: String) throws {
        let scenario: [String: Any] = [
            "archive": ["mode": "file", "path": CLI.packageRoot + "/Fixtures/archives/delta-valid.zip"],
            "stall_sec": stallSeconds,
            "output": output,
        ]
        try JSONSerialization.data(withJSONObject: scenario).write(to: URL(fileURLWithPath: scenarioPath))
    }

    /// The paths of the requests received so far.
    func requestedPaths() -> [String] {
        let fetch = Process()
        let pipe = Pipe()
        fetch.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        fetch.arguments = ["python3", "-c", "import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())",
                           "http://127.0.0.1:\(port)/_requests"]
        fetch.standardOutput = pipe
        fetch.standardError = FileHandle.nullDevice
        guard (try? fetch.run()) != nil else { return [] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        fetch.waitUntilExit()
        let requests = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
        return requests.compactMap { $0["path"] as? String }
    }
}

@Suite("network waits happen outside the store lock", .serialized)
struct NetworkOutsideLockEndToEndTests {
    /// Two generations made from local folders, so that `rollback` has somewhere to go.
    func twoGenerations(_ sandbox: Sandbox) throws {
        for (name, text) in [("one", "first set\n"), ("two", "second set\n")] {
            sandbox.write("\(name)/model.bin", text)
            let imported = try sandbox.cli.run(["import", name, "--config", "bot.yaml", "--json"])
            #expect(imported.status == 0, "\(imported.stderr)")
            let manifest = try #require(imported.json["manifest"] as? String)
            let activated = try sandbox.cli.run(["activate", manifest, "--config", "bot.yaml", "--json"])
            #expect(activated.status == 0, "\(activated.stderr)")
        }
    }

    @Test("rollback succeeds within lock_timeout_sec while a pull's git fetch is stalled")
    func stalledGitFetch() throws {
        let fixture = RegistryFixture(files: 2)
        #expect(try fixture.publish().status == 0)
        let sandbox = fixture.sandbox
        let server = try AuthenticatedHTTPRegistry(root: sandbox.path, token: "slow-token", slowUploadPack: 60)
        sandbox.write("bot.yaml", """
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "http://127.0.0.1:\(server.port)/registry.git"
              lock_timeout_sec: 1
              git:
                token_env: REGISTRY_TOKEN

            """)
        try twoGenerations(sandbox)

        let pull = Process()
        pull.executableURL = URL(fileURLWithPath: CLI.binary)
        pull.arguments = ["pull", "--config", "bot.yaml", "--json"]
        pull.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        pull.environment = ProcessInfo.processInfo.environment.merging(["REGISTRY_TOKEN": "slow-token"]) { $1 }
        pull.standardOutput = FileHandle.nullDevice
        pull.standardError = FileHandle.nullDevice
        try pull.run()
        defer { stop(pull) }
        let started = sandbox.path + "/upload-pack.started"
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: started) && Date() < deadline { usleep(100_000) }
        #expect(FileManager.default.fileExists(atPath: started), "the fetch never started")
        #expect(pull.isRunning)

        try expectRollbackAtOnce(sandbox)
        #expect(sandbox.read("client/models/model.bin") == Array("first set\n".utf8))
        // A second pull waits for the first one's fetch into repo_dir (the registry lock), then says busy.
        var cli = sandbox.cli
        cli.environment["REGISTRY_TOKEN"] = "slow-token"
        let second = try cli.run(["pull", "--config", "bot.yaml"], timeout: 30)
        #expect(second.status == 5, "\(second.stderr)")
        #expect(second.stderr.contains("registry.lock"), "\(second.stderr)")
        #expect(second.stderr.contains("another publish or pull is using the registry"), "\(second.stderr)")
    }

    @Test("rollback succeeds within lock_timeout_sec while a pull's Git LFS download is stalled")
    func stalledLFSDownload() throws {
        let fixture = RegistryFixture(files: 2)
        #expect(try fixture.publish().status == 0)
        let sandbox = fixture.sandbox
        // The registry's first object becomes a Git LFS pointer to the same bytes, which only the LFS server has.
        #expect(gitCLI(["clone", "-q", "registry.git", "writer"], in: sandbox.path).status == 0)
        let path = fixture.git(["ls-tree", "-r", "--name-only", "main", "models/objects"]).split(separator: "\n")[0]
        let hex = String(path.split(separator: "/").last!)
        let size = fixture.git(["cat-file", "-s", "main:\(path)"])
        sandbox.write("writer/\(path)", Array("version https://git-lfs.github.com/spec/v1\noid sha256:\(hex)\nsize \(size)\n".utf8))
        #expect(gitCLI(["commit", "-q", "-am", "through LFS"], in: sandbox.path + "/writer").status == 0)
        #expect(gitCLI(["push", "-q", "origin", "main"], in: sandbox.path + "/writer").status == 0)

        let output = Pipe()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", CLI.packageRoot + "/Fixtures/lfs/stalling_lfs_server.py", "--root", sandbox.path,
                            "--stall", "60"]
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { stop(server) }
        let port = try readPort(from: output, process: server, name: "stalling_lfs_server.py")
        sandbox.write("bot.yaml", """
            model_sync:
              models_dir: client/models
              store_dir: client/store
              repo_dir: client/repo
              repo_url: "file://\(fixture.registry)"
              lock_timeout_sec: 1
              git:
                lfs_url: "http://127.0.0.1:\(port)/org/models"

            """)
        try twoGenerations(sandbox)

        let pull = Process()
        pull.executableURL = URL(fileURLWithPath: CLI.binary)
        pull.arguments = ["pull", "--config", "bot.yaml", "--json"]
        pull.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        pull.standardOutput = FileHandle.nullDevice
        pull.standardError = FileHandle.nullDevice
        try pull.run()
        defer { stop(pull) }
        let started = sandbox.path + "/download.started"
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: started) && Date() < deadline { usleep(100_000) }
        #expect(FileManager.default.fileExists(atPath: started), "the LFS download never started")
        #expect(pull.isRunning)

        try expectRollbackAtOnce(sandbox)
        #expect(sandbox.read("client/models/model.bin") == Array("first set\n".utf8))
    }

    @Test("rollback and status succeed within lock_timeout_sec while a runpod-pull download is stalled")
    func stalledDownload() throws {
        let sandbox = Sandbox()
        let server = try StallingRunPod(sandbox: sandbox, stallSeconds: 60)
        sandbox.write("bot.yaml", """
            model_sync:
              models_dir: models
              lock_timeout_sec: 1
              runpod:
                enabled: true
                trigger_url: "http://127.0.0.1:\(server.port)/v2/e/run"
                status_url_template: "http://127.0.0.1:\(server.port)/v2/e/status/{job_id}"
                api_key_env: "MODEL_SYNC_TEST_RUNPOD_KEY"
                poll_interval_sec: 0.05
                download_timeout_sec: 120

            """)
        try twoGenerations(sandbox)

        let pull = Process()
        pull.executableURL = URL(fileURLWithPath: CLI.binary)
        pull.arguments = ["runpod-pull", "--config", "bot.yaml", "--json"]
        pull.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        pull.environment = ProcessInfo.processInfo.environment.merging(["MODEL_SYNC_TEST_RUNPOD_KEY": "test-key"]) { $1 }
        pull.standardOutput = FileHandle.nullDevice
        pull.standardError = FileHandle.nullDevice
        try pull.run()
        defer { stop(pull) }
        let deadline = Date().addingTimeInterval(30)
        while !server.requestedPaths().contains(where: { $0.hasPrefix("/files/") }) && Date() < deadline {
            usleep(100_000)
        }
        #expect(server.requestedPaths().contains { $0.hasPrefix("/files/") }, "the download never started")
        usleep(300_000)
        #expect(pull.isRunning, "the stalled pull should still be waiting for its download")

        try expectRollbackAtOnce(sandbox)
        let status = try sandbox.cli.run(["status", "--config", "bot.yaml", "--json"], timeout: 30)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(sandbox.read("models/model.bin") == Array("first set\n".utf8))

        // The killed pull's download folder is removed by the next pull, which completes.
        stop(pull)
        try server.update(stallSeconds: 0)
        var cli = sandbox.cli
        cli.environment["MODEL_SYNC_TEST_RUNPOD_KEY"] = "test-key"
        let again = try cli.run(["runpod-pull", "--config", "bot.yaml", "--json"], timeout: 60)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.json["result"] as? String == "activated")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/.model-sync/incoming")) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("an archive URL the job answers with file://, ftp:// or plain http:// to another machine is refused (exit 4)",
          arguments: ["file:///etc/passwd", "ftp://127.0.0.1/a.zip", "http://192.0.2.7/a.zip"])
    func refusedArchiveURL(_ url: String) throws {
        let sandbox = Sandbox()
        let server = try StallingRunPod(sandbox: sandbox, stallSeconds: 0, output: ["archive_url": url])
        sandbox.write("bot.yaml", """
            model_sync:
              models_dir: models
              runpod:
                enabled: true
                trigger_url: "http://127.0.0.1:\(server.port)/v2/e/run"
                status_url_template: "http://127.0.0.1:\(server.port)/v2/e/status/{job_id}"
                api_key_env: "MODEL_SYNC_TEST_RUNPOD_KEY"
                poll_interval_sec: 0.05

            """)
        var cli = sandbox.cli
        cli.environment["MODEL_SYNC_TEST_RUNPOD_KEY"] = "test-key"
        let result = try cli.run(["runpod-pull", "--config", "bot.yaml"], timeout: 60)
        #expect(result.status == 4, "\(result.stderr)")
        #expect(result.stderr.contains("archive_url is refused"), "\(result.stderr)")
        #expect(!server.requestedPaths().contains { $0.hasPrefix("/files/") })
    }

    @Test("--from-archive refuses a FIFO, a device and a directory with exit 2, before reading anything")
    func fromArchiveRegularFilesOnly() throws {
        let sandbox = Sandbox()
        sandbox.write("bot.yaml", "model_sync:\n  models_dir: models\n")
        #expect(mkfifo(sandbox.path + "/archive.zip", 0o600) == 0)
        try FileManager.default.createDirectory(atPath: sandbox.path + "/folder.zip", withIntermediateDirectories: true)
        for path in [sandbox.path + "/archive.zip", "/dev/zero", sandbox.path + "/folder.zip"] {
            let result = try sandbox.cli.run(["runpod-pull", "--config", "bot.yaml", "--from-archive", path], timeout: 20)
            #expect(result.status == 2, "\(path): \(result.stderr)")
            #expect(result.stderr.contains("archive \(path) is not a regular file"), "\(result.stderr)")
        }
    }
}

@Suite("a publish holds the store lock only to snapshot and record", .serialized)
struct PublishOutsideLockEndToEndTests {
    @Test("while the training command runs, another command takes the store lock at once; the publish still succeeds")
    func trainingLeavesTheStoreFree() throws {
        let fixture = RegistryFixture(files: 2, extraPublisherYAML: """
              lock_timeout_sec: 1
              publisher:
                train_before_push: true
                train_command: "touch training.started; sleep 4"
            """)
        let sandbox = fixture.sandbox
        let publish = Process()
        publish.executableURL = URL(fileURLWithPath: CLI.binary)
        publish.arguments = ["publish", "--config", "publisher.yaml", "--json"]
        publish.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        publish.standardOutput = FileHandle.nullDevice
        publish.standardError = FileHandle.nullDevice
        try publish.run()
        let started = sandbox.path + "/training.started"
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: started) && Date() < deadline { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: started), "the training never started")
        #expect(publish.isRunning)

        // A writer on the publisher's store: it would wait for the lock (and fail after 1 s) if training held it.
        sandbox.write("other/file.bin", pseudoRandomBytes(count: 1000, seed: 5))
        let imported = try sandbox.cli.run(["import", "other", "--config", "publisher.yaml", "--json"], timeout: 30)
        #expect(imported.status == 0, "\(imported.stderr)")

        let waitUntil = Date().addingTimeInterval(60)
        while publish.isRunning && Date() < waitUntil { usleep(100_000) }
        if publish.isRunning { kill(publish.processIdentifier, SIGKILL) }
        #expect(publish.terminationStatus == 0)
        #expect(gitCLI(["rev-parse", "--verify", "-q", "main"], in: fixture.registry).status == 0)
    }
}

/// `rollback` (to generation 1) succeeds while another command waits on the network: the store lock is free.
private func expectRollbackAtOnce(_ sandbox: Sandbox) throws {
    let started = Date()
    let rollback = try sandbox.cli.run(["rollback", "--config", "bot.yaml", "--json"], timeout: 30)
    #expect(rollback.status == 0, "\(rollback.stderr)")
    #expect(rollback.json["generation"] as? Int == 1)
    #expect(Date().timeIntervalSince(started) < 10)
}
