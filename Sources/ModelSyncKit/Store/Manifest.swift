/// A model set: the list of its files, with one canonical encoding whose SHA-256 is the manifest's identity.
///
/// A manifest describes content only, so the same files always give the same bytes and the same digest
/// (docs/manifest-format.md is the normative description):
///
/// ```json
/// {"files":[{"digest":"sha256:…","mode":"0644","path":"btc/model.onnx","size":1048576}],"schema":"model-sync.manifest.v1"}
/// ```
///
/// ```swift
/// let manifest = try Manifest(files: entries)     // validated and sorted
/// manifest.canonicalBytes                         // stored as the object named manifest.digest
/// let again = try Manifest.decode(bytes)          // strict: anything but the canonical form is refused
/// ```
public struct Manifest: Hashable, Sendable {
    /// The schema this version of model-sync writes and reads.
    public static let schema = "model-sync.manifest.v1"

    /// Every schema this version of model-sync reads.
    public static let understoodSchemas = [schema]

    /// The largest size a manifest may hold: 2^53 − 1, the largest integer every JSON reader keeps exactly.
    public static let maxFileSize: UInt64 = (1 << 53) - 1

    /// The largest manifest accepted from a remote (a registry or an archive), in bytes: 64 MiB, about
    /// 450,000 files. Checked before the manifest is read whole; a larger one is an integrity error (exit 3).
    public static let maxEncodedBytes = 64 << 20

    /// The files, sorted bytewise by the UTF-8 bytes of their paths.
    public private(set) var files: [ManifestEntry]

    /// The RFC 8785 encoding of the manifest: the bytes stored as its object and hashed into `digest`.
    /// Kept from the bytes a manifest was read from or built with; encoded again on each call for a manifest
    /// built without them (``init(files:keepingBytes:)``, an import's).
    public var canonicalBytes: [UInt8] { storedBytes ?? Manifest.encode(files) }

    /// The canonical bytes, when kept.
    private let storedBytes: [UInt8]?

    /// The length of `canonicalBytes`.
    public let encodedCount: Int

    /// The SHA-256 of `canonicalBytes`: the manifest's identity.
    public let digest: Digest

    /// Validates every path and the set as a whole (no duplicate, no path that is both a file and a directory),
    /// then sorts the files bytewise by path.
    public init(files: [ManifestEntry]) throws(IntegrityError) {
        let sorted = try Manifest.validating(files)
        self.init(validatedSortedFiles: sorted, canonicalBytes: Manifest.encode(sorted))
    }

    /// `files` validated and sorted bytewise by path (``init(files:)``).
    private static func validating(_ files: [ManifestEntry]) throws(IntegrityError) -> [ManifestEntry] {
        for entry in files {
            try Manifest.validate(path: entry.path)
            guard entry.size <= Manifest.maxFileSize else {
                throw Manifest.invalid(
                    "size of \(CanonicalJSON.quoted(entry.path)) is \(entry.size), more than \(Manifest.maxFileSize)")
            }
        }
        // An import lists its files in manifest order already: checked in one pass, sorted only if needed.
        let inOrder = zip(files, files.dropFirst()).allSatisfy { $0.path.utf8Precedes($1.path) }
        let sorted = inOrder ? files : files.sorted { $0.path.utf8Precedes($1.path) }
        try Manifest.checkSet(sorted)
        return sorted
    }

    /// `init(files:)`, keeping the canonical bytes or not. Without them the encoding is hashed a piece at a
    /// time and never held whole: for a folder of 200,000 files it was a quarter of an import's peak memory.
    /// Its object is then written with ``writeCanonicalBytes(_:)``.
    init(files: [ManifestEntry], keepingBytes: Bool) throws(IntegrityError) {
        guard !keepingBytes else {
            self = try Manifest(files: files)
            return
        }
        let validated = try Manifest.validating(files)
        let hasher = SHA256()
        let count = Manifest.encode(validated) { hasher.update($0) }
        self.files = validated
        self.storedBytes = nil
        self.encodedCount = count
        self.digest = hasher.finalize()
    }

