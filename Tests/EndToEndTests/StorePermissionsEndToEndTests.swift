#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// True when this process can run commands as another user (root, as in CI).
private let canSwitchUser = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

/// Whether `nobody` can read the file at `path` (through every folder on its way).
private func nobodyCanRead(_ path: String) -> Bool {
    shell("/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups cat '\(path)' >/dev/null 2>&1") == 0
}

private func mode(_ path: String) -> mode_t {
    var info = stat()
    return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
}

@Suite("activation never lets more people read a file than could read it before", .serialized,
       .enabled(if: canSwitchUser, "reading as another user needs root and setpriv"))
struct StorePermissionsEndToEndTests {
    /// A sandbox nobody may traverse (as a home folder would be), holding `models/`.
    private func sandbox() -> Sandbox {
        let sandbox = Sandbox()
        chmod(sandbox.path, 0o755)
        return sandbox
    }

    private func importAndActivate(_ sandbox: Sandbox, _ folder: String) throws -> String {
        let imported = try sandbox.cli.run(["import", folder, "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let manifest = try #require(imported.json["manifest"] as? String)
        let activated = try sandbox.cli.run(["activate", manifest])
        #expect(activated.status == 0, "\(activated.stderr)")
        return manifest
    }

    @Test("a private models folder stays private: its files, their objects and every later generation")
    func privateFolderStaysPrivate() throws {
        let sandbox = sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 3000, seed: 1), mode: 0o644)
        sandbox.write("models/b.bin", pseudoRandomBytes(count: 3000, seed: 3), mode: 0o600)
        chmod(sandbox.path + "/models", 0o700)
        // A readable control file beside it proves nobody can get this far.
        sandbox.write("public.txt", Array("hello\n".utf8), mode: 0o644)
        #expect(nobodyCanRead(sandbox.path + "/public.txt"))

        _ = try importAndActivate(sandbox, "models")
        let info = try FileManager.default.attributesOfItem(atPath: sandbox.path + "/models")
        #expect(info[.type] as? FileAttributeType == .typeSymbolicLink)
        for name in ["a.bin", "b.bin"] {
            #expect(!nobodyCanRead(sandbox.path + "/models/" + name), "\(name) became readable")
        }
        for object in try objectFiles(sandbox) {
            #expect(mode(object) == 0o400, "\(object)")
            #expect(!nobodyCanRead(object))
        }
        #expect(mode(sandbox.path + "/models") & 0o777 == 0o700)

        // A new set, imported from a readable folder, replaces the private one: still private through models/.
        sandbox.write("incoming/c.bin", pseudoRandomBytes(count: 3000, seed: 5), mode: 0o644)
        _ = try importAndActivate(sandbox, "incoming")
        #expect(mode(sandbox.path + "/models") & 0o777 == 0o700)
        #expect(!nobodyCanRead(sandbox.path + "/models/c.bin"))
    }

    @Test("in a readable folder, a readable file stays readable and a 0600 file stays private")
    func privateFileInReadableFolder() throws {
        let sandbox = sandbox()
        sandbox.write("models/open.bin", pseudoRandomBytes(count: 3000, seed: 7), mode: 0o644)
        sandbox.write("models/secret.bin", pseudoRandomBytes(count: 3000, seed: 9), mode: 0o600)
        chmod(sandbox.path + "/models", 0o755)
        #expect(nobodyCanRead(sandbox.path + "/models/open.bin"))
        #expect(!nobodyCanRead(sandbox.path + "/models/secret.bin"))

        _ = try importAndActivate(sandbox, "models")
        #expect(nobodyCanRead(sandbox.path + "/models/open.bin"))
        #expect(!nobodyCanRead(sandbox.path + "/models/secret.bin"))
        let fsck = try sandbox.cli.run(["fsck", "--json"])
        #expect(fsck.status == 0, "\(fsck.stdout)")
    }

    @Test("the store follows the umask: under umask 077 objects are 0400, executables 0500, folders 0700")
    func umaskRespected() throws {
        let sandbox = sandbox()
        sandbox.write("incoming/model.bin", pseudoRandomBytes(count: 3000, seed: 11), mode: 0o644)
        sandbox.write("incoming/run.sh", Array("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
        var cli = sandbox.cli
        cli.runThrough = ["/bin/sh", "-c", "umask 077; exec \"$0\" \"$@\""]
        let imported = try cli.run(["import", "incoming", "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let manifest = try #require(imported.json["manifest"] as? String)
        #expect(try cli.run(["activate", manifest]).status == 0)

        for object in try objectFiles(sandbox) { #expect(mode(object) == 0o400, "\(object)") }
        #expect(mode(sandbox.path + "/models") & 0o777 == 0o700)
        #expect(mode(sandbox.path + "/models/model.bin") == 0o400)
        #expect(mode(sandbox.path + "/models/run.sh") == 0o500)
        #expect(!nobodyCanRead(sandbox.path + "/models/model.bin"))
        // fsck accepts modes narrowed by the umask: read-only is what it checks.
        let fsck = try sandbox.cli.run(["fsck", "--json"])
        #expect(fsck.status == 0, "\(fsck.stdout)")
    }

    private func objectFiles(_ sandbox: Sandbox) throws -> [String] {
        let root = sandbox.path + "/.model-sync/objects/sha256"
        var files: [String] = []
        for fanout in try FileManager.default.contentsOfDirectory(atPath: root) {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + fanout) {
                files.append(root + "/" + fanout + "/" + name)
            }
        }
        #expect(!files.isEmpty)
        return files
    }
}

@Suite("a machine's setup problems exit 2 with a hint, never 1", .serialized)
struct SetupErrorEndToEndTests {
    @Test("a store path under a regular file: exit 2, the path named, a hint")
    func storeUnderAFile() throws {
        let sandbox = Sandbox()
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 100, seed: 1))
        sandbox.write("not-a-folder", Array("x".utf8))
        let result = try sandbox.cli.run(["import", "models", "--store", "not-a-folder/store"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("not-a-folder"), "\(result.stderr)")
        #expect(result.stderr.contains("hint: "), "\(result.stderr)")
    }

    @Test("a user who may not write the store: exit 2 naming the path and its permissions",
          .enabled(if: canSwitchUser, "switching to another user needs root and setpriv"))
    func storeNotWritable() throws {
        let sandbox = Sandbox()
        chmod(sandbox.path, 0o755)
        sandbox.write("models/a.bin", pseudoRandomBytes(count: 100, seed: 1), mode: 0o644)
        #expect(try sandbox.cli.run(["import", "models"]).status == 0)
        shell("chmod -R a+rX '\(sandbox.path)'")
        var cli = sandbox.cli
        cli.runThrough = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let result = try cli.run(["import", "models"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("hint: check the permissions of"), "\(result.stderr)")
    }
}
