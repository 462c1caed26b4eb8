#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// One entry (anything but a directory) found under a walked folder.
struct WalkedEntry: Sendable {
    /// What the entry is, as far as a set of model files is concerned.
    enum Kind: Sendable, Equatable {
        /// A regular file.
        case regular
        /// A symbolic link (never followed).
        case symbolicLink
        /// A device, socket or pipe.
        case special
        /// A name that is not valid UTF-8: manifests carry UTF-8 paths, so it can name no entry of a set.
        case undecodableName
        /// A path below the folder longer than a manifest may carry (`PATH_MAX`); the walk does not go below it.
        case pathTooLong
    }

    /// The path below the walked folder, `/`-separated, in NFC (a name saved as NFD, as on macOS, gives the
    /// same path as its NFC spelling); an undecodable name shows U+FFFD in place of its bad bytes.
    let relativePath: String
    /// The path on disk (it may differ from `relativePath` in normalization; for an undecodable name it shows
    /// U+FFFD too: use `rawAbsolutePath` to reach the file).
    var absolutePath: String { directory + "/" + name }
    /// The entry's name in `directory`, as on disk. Kept instead of the absolute path: a short name is stored
    /// inline, where a path per entry was a large part of the walk's memory for a folder of many small files.
    let name: String
    /// The path on disk, byte for byte.
    var rawAbsolutePath: [UInt8] { undecodablePath ?? Array(absolutePath.utf8) }
    /// The path on disk, byte for byte, kept only where `absolutePath` cannot spell it (an undecodable name):
    /// a copy of every path doubled the walk's memory for a folder of many small files.
    private let undecodablePath: [UInt8]?
    /// The folder that holds the entry, on disk.
    let directory: String
    /// What the entry is.
    let kind: Kind
    /// Its `lstat`; nil for an undecodable name.
    let status: stat?

    /// An entry; `undecodablePath` is the raw path of an `.undecodableName` (nil for any other kind).
    init(relativePath: String, name: String, undecodablePath: [UInt8]?, directory: String, kind: Kind, status: stat?) {
        self.relativePath = relativePath
        self.name = name
        self.undecodablePath = undecodablePath
        self.directory = directory
        self.kind = kind
        self.status = status
    }

    /// True for a regular file the owner may execute (a symbolic link's own mode means nothing).
    var isExecutable: Bool {
        guard kind == .regular, let status else { return false }
        return (status.st_mode & S_IXUSR) != 0
    }
}

/// The one walk over a folder of model files: `import`, `pack` and the generation checker of `fsck` all
/// list files through it, so they agree on what a folder holds.
///
/// ``entries(under:)`` reports everything below the folder (every name, whatever its kind) and
/// ``modelFiles(under:)`` applies the project's name rules on top: regular files only, symbolic links,
/// devices, sockets and pipes refused naming the path, a name that is not UTF-8 refused naming its folder.
/// Entries come back sorted by the UTF-8 bytes of their relative path, the manifest's order. A file removed
/// while the walk runs is left out.
///
/// ```swift
/// let files = try DirectoryWalker(skipping: [store.layout.root]).modelFiles(under: modelsDir)
/// ```
struct DirectoryWalker: Sendable {
    /// Absolute paths left out of the walk, with everything under them (a store kept inside the folder).
    var skipping: Set<String> = []

    /// Every entry below `root` except directories, whatever its kind, sorted by relative path.
    ///
    /// When `root` is itself a symbolic link to a folder, the walk goes through the link's target, so that
    /// the absolute paths name the real files.
    func entries(under root: String) throws(IOError) -> [WalkedEntry] {
        var found: [WalkedEntry] = []
        try walk(Self.resolvingLink(root), relative: "", into: &found)
        // Each folder's names are walked in byte order, so the list is mostly sorted already (only a name
        // that sorts below `/`, as `a.b` beside a folder `a`, breaks the order): checked in one pass, where
        // sorting a large folder's entries moved hundreds of bytes per entry many times over.
        let sorted = found.indices.dropFirst().allSatisfy { found[$0 - 1].relativePath.utf8Precedes(found[$0].relativePath) }
        if !sorted { found.sort { $0.relativePath.utf8Precedes($1.relativePath) } }
        return found
    }

    /// The regular files below `root`, sorted by relative path; any other kind of entry is refused with a
    /// ``UsageError`` that names it.
    func modelFiles(under root: String) throws -> [WalkedEntry] {
        let found = try entries(under: root)
        for entry in found { try Self.refuseUnlessRegular(entry) }
        return found
    }

    /// The longest relative path the walk follows: `PATH_MAX`, the limit a manifest path has too.
    static let maxRelativePathBytes = 4096