    /// `canonicalBytes` must be the encoding of `files` (the decoder has compared them).
    private init(validatedSortedFiles files: [ManifestEntry], canonicalBytes: [UInt8]) {
        self.files = files
        self.storedBytes = canonicalBytes
        self.encodedCount = canonicalBytes.count
        self.digest = SHA256.hash(canonicalBytes)
    }

    /// Hands the canonical bytes to `body` a piece at a time (about 64 KiB each), in order.
    func writeCanonicalBytes(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        if let storedBytes {
            try storedBytes.withUnsafeBytes(body)
        } else {
            _ = try Manifest.encode(files, in: body)
        }
    }

    /// The sum of the files' sizes.
    public var totalBytes: UInt64 {
        // Cannot overflow in practice (each size is below 2^53); saturate rather than trap on absurd input.
        files.reduce(0) { total, entry in
            let (sum, overflow) = total.addingReportingOverflow(entry.size)
            return overflow ? UInt64.max : sum
        }
    }

    /// Two manifests are equal when their canonical bytes are (compared by their SHA-256 and length, as a
    /// manifest built without its bytes would have to encode them again).
    public static func == (lhs: Manifest, rhs: Manifest) -> Bool {
        lhs.digest == rhs.digest && lhs.encodedCount == rhs.encodedCount
    }

