/// One challenge of a `WWW-Authenticate` header (RFC 7235): a scheme and its parameters, such as
/// `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:org/models:pull"`.
///
/// A header may hold several challenges (`Bearer realm="…", Basic realm="…"`), and repeated headers arrive
/// joined with ", ", so ``parse(_:)`` returns them all; quoted values may contain commas, spaces and
/// backslash escapes.
///
/// ```swift
/// let challenges = OCIChallenge.parse(#"Bearer realm="https://a/token",scope="repository:x:pull,push""#)
/// challenges[0].realm   // "https://a/token"
/// challenges[0].scopes  // ["repository:x:pull,push"]
/// ```
public struct OCIChallenge: Sendable, Hashable {
    /// The scheme, lowercased (`bearer`, `basic`): schemes are case-insensitive.
    public let scheme: String
    /// The parameters, names lowercased (they are case-insensitive), values as sent, unquoted.
    public let parameters: [String: String]
    /// A `token68` value (`Negotiate abc==`), nil for challenges written with parameters.
    public let token68: String?

    /// Builds a challenge; `scheme` and the parameter names are lowercased.
    public init(scheme: String, parameters: [String: String] = [:], token68: String? = nil) {
        self.scheme = scheme.lowercased()
        self.parameters = Dictionary(parameters.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
        self.token68 = token68
    }

    /// True for `Bearer`: the distribution token protocol.
    public var isBearer: Bool { scheme == "bearer" }
    /// True for `Basic`: the user name and password go with every request.
    public var isBasic: Bool { scheme == "basic" }
    /// The `realm`: for Bearer, the token endpoint's URL.
    public var realm: String? { parameters["realm"] }
    /// The `service` a token is requested for.
    public var service: String? { parameters["service"] }
    /// The `scope` parameter split on spaces (a challenge may name several scopes), empty when absent.
    public var scopes: [String] {
        (parameters["scope"] ?? "").split(separator: " ").map(String.init)
    }
    /// The `error` parameter (`invalid_token`, `insufficient_scope`), when the registry gives one.
    public var error: String? { parameters["error"] }

    /// Every challenge in a `WWW-Authenticate` value, in order; text that is not a challenge is skipped.
    public static func parse(_ header: String) -> [OCIChallenge] {
        var scanner = ChallengeScanner(Array(header.unicodeScalars))
        return scanner.challenges()
    }
}

/// A scanner over the header's Unicode scalars, following RFC 7235's grammar:
/// `challenge = scheme [ 1*SP ( token68 / #( name BWS "=" BWS ( token / quoted-string ) ) ) ]`, challenges and
/// parameters separated by commas. A comma followed by `name=` continues the current challenge; a comma
/// followed by a bare token starts the next one.
private struct ChallengeScanner {
    let scalars: [Unicode.Scalar]
    var index = 0

    init(_ scalars: [Unicode.Scalar]) {
        self.scalars = scalars
    }

    private var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    /// RFC 7230 `tchar`.
    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                           || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar))
    }

    /// RFC 7235 `token68` characters (a token68 may end with `=` padding).
    private static func isToken68Character(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-._~+/".unicodeScalars.contains(scalar))
    }

    private mutating func skipWhitespace() {
        while let scalar = current, scalar == " " || scalar == "\t" { index += 1 }
    }

    private mutating func skipSeparators() {
        while let scalar = current, scalar == " " || scalar == "\t" || scalar == "," { index += 1 }
    }

    private mutating func token() -> String {
        var text = ""
        while let scalar = current, Self.isTokenCharacter(scalar) {
            text.unicodeScalars.append(scalar)
            index += 1
        }
        return text
    }

    /// A quoted string from its opening quote: `\x` stands for `x`; an unterminated string ends the header.
    private mutating func quotedString() -> String {
        var text = ""
        index += 1
        while let scalar = current {
            index += 1
            if scalar == "\"" { return text }
            if scalar == "\\", let escaped = current {
                text.unicodeScalars.append(escaped)
                index += 1
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text
    }

    /// Whether the scanner stands at `name BWS "="` but not at a token68's `==` padding.
    private func atParameter() -> Bool {
        var probe = index
        var sawName = false
        while probe < scalars.count, Self.isTokenCharacter(scalars[probe]) {
            probe += 1
            sawName = true
        }
        guard sawName else { return false }
        while probe < scalars.count, scalars[probe] == " " || scalars[probe] == "\t" { probe += 1 }
        guard probe < scalars.count, scalars[probe] == "=" else { return false }
        // `abc==`: the first "=" belongs to a token68 when another "=" or the end follows it directly.
        let next = probe + 1
        return !(next >= scalars.count || scalars[next] == "=" || scalars[next] == ",")
            || scalars[index..<probe].contains { !Self.isToken68Character($0) }
    }

    mutating func challenges() -> [OCIChallenge] {
        var result: [OCIChallenge] = []
        while true {
            skipSeparators()
            guard current != nil else { return result }
            let scheme = token()
            guard !scheme.isEmpty else {
                index += 1 // not a challenge: skip the character and look for the next one
                continue
            }
            skipWhitespace()
            if !atParameter(), let scalar = current, Self.isToken68Character(scalar) {
                var value = ""
                while let scalar = current, Self.isToken68Character(scalar) || scalar == "=" {
                    value.unicodeScalars.append(scalar)
                    index += 1
                }
                result.append(OCIChallenge(scheme: scheme, token68: value))
                continue
            }
            result.append(OCIChallenge(scheme: scheme, parameters: parameters()))
        }
    }

    /// The `name=value` list of one challenge, up to the comma that starts the next challenge.
    private mutating func parameters() -> [String: String] {
        var parameters: [String: String] = [:]
        while true {
            skipWhitespace()
            guard atParameter() else { return parameters }
            let name = token().lowercased()
            skipWhitespace()
            index += 1 // "="
            skipWhitespace()
            let value = current == "\"" ? quotedString() : token()
            // The first occurrence wins: a repeated parameter is malformed, and a later copy must not override it.
            if parameters[name] == nil { parameters[name] = value }
            skipWhitespace()
            guard current == "," else { return parameters }
            let comma = index
            skipSeparators()
            if !atParameter() {
                index = comma
                return parameters
            }
        }
    }
}
