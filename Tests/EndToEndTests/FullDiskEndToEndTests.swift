#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// True when this process may mount a tmpfs in a private mount namespace (root, with `unshare`).
private let canMountSmallFilesystem: Bool = getuid() == 0 && shell("unshare -m true 2>/dev/null") == 0

/// Runs `script` with `/bin/sh` in `directory`, inside a private mount namespace where `mountPoint` is a tmpfs
/// of `kibibytes`: a real filesystem that fills up, gone when the script ends. Returns what it printed
/// (stdout and stderr together). `$MS` in the script is the model-sync binary.
private func inSmallFilesystem(at mountPoint: String, kibibytes: Int, in directory: String, _ script: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
    process.arguments = ["-m", "sh", "-c", "mount -t tmpfs -o size=\(kibibytes)k tmpfs '\(mountPoint)' && cd '\(directory)' && MS='\(CLI.binary)' && \(script)"]
    let output = directory + "/.small-fs-output"
    _ = FileManager.default.createFile(atPath: output, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(180)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    try handle.close()
    return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
}

/// Files of `size` bytes each under `relative` in `sandbox`.
private func writeSet(_ sandbox: Sandbox, _ relative: String, count: Int, size: Int, seed: UInt64) {
    for index in 0..<count {
        sandbox.write("\(relative)/m\(index).bin", pseudoRandomBytes(count: size, seed: seed + 2 * UInt64(index)))
    }
}

@Suite("a full disk: exit 9, the previous set stays active, nothing half-built stays (a real 1 MiB filesystem)",
       .serialized, .enabled(if: canMountSmallFilesystem, "needs root and unshare to mount a small tmpfs"))
struct FullDiskEndToEndTests {
    /// After the failing step, what every scenario checks: the active set, the store's tmp area, fsck.
    private static let afterwards = """
        echo "active=$(readlink small/models)"; echo "tmp=$(ls -A small/.model-sync/tmp | wc -l)"
        echo "building=$(ls -A small/.model-sync/generations | grep -c building)"
        $MS fsck --config bot.yaml >/dev/null 2>&1; echo "fsck=$?"
        """

    @Test("import and activate on a full disk exit 9 naming the path, keep the active set and remove what they made")
    func importAndActivate() throws {
        let sandbox = Sandbox()
        writeSet(sandbox, "first", count: 3, size: 20_000, seed: 1)
        writeSet(sandbox, "medium", count: 2, size: 250_000, seed: 10)
        writeSet(sandbox, "big", count: 3, size: 1_000_000, seed: 20)
        sandbox.write("small/.keep", "")
        sandbox.write("bot.yaml", "model_sync:\n  models_dir: small/models\n  link_mode: copy\n")
        let output = try inSmallFilesystem(at: sandbox.path + "/small", kibibytes: 1024, in: sandbox.path, """
            cp -r first small/models
            $MS activate "$($MS import --config bot.yaml)" --config bot.yaml >/dev/null; echo "first=$?"
            $MS import big --config bot.yaml; echo "import=$?"
            \(Self.afterwards)
            medium=$($MS import medium --config bot.yaml); echo "medium=$?"
            $MS activate "$medium" --config bot.yaml; echo "activate=$?"
            \(Self.afterwards)
            """)
        #expect(output.contains("first=0\n"), "\(output)")
        #expect(output.contains("import=9\n"), "\(output)")
        #expect(output.contains("error: no space left on \(sandbox.path)/small/.model-sync/"), "\(output)")
        #expect(output.contains("medium=0\n"), "\(output)")
        #expect(output.contains("activate=9\n"), "\(output)")
        #expect(output.components(separatedBy: "active=.model-sync/generations/1\n").count == 3, "\(output)")
        #expect(output.components(separatedBy: "tmp=0\n").count == 3, "\(output)")
        #expect(output.components(separatedBy: "building=0\n").count == 3, "\(output)")
        #expect(output.components(separatedBy: "fsck=0\n").count == 3, "\(output)")
        #expect(!output.contains("error: unexpected"), "\(output)")
    }

    @Test("a first activation that adopts a real models folder on a full disk exits 9 and leaves the folder as it was")
    func adoption() throws {
        let sandbox = Sandbox()
        writeSet(sandbox, "first", count: 3, size: 20_000, seed: 1)
        writeSet(sandbox, "medium", count: 2, size: 250_000, seed: 10)
        sandbox.write("small/.keep", "")
        sandbox.write("bot.yaml", "model_sync:\n  models_dir: small/models\n  link_mode: copy\n")
        let output = try inSmallFilesystem(at: sandbox.path + "/small", kibibytes: 1024, in: sandbox.path, """
            first=$($MS import first --config bot.yaml); echo "import=$?"
            cp -r medium small/models; before=$(cd small/models && sha256sum m0.bin m1.bin)
            $MS activate "$first" --config bot.yaml; echo "activate=$?"
            test -d small/models && ! test -L small/models && echo "still-a-folder"
            test "$before" = "$(cd small/models && sha256sum m0.bin m1.bin)" && echo "same-files"
            echo "tmp=$(ls -A small/.model-sync/tmp | wc -l)"; echo "generations=$(ls -A small/.model-sync/generations | wc -l)"
            $MS fsck --config bot.yaml >/dev/null 2>&1; echo "fsck=$?"
            """)
        #expect(output.contains("import=0\n"), "\(output)")
        #expect(output.contains("activate=9\n"), "\(output)")
        #expect(output.contains("still-a-folder\n") && output.contains("same-files\n"), "\(output)")
        #expect(output.contains("tmp=0\n") && output.contains("generations=0\n"), "\(output)")
        #expect(output.contains("fsck=0\n"), "\(output)")
    }

    @Test("pull from a local registry onto a full disk exits 9 and keeps the active set")
    func pull() throws {
        let fixture = RegistryFixture(files: 3)
        #expect(try fixture.publish().status == 0)
        writeSet(fixture.sandbox, "publisher/models/set/big", count: 3, size: 600_000, seed: 40)
        fixture.sandbox.write("small/.keep", "")
        fixture.sandbox.write("bot.yaml", """
            model_sync:
              models_dir: small/models
              store_dir: small/.model-sync
              repo_dir: small/repo
              repo_url: "file://\(fixture.sandbox.path)/registry.git"
            """)
        let output = try inSmallFilesystem(at: fixture.sandbox.path + "/small", kibibytes: 1024, in: fixture.sandbox.path, """
            $MS pull --config bot.yaml >/dev/null; echo "first=$?"
            $MS publish --config publisher.yaml >/dev/null; echo "publish=$?"
            $MS pull --config bot.yaml; echo "pull=$?"
            \(Self.afterwards)
            """)
        #expect(output.contains("first=0\n"), "\(output)")
        #expect(output.contains("publish=0\n"), "\(output)")
        #expect(output.contains("pull=9\n"), "\(output)")
        #expect(output.contains("error: no space left on \(fixture.sandbox.path)/small/"), "\(output)")
        #expect(output.contains("active=.model-sync/generations/1\n"), "\(output)")
        #expect(output.contains("tmp=0\n") && output.contains("building=0\n"), "\(output)")
        #expect(output.contains("fsck=0\n"), "\(output)")
    }

    @Test("pack onto a full disk exits 9 naming the archive and leaves no partial archive")
    func pack() throws {
        let sandbox = Sandbox()
        writeSet(sandbox, "models", count: 3, size: 1_000_000, seed: 60)
        sandbox.write("small/.keep", "")
        let output = try inSmallFilesystem(at: sandbox.path + "/small", kibibytes: 1024, in: sandbox.path, """
            $MS pack --models-dir models --archive-path small/out.zip; echo "pack=$?"
            echo "left=$(ls -A small | wc -l)"
            """)
        #expect(output.contains("pack=9\n"), "\(output)")
        #expect(output.contains("error: no space left on \(sandbox.path)/small/out.zip"), "\(output)")
        #expect(output.contains("left=0\n"), "\(output)")
    }
}
