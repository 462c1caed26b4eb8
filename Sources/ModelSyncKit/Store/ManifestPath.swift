import Foundation

/// The rules for the relative paths a model set holds: one rule set for every entry point (a folder being
/// imported or packed, a manifest, a registry's tree, an archive's entries).
///
/// A valid path is valid UTF-8, non-empty, relative, `/`-separated, in Unicode NFC, with no empty, `.` or `..`
/// component, no backslash and no control character (Unicode category Cc: U+0000–U+001F, U+007F–U+009F), no
/// component longer than 255 bytes (`NAME_MAX`) and at most 4096 bytes in all (`PATH_MAX`). Such a path can
/// only name a place inside the model set's root, names it the same way on every machine, and can be created
/// on any Linux filesystem.
public enum ManifestPath {
    /// The longest component, in UTF-8 bytes: `NAME_MAX` on Linux filesystems.
    public static let maxComponentBytes = 255
    /// The longest path, in UTF-8 bytes: `PATH_MAX`.
    public static let maxPathBytes = 4096

    /// What is wrong with a path given as the bytes a filesystem, a git tree or an archive holds, or `nil` when
    /// it is valid. Checks UTF-8 first (a name that is not UTF-8 can appear in no manifest), then
    /// ``problem(with:)``.
    public static func problem(withBytes bytes: [UInt8]) -> String? {
        guard let path = String(validating: bytes, as: UTF8.self) else {
            return "path \(CanonicalJSON.quoted(String(decoding: bytes, as: UTF8.self))) is not valid UTF-8"
        }
        return problem(with: path)
    }

    /// What is wrong with `path`, as a message naming it, or `nil` when the path is valid.
    ///
    /// ```swift
    /// ManifestPath.problem(with: "btc/model.onnx")  // nil
    /// ManifestPath.problem(with: "../etc/passwd")   // "path \"../etc/passwd\" has a \"..\" component"
    /// ```
    public static func problem(with path: String) -> String? {
        if isPlainValid(path) { return nil }
        return problemNamed(in: path)
    }

    /// True for a valid path of printable ASCII, decided in one pass over its bytes (no component list, no
    /// scalar view): nearly every path of a large folder. Anything else goes through every rule in order, so
    /// that the message is the same.
    private static func isPlainValid(_ path: String) -> Bool {
        let verdict = path.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.isEmpty, bytes.count <= maxPathBytes else { return false }
            var length = 0
            var onlyDots = true
            func componentIsValid() -> Bool {
                length > 0 && length <= maxComponentBytes && !(onlyDots && length <= 2)
            }
            for byte in bytes {
                if byte == UInt8(ascii: "/") {
                    guard componentIsValid() else { return false }
                    (length, onlyDots) = (0, true)
                    continue
                }
                guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return false }
                length += 1
                if byte != UInt8(ascii: ".") { onlyDots = false }
            }
            return componentIsValid()
        }
        return verdict ?? false
    }

    /// ``problem(with:)`` rule by rule, for a path the one-pass check did not accept.
    private static func problemNamed(in path: String) -> String? {
        // Built only for a message: quoting every valid path of a large folder was a visible cost.
        var shown: String { "path \(CanonicalJSON.quoted(path))" }
        if path.isEmpty { return "\(shown) is empty" }
        if path.utf8.count > maxPathBytes {
            return "path \(CanonicalJSON.quoted(String(path.prefix(60))))… is \(path.utf8.count) bytes long, "
                + "more than \(maxPathBytes)"
        }
        for scalar in path.unicodeScalars {
            if scalar.value == 0 { return "\(shown) contains a NUL character" }
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                return "\(shown) contains the control character \(codePoint(scalar))"
            }
        }
        if path.utf8.contains(UInt8(ascii: "\\")) { return "\(shown) contains a backslash" }
        if path.utf8.first == UInt8(ascii: "/") { return "\(shown) is absolute" }
        for component in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if component.isEmpty { return "\(shown) has an empty component" }
            if component.elementsEqual("..".utf8) { return "\(shown) has a \"..\" component" }
            if component.elementsEqual(".".utf8) { return "\(shown) has a \".\" component" }
            if component.count > maxComponentBytes {
                return "\(shown) has a component of \(component.count) bytes, more than \(maxComponentBytes)"
            }
        }
        if !isNFC(path) { return "\(shown) is not in Unicode normalization form C (NFC)" }
        return nil
    }

    /// True when `path`'s UTF-8 bytes are already in Unicode normalization form C.
    public static func isNFC(_ path: String) -> Bool {
        // Compared as bytes: Swift's String equality treats canonically equivalent strings as equal.
        path.utf8.allSatisfy { $0 < 0x80 } || path.utf8.elementsEqual(normalizedFromFilesystem(path).utf8)
    }

    /// A name read from the filesystem, in NFC, so that a file saved as NFD (macOS HFS+) and the same file saved
    /// as NFC give the same manifest.
    ///
    /// ```swift
    /// ManifestPath.normalizedFromFilesystem("e\u{301}.bin")  // "\u{e9}.bin"
    /// ```
    public static func normalizedFromFilesystem(_ path: String) -> String {
        path.precomposedStringWithCanonicalMapping
    }

    /// The order of `files` in a manifest: by UTF-8 bytes (`"B" < "a" < "é"`), not by Swift's String ordering.
    public static func bytewiseLess(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8Precedes(rhs)
    }

    private static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

extension Manifest {
    /// Throws when `path` may not appear in a manifest (or an archive): empty, absolute, `..`, `.` or empty
    /// components, backslashes, NUL or control characters, not NFC, a component over 255 bytes or a path over
    /// 4096. The message names the path and the rule.
    ///
    /// ```swift
    /// try Manifest.validate(path: "btc/model.onnx")  // fine
    /// try Manifest.validate(path: "/etc/passwd")     // IntegrityError: path "/etc/passwd" is absolute
    /// ```
    public static func validate(path: String) throws(IntegrityError) {
        if let problem = ManifestPath.problem(with: path) {
            throw IntegrityError(.invalidManifest, problem)
        }
    }
}
