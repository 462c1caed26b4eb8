import Foundation
import Testing

/// The library's layers (docs/architecture.md), highest first. A file may name types of its own layer and of
/// the layers below it, never of one above: arrows point down.
private let layers: [(level: Int, folders: [String])] = [
    (7, ["Sync"]),
    (6, ["Transports"]),
    (5, ["Transfer"]),
    (4, ["Activation"]),
    (3, ["Store"]),
    (2, ["Config"]),
    (1, ["Git", "HTTP", "Zip", "SQLite", "YAML", "Crypto"]),
    (0, ["Support", "Errors"]),
]

/// Reads the library's sources and finds, for each file, the types it names that a higher layer declares.
private struct SourceTree {
    struct File {
        let path: String
        let level: Int
        /// The text without comments and string literals, so that prose never counts as a use.
        let code: String
    }

    let files: [File]

    init(root: String) throws {
        var files: [File] = []
        for (level, folders) in layers {
            for folder in folders {
                let directory = root + "/" + folder
                guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
                for case let relative as String in walker where relative.hasSuffix(".swift") {
                    let text = try String(contentsOfFile: directory + "/" + relative, encoding: .utf8)
                    files.append(File(path: folder + "/" + relative, level: level, code: Self.code(of: text)))
                }
            }
        }
        self.files = files
    }

    /// Drops `//` comments and the contents of string literals (single-line and multi-line).
    static func code(of text: String) -> String {
        var result = ""
        var inMultiline = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var kept = ""
            var inString = false
            var previous: Character = " "
            var index = line.startIndex
            while index < line.endIndex {
                let character = line[index]
                if line[index...].hasPrefix("\"\"\"") {
                    inMultiline.toggle()
                    index = line.index(index, offsetBy: 3)
                    continue
                }
                if inMultiline { index = line.index(after: index); continue }
                if !inString && line[index...].hasPrefix("//") { break }
                if character == "\"" && previous != "\\" { inString.toggle() }
                if !inString && character != "\"" { kept.append(character) }
                previous = character
                index = line.index(after: index)
            }
            result += kept + "\n"
        }
        return result
    }

    /// The top-level types each layer declares (`class|struct|enum|protocol|actor|typealias Name` at the start
    /// of a line); nested types are named through their parent, which is what counts.
    var declarations: [String: Int] {
        var result: [String: Int] = [:]
        let pattern = try! NSRegularExpression(
            pattern: #"^(?:(?:public|internal|package|private|fileprivate|final|open|indirect)\s+)*(?:class|struct|enum|protocol|actor|typealias)\s+([A-Z][A-Za-z0-9_]*)"#,
            options: [.anchorsMatchLines])
        for file in files {
            let range = NSRange(file.code.startIndex..., in: file.code)
            for match in pattern.matches(in: file.code, range: range) {
                let name = String(file.code[Range(match.range(at: 1), in: file.code)!])
                result[name] = max(result[name] ?? 0, file.level)
            }
        }
        return result
    }

    /// "file names Type (layer n)" for every upward arrow.
    func upwardArrows() -> [String] {
        let declared = declarations
        var arrows: [String] = []
        let word = try! NSRegularExpression(pattern: #"\b[A-Z][A-Za-z0-9_]*\b"#)
        for file in files.sorted(by: { $0.path < $1.path }) {
            let range = NSRange(file.code.startIndex..., in: file.code)
            var named = Set<String>()
            for match in word.matches(in: file.code, range: range) {
                named.insert(String(file.code[Range(match.range, in: file.code)!]))
            }
            for name in named.sorted() {
                if let level = declared[name], level > file.level {
                    arrows.append("\(file.path) names \(name), declared in a higher layer")
                }
            }
        }
        return arrows
    }
}

@Suite("the library's layers point down")
struct LayeringTests {
    private static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ModelSyncKit").path

    @Test("every folder of the library is in a layer")
    func everyFolderHasALayer() throws {
        let known = Set(layers.flatMap(\.folders))
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.sources).filter { !$0.hasPrefix(".") }
        #expect(Set(folders).subtracting(known).isEmpty, "add new folders to the layer list and docs/architecture.md")
    }

    @Test("no file names a type declared in a higher layer")
    func noUpwardArrows() throws {
        let arrows = try SourceTree(root: Self.sources).upwardArrows()
        #expect(arrows.isEmpty, Comment(rawValue: arrows.joined(separator: "\n")))
    }

    @Test("the check sees an upward arrow when there is one, and ignores comments and strings")
    func checkerFindsArrows() throws {
        let directory = TemporaryDirectory("layering")
        try FileManager.default.createDirectory(atPath: directory.path + "/Store", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.path + "/Sync", withIntermediateDirectories: true)
        directory.write("Sync/Puller.swift", Array("struct Puller { let store: Store }\n".utf8))
        directory.write("Store/Store.swift", Array("""
            final class Store {
                // a Puller reads this
                let note = "see Puller"
                func pull(_ puller: Puller) {}
            }

            """.utf8))
        let arrows = try SourceTree(root: directory.path).upwardArrows()
        #expect(arrows == ["Store/Store.swift names Puller, declared in a higher layer"])
    }
}
