/// `${VAR}` and `${VAR:-default}` substitution in configuration strings, as Docker Compose does it.
///
/// `$$` is a literal `$`; a `$` followed by anything else stays as it is. `${VAR:-default}` takes the default
/// when `VAR` is unset or empty.
struct VariableExpansion {
    /// Why a string could not be expanded; the loader adds the file, line and key.
    enum Failure: Error {
        case undefined(name: String)
        case malformed(reason: String)
    }

    let environment: [String: String]

    /// `text` with every reference replaced.
    func expand(_ text: String) throws(Failure) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest.index(after: dollar)
            if after < rest.endIndex, rest[after] == "$" {
                result += "$"
                rest = rest[rest.index(after: after)...]
            } else if after < rest.endIndex, rest[after] == "{" {
                let bodyStart = rest.index(after: after)
                guard let close = rest[bodyStart...].firstIndex(of: "}") else {
                    throw .malformed(reason: "unterminated ${ (missing })")
                }
                result += try substitute(rest[bodyStart..<close])
                rest = rest[rest.index(after: close)...]
            } else {
                result += "$"
                rest = rest[after...]
            }
        }
        return result + rest
    }

    private func substitute(_ body: Substring) throws(Failure) -> String {
        let name: Substring
        var fallback: Substring?
        if let separator = body.firstRange(of: ":-") {
            name = body[..<separator.lowerBound]
            fallback = body[separator.upperBound...]
        } else {
            name = body
        }
        guard Self.isVariableName(name) else {
            throw .malformed(
                reason: "invalid variable reference ${\(body)}: expected ${NAME} or ${NAME:-default}"
            )
        }
        let value = environment[String(name)]
        if let fallback {
            if let value, !value.isEmpty { return value }
            return String(fallback)
        }
        guard let value else { throw .undefined(name: String(name)) }
        return value
    }

    /// The names `text` refers to with `${NAME}` or `${NAME:-default}` (`$$` escapes a dollar sign).
    static func references(in text: String) -> Set<String> {
        var names: Set<String> = []
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            rest = rest[rest.index(after: dollar)...]
            if rest.first == "$" {
                rest = rest.dropFirst()
            } else if rest.first == "{", let close = rest.firstIndex(of: "}") {
                let body = rest[rest.index(after: rest.startIndex)..<close]
                let name = body.firstRange(of: ":-").map { body[..<$0.lowerBound] } ?? body
                if isVariableName(name) { names.insert(String(name)) }
                rest = rest[rest.index(after: close)...]
            }
        }
        return names
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`, the names a shell and Docker Compose accept.
    static func isVariableName<S: StringProtocol>(_ name: S) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || isLetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || isLetter($0) || ("0"..."9").contains($0) }
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }
}
