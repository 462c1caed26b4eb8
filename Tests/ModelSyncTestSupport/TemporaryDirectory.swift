import Foundation

/// A fresh directory under the system temp dir, removed when the value is deallocated.
public final class TemporaryDirectory: @unchecked Sendable {
    // @unchecked: the path is immutable after init; removal happens once, in deinit.
    public let path: String

    public init(_ label: String = "model-sync-test") {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        // Generation files and objects are read-only; make everything writable so removal succeeds.
        let task = Process()
        task.executableURL = URL(fileURLWithPath: "/bin/sh")
        task.arguments = ["-c", "chmod -R u+w '\(path)' 2>/dev/null; rm -rf '\(path)'"]
        try? task.run()
        task.waitUntilExit()
    }

    /// Writes `contents` at `relative`, creating parent directories.
    @discardableResult
    public func write(_ relative: String, _ contents: [UInt8], mode: Int = 0o644) -> String {
        let full = path + "/" + relative
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(contents), attributes: [.posixPermissions: mode])
        return full
    }

    @discardableResult
    public func write(_ relative: String, _ text: String) -> String { write(relative, Array(text.utf8)) }

    /// The bytes of the file at `relative` (empty when it cannot be read).
    public func read(_ relative: String) -> [UInt8] {
        Array((try? Data(contentsOf: URL(fileURLWithPath: path + "/" + relative))) ?? Data())
    }

    /// Makes a file look older than the stat cache's racy window.
    public func age(_ relative: String, seconds: TimeInterval = 60) {
        try! FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-seconds)],
                                               ofItemAtPath: path + "/" + relative)
    }
}