    /// Hashes the digest, which stands for the canonical bytes.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
    }

    // MARK: Encoding

    // The canonical form written directly, piece by piece: what `CanonicalJSON.encode` gives for the tree
    // {"files":[{"digest","mode","path","size"}…],"schema"} (keys already in RFC 8785 order), without building
    // that tree — for a large manifest the tree took several times the manifest's size.

    /// `{"files":[`.
    private static let head = Array(#"{"files":["#.utf8)
    /// `],"schema":"model-sync.manifest.v1"}`.
    private static let tail: [UInt8] = {
        var bytes = Array(#"],"schema":"#.utf8)
        CanonicalJSON.appendString(schema, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }()

    /// Appends one entry's canonical object.
    private static func appendEntry(_ entry: ManifestEntry, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"digest":""#.utf8)
        // The digest's and the mode's text need no escaping: written as bytes, no string built per entry.
        entry.digest.appendDescription(to: &out)
        out.append(contentsOf: entry.mode == .executable ? #"","mode":"0755","path":"#.utf8 : #"","mode":"0644","path":"#.utf8)
        CanonicalJSON.appendString(entry.path, to: &out)
        out.append(contentsOf: #","size":"#.utf8)
        out.append(contentsOf: String(entry.size).utf8)
        out.append(UInt8(ascii: "}"))
    }

    /// The canonical bytes of a manifest of `files` (sorted), handed to `body` in pieces of about 64 KiB
    /// through one reused buffer; returns their total length.
    private static func encode(_ files: [ManifestEntry], in body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Int {
        let pieceBytes = 64 << 10
        var out = head
        out.reserveCapacity(pieceBytes + 8192)
        var total = 0
        for (index, entry) in files.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendEntry(entry, to: &out)
            if out.count >= pieceBytes {
                try out.withUnsafeBytes(body)
                total += out.count
                out.removeAll(keepingCapacity: true)
            }
        }
        out.append(contentsOf: tail)
        try out.withUnsafeBytes(body)
        return total + out.count
    }

    /// The canonical bytes of a manifest of `files` (sorted).
    private static func encode(_ files: [ManifestEntry]) -> [UInt8] {
        var out = head
        // Reserved up front (an entry is about 110 bytes besides its path): grown by doubling, the buffer of a
        // large manifest briefly took up to three times its size.
        out.reserveCapacity(files.reduce(head.count + tail.count) { $0 + 128 + $1.path.utf8.count })
        for (index, entry) in files.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendEntry(entry, to: &out)
        }
        out.append(contentsOf: tail)
        return out
    }

    /// True when `bytes` are exactly the canonical bytes of `files`, compared entry by entry so that the
    /// encoding is never held whole a second time.
    private static func isCanonicalEncoding(of files: [ManifestEntry], _ bytes: [UInt8]) -> Bool {
        var offset = 0
        func matches(_ piece: [UInt8]) -> Bool {
            guard bytes.count - offset >= piece.count,
                  bytes[offset..<offset + piece.count].elementsEqual(piece) else { return false }
            offset += piece.count
            return true
        }
        guard matches(head) else { return false }
        var scratch: [UInt8] = []
        for (index, entry) in files.enumerated() {
            scratch.removeAll(keepingCapacity: true)
            if index > 0 { scratch.append(UInt8(ascii: ",")) }
            appendEntry(entry, to: &scratch)
            guard matches(scratch) else { return false }
        }
        return matches(tail) && offset == bytes.count
    }

    // MARK: Decoding

    /// Reads a manifest strictly: the bytes must be exactly the canonical encoding of a valid manifest.
    ///
    /// Each rule has its own message naming the offending field or path: not JSON, not an object, unknown or
    /// missing fields, an unknown schema, invalid paths, duplicate paths, a path that is both a file and a
    /// directory, a bad mode, size or digest, unsorted files, and finally any byte that differs from the
    /// canonical form. All are `IntegrityError` with code `.invalidManifest`.
    ///
    /// Memory stays proportional to the manifest's size: the document is parsed twice, its entries streamed
    /// (the first pass checks the syntax and the top-level fields, so a newer schema is reported before any
    /// entry; the second turns each entry into a ``ManifestEntry``), no tree of the whole document is built,
    /// and the canonical form is compared entry by entry with `bytes`, which become `canonicalBytes`.
    public static func decode(_ bytes: [UInt8]) throws(IntegrityError) -> Manifest {
        let document: CanonicalJSONValue
        var count = 0
        do {
            document = try CanonicalJSON.parse(bytes, streaming: "files") { _ in
                count += 1
                return true
            }
        } catch {
            throw invalid("manifest is not valid JSON: \(error.description)")
        }
        guard case .object(let top) = document else {
            throw invalid("manifest is not a JSON object (got \(document.shortDescription))")
        }

        // The schema comes first: a newer manifest should say "newer schema", not "unknown field".
        guard let schemaValue = member(top, "schema") else {
            throw invalid("manifest is missing the field \"schema\"")
        }
        guard case .string(let schemaName) = schemaValue else {
            throw invalid("manifest field \"schema\" must be a string, got \(schemaValue.shortDescription)")
        }
        guard understoodSchemas.contains(where: { $0.utf8.elementsEqual(schemaName.utf8) }) else {
            throw IntegrityError(
                .invalidManifest,
                "manifest schema \(CanonicalJSON.quoted(schemaName)) is not understood; this model-sync reads "
                    + understoodSchemas.map { CanonicalJSON.quoted($0) }.joined(separator: ", "),
                hint: "the manifest was written by a newer model-sync: upgrade model-sync to read it")
        }
        try checkFields(top, expected: ["files", "schema"], context: "manifest")

        guard case .array = member(top, "files")! else {
            throw invalid("manifest field \"files\" must be an array, got \(member(top, "files")!.shortDescription)")
        }
        let files = try entries(of: bytes, count: count)

        for (previous, next) in zip(files, files.dropFirst()) {
            if previous.path.utf8.elementsEqual(next.path.utf8) {
                throw invalid("manifest has the path \(CanonicalJSON.quoted(next.path)) more than once")
            }
            if !ManifestPath.bytewiseLess(previous.path, next.path) {
                throw invalid(
                    "manifest files are not sorted bytewise by path: \(CanonicalJSON.quoted(previous.path)) "
                        + "comes before \(CanonicalJSON.quoted(next.path))")
            }
        }
        try checkSet(files)

        guard isCanonicalEncoding(of: files, bytes) else {
            throw IntegrityError(
                .invalidManifest, "manifest is not in canonical form (RFC 8785)",
                hint: "a manifest must be stored exactly as model-sync wrote it; was it reformatted or edited?")
        }
        return Manifest(validatedSortedFiles: files, canonicalBytes: bytes)
    }

    /// The second pass of `decode`: each element of `files` becomes an entry as soon as it is parsed (the
    /// first pass found the document valid JSON with `count` elements there).
    private static func entries(of bytes: [UInt8], count: Int) throws(IntegrityError) -> [ManifestEntry] {
        var files: [ManifestEntry] = []
        files.reserveCapacity(count)
        var failure: IntegrityError?
        do {
            _ = try CanonicalJSON.parse(bytes, streaming: "files") { element in
                do throws(IntegrityError) {
                    files.append(try entry(from: element, index: files.count))
                    return true
                } catch {
                    failure = error
                    return false
                }
            }
        } catch {
            throw failure ?? invalid("manifest is not valid JSON: \(error.description)")
        }
        return files
    }

    /// Reads a manifest fetched by its digest: the bytes must hash to `expected` (else `.digestMismatch`),
    /// then pass every rule of `decode(_:)`.
    public static func decode(_ bytes: [UInt8], expecting expected: Digest) throws(IntegrityError) -> Manifest {
        let actual = SHA256.hash(bytes)
        guard actual == expected else {
            throw IntegrityError(
                .digestMismatch, "manifest \(expected) is corrupt: its bytes hash to \(actual)",
                hint: "fetch it again; a manifest is only ever read under its own digest")
        }
        return try decode(bytes)
    }

    private static func entry(from value: CanonicalJSONValue, index: Int) throws(IntegrityError) -> ManifestEntry {
        guard case .object(let members) = value else {
            throw invalid("manifest files[\(index)] must be an object, got \(value.shortDescription)")
        }
        let position = "manifest files[\(index)]"
        var context = position
        if case .string(let path)? = member(members, "path") {
            context += " (\(CanonicalJSON.quoted(path)))"
        }
        try checkFields(members, expected: ["digest", "mode", "path", "size"], context: context)

        guard case .string(let path) = member(members, "path")! else {
            throw invalid("\(position): path must be a string, got \(member(members, "path")!.shortDescription)")
        }
        if let problem = ManifestPath.problem(with: path) {
            throw invalid("\(position): \(problem)")
        }

        let modeValue = member(members, "mode")!
        guard case .string(let modeText) = modeValue,
              let mode = FileMode.allCases.first(where: { $0.rawValue.utf8.elementsEqual(modeText.utf8) }) else {
            throw invalid("\(context): mode must be \"0644\" or \"0755\", got \(modeValue.shortDescription)")
        }

        let sizeValue = member(members, "size")!
        guard case .number(let lexeme) = sizeValue, CanonicalJSON.isCanonicalInteger(lexeme),
              let size = UInt64(lexeme), size <= maxFileSize else {
            throw invalid(
                "\(context): size must be a non-negative integer no greater than \(maxFileSize), "
                    + "got \(sizeValue.shortDescription)")
        }

        let digestValue = member(members, "digest")!
        guard case .string(let digestText) = digestValue, let digest = try? Digest(parsing: digestText) else {
            throw invalid(
                "\(context): digest must be \"sha256:\" followed by 64 lowercase hex digits, "
                    + "got \(digestValue.shortDescription)")
        }
        return ManifestEntry(path: path, size: size, digest: digest, mode: mode)
    }

    /// The value of the member named `name`, compared by bytes (not by Swift's canonical-equivalence equality).
    private static func member(_ members: [(key: String, value: CanonicalJSONValue)], _ name: String) -> CanonicalJSONValue? {
        members.first { $0.key.utf8.elementsEqual(name.utf8) }?.value
    }

    /// Refuses the first unknown field (in document order), then the first missing one (in `expected` order).
    private static func checkFields(
        _ members: [(key: String, value: CanonicalJSONValue)], expected: [String], context: String
    ) throws(IntegrityError) {
        for (key, _) in members where !expected.contains(where: { $0.utf8.elementsEqual(key.utf8) }) {
            throw invalid("\(context) has an unknown field \(CanonicalJSON.quoted(key))")
        }
        for name in expected where member(members, name) == nil {
            throw invalid("\(context) is missing the field \"\(name)\"")
        }
    }

    /// Checks a bytewise-sorted list for duplicates, for a path that is also a directory of another path, and
    /// for sizes that cannot all be true (``checkSizes(_:)``).
    private static func checkSet(_ sorted: [ManifestEntry]) throws(IntegrityError) {
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.path.utf8.elementsEqual(next.path.utf8) {
            throw invalid("manifest has the path \(CanonicalJSON.quoted(next.path)) more than once")
        }
        try checkSizes(sorted)
        // Each distinct folder is checked once (files of one folder mostly follow each other), each of its
        // prefixes by a binary search of the sorted paths: a set of every path and a string per prefix per file
        // were most of the cost of a large manifest.
        var checkedFolder: Substring = ""
        for entry in sorted {
            guard let slash = entry.path.utf8.lastIndex(of: UInt8(ascii: "/")) else { continue }
            let folder = entry.path[..<slash]
            if !checkedFolder.isEmpty && checkedFolder.utf8.elementsEqual(folder.utf8) { continue }
            checkedFolder = folder
            let utf8 = Array(entry.path.utf8)
            for (offset, byte) in utf8.enumerated() where byte == UInt8(ascii: "/") {
                let directory = String(decoding: utf8[..<offset], as: UTF8.self)
                if containsPath(directory, in: sorted) {
                    throw invalid(
                        "manifest path \(CanonicalJSON.quoted(directory)) is both a file and a directory "
                            + "(of \(CanonicalJSON.quoted(entry.path)))")
                }
            }
        }
    }

    /// True when the bytewise-sorted `sorted` holds an entry whose path has exactly the bytes of `path`.
    private static func containsPath(_ path: String, in sorted: [ManifestEntry]) -> Bool {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle].path.utf8Precedes(path) { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low].path.utf8.elementsEqual(path.utf8)
    }

    /// One digest names one content, so one size: two entries with the same digest and different sizes, or
    /// the digest of the empty content with a size other than 0 (or size 0 with another digest), describe
    /// files no blob can be. Refused here so that no entry point (decode, import, pull, archive, activate)
    /// accepts such a manifest.
    private static func checkSizes(_ files: [ManifestEntry]) throws(IntegrityError) {
        // Positions grouped by digest (sorted, each group in path order) rather than a dictionary by digest,
        // which for a manifest of 200,000 files took tens of MB at its peak. The error reported is the one met
        // first in path order, as a single pass would.
        let empty = files.firstIndex { ($0.digest == .empty) != ($0.size == 0) }
        // Sorted by the digest's first 64 bits first (integers, no string touched), by the whole digest on a tie.
        var order = files.indices.map { (prefix: Self.leadingBits(of: files[$0].digest), position: $0) }
        order.sort { left, right in
            if left.prefix != right.prefix { return left.prefix < right.prefix }
            let (a, b) = (files[left.position].digest.hex, files[right.position].digest.hex)
            return a == b ? left.position < right.position : a.utf8Precedes(b)
        }
        var conflict: (first: Int, other: Int)?
        var start = 0
        while start < order.count {
            let first = order[start].position
            var end = start + 1
            while end < order.count && files[order[end].position].digest == files[first].digest { end += 1 }
            if let other = order[(start + 1)..<end].lazy.map(\.position).first(where: { files[$0].size != files[first].size }),
               conflict.map({ other < $0.other }) ?? true {
                conflict = (first, other)
            }
            start = end
        }
        if let empty, empty <= conflict?.other ?? Int.max {
            let entry = files[empty]
            throw invalid("manifest path \(CanonicalJSON.quoted(entry.path)) has size \(entry.size) and digest "
                          + "\(entry.digest): only the empty file, of size 0, has the digest \(Digest.empty)")
        }
        if let (first, other) = conflict {
            let (first, entry) = (files[first], files[other])
            throw invalid("manifest lists \(entry.digest) with two sizes: \(first.size) bytes for "
                          + "\(CanonicalJSON.quoted(first.path)) and \(entry.size) for \(CanonicalJSON.quoted(entry.path))")
        }
    }

    /// The first 16 hex digits of `digest` as a number, which orders digests as their hex text does.
    private static func leadingBits(of digest: Digest) -> UInt64 {
        digest.leadingWord
    }

    private static func invalid(_ message: String) -> IntegrityError {
        IntegrityError(.invalidManifest, message)
    }
}