    /// The kind rules: a set of model files holds regular files with UTF-8 names, nothing else. (The
    /// manifest's path rules come on top, in the Store layer: `modelSetFiles(under:)`.)
    static func refuseUnlessRegular(_ entry: WalkedEntry) throws(UsageError) {
        switch entry.kind {
        case .regular:
            return
        case .undecodableName:
            let name = (entry.relativePath as NSString).lastPathComponent
            throw UsageError("a file name in \(entry.directory) is not valid UTF-8 (shown as \"\(name)\")",
                             hint: "rename it: manifests carry UTF-8 paths")
        case .pathTooLong:
            throw UsageError("a path in \(entry.directory) cannot be part of a model set: it is "
                             + "\(entry.relativePath.utf8.count) bytes long, more than \(maxRelativePathBytes)",
                             hint: "shorten the folder names below the models folder")
        case .symbolicLink:
            throw UsageError("\(entry.absolutePath) is a symbolic link: model-sync stores regular files only",
                             hint: "replace the link with the file it points to, or move it out of the models folder")
        case .special:
            throw UsageError("\(entry.absolutePath) is not a regular file (device, socket or pipe)",
                             hint: "move it out of the models folder")
        }
    }

    private func walk(_ directory: String, relative: String, into found: inout [WalkedEntry]) throws(IOError) {
        // Each name is looked up from its folder (fstatat), not from `/` again: for a folder of many small
        // files the path walk was most of the cost of a stat.
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        defer { if folder >= 0 { close(folder) } }
        let names = try FileSystem.listRawNames(directory).sorted(by: Self.bytesPrecede)
        // The skipped paths that are names of this folder: each entry is then checked by its name, with no
        // absolute path built for it (only a folder to descend into, or an error, needs one).
        let prefix = directory + "/"
        let skippedNames = Set(skipping.compactMap { skipped -> String? in
            guard skipped.hasPrefix(prefix) else { return nil }
            let rest = skipped.dropFirst(prefix.count)
            return rest.contains("/") ? nil : String(rest)
        })
        for raw in names {
            let decoded = String(validating: raw, as: UTF8.self)
            let name = decoded ?? String(decoding: raw, as: UTF8.self)
            var path: String { directory + "/" + name }
            let joined = relative.isEmpty ? name : relative + "/" + name
            // ASCII is in NFC already; normalizing every name of a large folder was a visible cost.
            let relativePath = joined.utf8.allSatisfy { $0 < 0x80 } ? joined : joined.precomposedStringWithCanonicalMapping
            guard decoded != nil else {
                found.append(WalkedEntry(relativePath: relativePath, name: name,
                                         undecodablePath: Array(directory.utf8) + [UInt8(ascii: "/")] + raw,
                                         directory: directory, kind: .undecodableName, status: nil))
                continue
            }
            if !skippedNames.isEmpty, skippedNames.contains(name) { continue }
            // Checked before lstat: the absolute path may be past PATH_MAX, where every call fails.
            if relativePath.utf8.count > Self.maxRelativePathBytes {
                found.append(WalkedEntry(relativePath: relativePath, name: name, undecodablePath: nil,
                                         directory: directory, kind: .pathTooLong, status: nil))
                continue
            }
            guard let info = try Self.linkStatus(of: raw, in: folder, path: path) else { continue }  // removed while we walked
            if FileSystem.isDirectory(info) {
                try walk(path, relative: joined, into: &found)
                continue
            }
            let kind: WalkedEntry.Kind = FileSystem.isRegular(info) ? .regular
                : FileSystem.isSymlink(info) ? .symbolicLink : .special
            found.append(WalkedEntry(relativePath: relativePath, name: name, undecodablePath: nil,
                                     directory: directory, kind: kind, status: info))
        }
    }

    /// The `lstat` of the entry `name` of the open folder `folder` (by path where the folder could not be
    /// opened), nil when it is gone.
    private static func linkStatus(of name: [UInt8], in folder: Int32,
                                   path: @autoclosure () -> String) throws(IOError) -> stat? {
        guard folder >= 0 else { return try FileSystem.linkStatus(path()) }
        var info = stat()
        // The name and its NUL on the stack: no array per entry.
        let result = withUnsafeTemporaryAllocation(of: CChar.self, capacity: name.count + 1) { buffer in
            name.withUnsafeBytes { bytes in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
            }
            buffer[name.count] = 0
            return fstatat(folder, buffer.baseAddress!, &info, AT_SYMLINK_NOFOLLOW)
        }
        if result == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw IOError.current("lstat", path())
    }

    /// Byte order of two raw names, by `memcmp`.
    private static func bytesPrecede(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        let common = min(left.count, right.count)
        let order = common == 0 ? 0 : left.withUnsafeBytes { l in right.withUnsafeBytes { r in memcmp(l.baseAddress!, r.baseAddress!, common) } }
        return order != 0 ? order < 0 : left.count < right.count
    }

    /// `root`, or the target of the symbolic link it is (one level, made absolute).
    private static func resolvingLink(_ root: String) -> String {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: root) else { return root }
        return target.hasPrefix("/") ? target
            : FileSystem.absolute((root as NSString).deletingLastPathComponent + "/" + target)
    }
}
