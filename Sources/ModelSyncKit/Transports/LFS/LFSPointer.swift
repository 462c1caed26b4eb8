/// A Git LFS pointer file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
///
/// ```
/// version https://git-lfs.github.com/spec/v1
/// oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393
/// size 12345
/// ```
public enum LFSPointer {
    /// Pointer files are small; anything larger is file content.
    public static let maxSize = 1024
    /// The spec's version line value.
    public static let version = "https://git-lfs.github.com/spec/v1"
    /// The version the spec's pre-release clients wrote, which git-lfs still reads.
    static let legacyVersion = "https://hawser.github.com/spec/v1"

    /// The canonical pointer text for `object`: version, `oid sha256:<hex>`, `size <n>`, each ending in LF.
    public static func text(for object: LFSObject) -> [UInt8] {
        Array("version \(version)\noid sha256:\(object.oid.hex)\nsize \(object.size)\n".utf8)
    }

    /// The object a pointer names, or nil when `bytes` is not a valid pointer.
    ///
    /// Valid: at most ``maxSize`` UTF-8 bytes of `key value` lines, each ending in LF, `version` first, then
    /// the other keys in ascending order, each once, among them `oid sha256:<64 lowercase hex>` and a decimal
    /// `size`. A pointer naming extensions (`ext-…` keys) is refused: its oid is not the hash of the bytes
    /// a client must store.
    public static func parse(_ bytes: [UInt8]) -> LFSObject? {
        guard !bytes.isEmpty, bytes.count <= maxSize, bytes.last == 0x0A,
              let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, first == "version \(version)" || first == "version \(legacyVersion)" else {
            return nil
        }
        var fields: [Substring: Substring] = [:]
        var previousKey: Substring = ""
        for line in lines.dropFirst() {
            guard let space = line.firstIndex(of: " ") else { return nil }
            let key = line[..<space]
            let value = line[line.index(after: space)...]
            guard !key.isEmpty, key > previousKey, key.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") })
            else { return nil }
            fields[key] = value
            previousKey = key
        }
        guard fields.keys.allSatisfy({ $0 == "oid" || $0 == "size" }),
              let oidField = fields["oid"], oidField.hasPrefix("sha256:"),
              case let hex = oidField.dropFirst("sha256:".count), Digest.isHex64(hex),
              let sizeField = fields["size"], !sizeField.isEmpty, sizeField.allSatisfy({ $0.isASCII && $0.isNumber }),
              sizeField == "0" || !sizeField.hasPrefix("0"),
              let size = UInt64(sizeField),
              let oid = try? Digest(parsing: String(hex), allowBareHex: true)
        else { return nil }
        return LFSObject(oid: oid, size: size)
    }
}
