#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// True when this process can switch to another user (root, as in CI).
private let canSwitchUser = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

/// A sandbox with one imported and activated set, ready for the planted-link and other-user cases.
private func activatedSandbox() throws -> (Sandbox, manifest: String) {
    let sandbox = Sandbox()
    sandbox.write("incoming/btc/model.onnx", pseudoRandomBytes(count: 3000, seed: 1))
    sandbox.write("incoming/eth/model.onnx", pseudoRandomBytes(count: 2000, seed: 2))
    let imported = try sandbox.cli.run(["import", "incoming", "--json"])
    #expect(imported.status == 0, "\(imported.stderr)")
    let manifest = try #require(imported.json["manifest"] as? String)
    let activated = try sandbox.cli.run(["activate", manifest])
    #expect(activated.status == 0, "\(activated.stderr)")
    return (sandbox, manifest)
}

@Suite("the store never writes through a planted symbolic link", .serialized)
struct PlantedLinkEndToEndTests {
    @Test("a link planted at <store>/lock is refused with exit 2 and its target left untouched")
    func lockLink() throws {
        let (sandbox, _) = try activatedSandbox()
        let victim = sandbox.write("victim.txt", "precious\n")
        let lock = sandbox.path + "/.model-sync/lock"
        try? FileManager.default.removeItem(atPath: lock)
        try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: victim)
        let result = try sandbox.cli.run(["import", "incoming"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("the store lock \(lock) is a symbolic link"), "\(result.stderr)")
        #expect(sandbox.read("victim.txt") == Array("precious\n".utf8))
    }

    @Test("a link planted at the index, its -wal or its -shm is not written through", arguments: ["", "-wal", "-shm"])
    func indexLink(_ suffix: String) throws {
        let (sandbox, manifest) = try activatedSandbox()
        let victim = sandbox.write("victim.txt", "precious\n")
        let path = sandbox.path + "/.model-sync/index.sqlite" + suffix
        if suffix.isEmpty { try FileManager.default.moveItem(atPath: path, toPath: path + ".real") }
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
        let result = try sandbox.cli.run(["activate", manifest])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("\(path) is a symbolic link"), "\(result.stderr)")
        #expect(sandbox.read("victim.txt") == Array("precious\n".utf8))
    }

    @Test("a link planted at a generation's sidecar is replaced, not written through")
    func sidecarLink() throws {
        let (sandbox, _) = try activatedSandbox()
        sandbox.write("incoming/new.bin", "new\n")
        let imported = try sandbox.cli.run(["import", "incoming", "--json"])
        let manifest = try #require(imported.json["manifest"] as? String)
        let victim = sandbox.write("victim.txt", "precious\n")
        let sidecar = sandbox.path + "/.model-sync/generations/2.manifest"
        try FileManager.default.createSymbolicLink(atPath: sidecar, withDestinationPath: victim)
        let result = try sandbox.cli.run(["activate", manifest])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(sandbox.read("victim.txt") == Array("precious\n".utf8))
    }

    @Test("pack replaces a link planted at --archive-path instead of writing through it")
    func archiveLink() throws {
        let sandbox = Sandbox()
        sandbox.write("models/btc/model.onnx", pseudoRandomBytes(count: 3000, seed: 1))
        let victim = sandbox.write("victim.txt", "precious\n")
        try FileManager.default.createSymbolicLink(atPath: sandbox.path + "/delta.zip", withDestinationPath: victim)
        let result = try sandbox.cli.run(["pack", "--models-dir", "models", "--archive-path", "delta.zip"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(sandbox.read("victim.txt") == Array("precious\n".utf8))
        let info = try FileManager.default.attributesOfItem(atPath: sandbox.path + "/delta.zip")
        #expect(info[.type] as? FileAttributeType == .typeRegular)
    }
}

@Suite("read-only commands work for a user who can only read the store", .serialized,
       .enabled(if: canSwitchUser, "switching to another user needs root and setpriv"))
struct ReadOnlyUserEndToEndTests {
    @Test("status, log, diff and fsck run as nobody against a store owned by root, exit 0")
    func readOnlyCommands() throws {
        let (sandbox, manifest) = try activatedSandbox()
        // The sandbox is 0755 and owned by root: nobody can read and traverse it, write nowhere in it.
        shell("chmod -R a+rX '\(sandbox.path)'")
        var cli = sandbox.cli
        cli.runThrough = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        for arguments in [["status", "--json"], ["log"], ["diff", manifest, "1"], ["fsck", "--json"]] {
            let result = try cli.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("readonly database"), "\(arguments): \(result.stderr)")
        }
        let status = try cli.run(["status", "--json"])
        let active = try #require(status.json["active"] as? [String: Any])
        #expect(active["manifest"] as? String == manifest)
    }
}
