import Foundation
import Testing
@testable import ModelSyncKit

/// Fixtures/fuzz/: one folder of inputs per fuzz target (Tests/Fuzz). A crash a fuzzer finds is saved there,
/// so the normal suite replays it with every seed (docs/fuzzing.md).
private let fuzzCorpora = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/fuzz").path

/// The file names in the corpus of `target`, sorted, for parameterized tests.
private func corpus(_ target: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: fuzzCorpora + "/" + target)) ?? []).sorted()
}

private func input(_ target: String, _ name: String) -> [UInt8] {
    Array(FileManager.default.contents(atPath: fuzzCorpora + "/" + target + "/" + name) ?? Data())
}

/// The same invariants the fuzz targets assert, on every saved input: a parser that traps, or an invariant
/// that breaks, fails here without a sanitizer build.
@Suite("fuzz corpora: every saved input is refused or parsed with the parser's invariants intact")
struct FuzzCorpusTests {
    @Test("every fuzz target has a non-empty corpus folder")
    func corporaExist() throws {
        let sources = URL(fileURLWithPath: fuzzCorpora).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fuzz/Sources").path
        let targets = try FileManager.default.contentsOfDirectory(atPath: sources)
            .filter { $0.hasPrefix("fuzz-") }.map { String($0.dropFirst("fuzz-".count)) }
        #expect(targets.count >= 7)
        for target in targets {
            #expect(!corpus(target).isEmpty, "no inputs in Fixtures/fuzz/\(target)")
        }
    }

    @Test("a manifest input is refused, or decodes to a manifest whose canonical bytes are the input",
          arguments: corpus("manifest"))
    func manifest(name: String) throws {
        let bytes = input("manifest", name)
        guard let manifest = try? Manifest.decode(bytes) else { return }
        #expect(manifest.canonicalBytes == bytes)
        #expect(try Manifest(files: manifest.files).canonicalBytes == bytes)
    }

    @Test("a parsed JSON document's canonical encoding parses again to the same encoding",
          arguments: corpus("canonical-json"))
    func canonicalJSON(name: String) throws {
        guard let value = try? CanonicalJSON.parse(input("canonical-json", name)) else { return }
        let encoded = CanonicalJSON.encode(Self.encodable(value))
        #expect(CanonicalJSON.encode(try CanonicalJSON.parse(encoded)) == encoded)
    }

    @Test("a configuration input gives a configuration or a ConfigError with a message",
          arguments: corpus("config"))
    func config(name: String) {
        do throws(ConfigError) {
            _ = try Config.parse(bytes: input("config", name), file: name, environment: ["HOME": "/home/fuzz"])
        } catch {
            #expect(!error.description.isEmpty)
        }
    }

    @Test("a .env input that parses reads back the same after being written out double-quoted",
          arguments: corpus("dotenv"))
    func dotEnv(name: String) throws {
        let text = String(decoding: input("dotenv", name), as: UTF8.self)
        guard let values = try? DotEnv.parse(text, file: name) else { return }
        let written = values.keys.sorted().map { "\($0)=\(DotEnv.quoted(values[$0]!))\n" }.joined()
        #expect(try DotEnv.parse(written, file: name) == values)
    }

    @Test("a zip input is refused or lists entries in order, each streaming no more than it declares",
          arguments: corpus("zip"))
    func zip(name: String) throws {
        struct EnoughRead: Error {}
        guard let archive = try? ZipArchive(path: fuzzCorpora + "/zip/" + name) else { return }
        for (position, entry) in archive.entries.enumerated() {
            #expect(entry.index == position)
            // Names come as stored; one holding a NUL byte must fail the shared name rules.
            if entry.rawName.contains(0) { #expect(ManifestPath.problem(withBytes: entry.rawName) != nil) }
            // Every entry streamed, whatever size it declares, stopping after 1 MiB as the fuzz target does.
            var read = 0
            do {
                try archive.read(entry: entry) { chunk in
                    read += chunk.count
                    if read >= 1 << 20 { throw EnoughRead() }
                }
                #expect(UInt64(read) == entry.size)
            } catch is EnoughRead {
                #expect(entry.size >= UInt64(read))
            } catch {
                continue
            }
        }
    }

    @Test("a JSON response that parses serializes to JSON that parses again, and reads as a RunPod status",
          arguments: corpus("json"))
    func json(name: String) throws {
        let bytes = input("json", name)
        guard let value = try? JSONValue.decode(bytes) else { return }
        _ = try JSONValue.decode(value.jsonBytes())
        if let status = value["status"]?.stringValue {
            let job = RunPodJob(id: "job", status: .init(rawValue: status), output: value["output"],
                                error: RunPodJob.errorText(value["error"]))
            _ = job.status.isFinal
            _ = job.output?["archive_size"]?.integerValue
        }
    }

    @Test("a have list is refused or gives digests that print and parse back", arguments: corpus("have-list"))
    func haveList(name: String) throws {
        guard let digests = try? Packer.readHaveList(at: fuzzCorpora + "/have-list/" + name) else { return }
        for digest in digests {
            #expect(try Digest(parsing: digest.description) == digest)
        }
    }

    /// `value` with every number the canonical encoder cannot write kept as a string.
    private static func encodable(_ value: CanonicalJSONValue) -> CanonicalJSONValue {
        switch value {
        case .number(let lexeme) where !CanonicalJSON.isCanonicalInteger(lexeme): return .string(lexeme)
        case .array(let items): return .array(items.map(encodable))
        case .object(let members): return .object(members.map { (key: $0.key, value: encodable($0.value)) })
        default: return value
        }
    }
}
