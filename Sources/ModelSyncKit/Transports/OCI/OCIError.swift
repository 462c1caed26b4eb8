import Foundation

/// A registry refused a request or answered something the client cannot use (exit 4, or 3 for a manifest
/// over the size cap).
///
/// It carries the registry's own error codes and messages (`{"errors":[{"code":"DENIED","message":…}]}`),
/// quoted in the message and used for the hint. The message names the method, the URL (without query) and
/// the repository, is scrubbed of registered secrets, and never holds a header value.
public struct OCIError: ModelSyncError {
    /// What kind of failure it was.
    public struct Code: Hashable, Sendable {
        /// The code's name.
        public let rawValue: String
        /// A code named `rawValue`.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The registry answered an error status (its codes are in ``OCIError/registryErrors``).
        public static let registry = Code("registry")
        /// The answer breaks the protocol (no Location for an upload, JSON that does not parse).
        public static let invalidAnswer = Code("invalid-answer")
        /// The network transfer failed (connection, timeout, TLS) after its retries.
        public static let transfer = Code("transfer")
        /// A manifest larger than ``OCIClientOptions/maxManifestBytes``.
        public static let manifestTooLarge = Code("manifest-too-large")
        /// A tag or digest that cannot name a manifest.
        public static let invalidReference = Code("invalid-reference")
    }

    /// One entry of the registry's `errors` list.
    public struct RegistryError: Sendable, Hashable {
        /// The spec's code (`BLOB_UNKNOWN`, `MANIFEST_INVALID`, `DENIED`, `UNAUTHORIZED`, `NAME_UNKNOWN`…).
        public let code: String
        /// The registry's message.
        public let message: String
    }

    /// What kind of failure it was.
    public let code: Code
    /// The HTTP status of the answer, when there was one.
    public let status: Int?
    /// The registry's own errors, in its order; empty when the answer had none.
    public let registryErrors: [RegistryError]
    public let message: String
    public let hint: String?
    public let category: ErrorCategory
    /// The HTTP layer's code for a ``Code/transfer`` failure (`.tooLarge`, `.connection`…).
    let httpCode: HTTPError.Code?

    /// An error whose message is scrubbed of every registered secret here, whoever builds it.
    init(_ code: Code, _ message: String, status: Int? = nil, registryErrors: [RegistryError] = [],
         hint: String? = nil, category: ErrorCategory = .remote, httpCode: HTTPError.Code? = nil) {
        self.code = code
        self.httpCode = httpCode
        self.status = status
        self.registryErrors = registryErrors
        self.message = SecretScrubber.shared.scrub(message)
        self.hint = hint
        self.category = category
    }

    /// True when the registry named `code` among its errors.
    public func has(_ code: String) -> Bool {
        registryErrors.contains { $0.code == code }
    }

    /// The error for an answer with an error status: `<what> failed: HTTP 404 NAME_UNKNOWN: repository name
    /// not known to registry`.
    static func answer(_ response: HTTPResponse, method: String, url: String, what: String) -> OCIError {
        let errors = parseErrors(response.body)
        var text = "\(what) failed (\(method) \(HTTPError.redact(url))): HTTP \(response.status)"
        if errors.isEmpty {
            if let message = HTTPClient.serverMessage(response.body) { text += ": \(message)" }
        } else {
            var quoted: [String] = []
            for error in errors {
                let line = error.message.isEmpty ? error.code : "\(error.code): \(error.message)"
                if !quoted.contains(line) { quoted.append(line) }  // one per blob often repeats the same words
            }
            text += ": " + quoted.prefix(3).joined(separator: "; ")
        }
        return OCIError(.registry, text, status: response.status, registryErrors: errors,
                        hint: hint(codes: errors.map(\.code), status: response.status))
    }

    /// The error for a transfer that failed in the HTTP layer: its message and hint, its category (a
    /// refused URL stays a configuration error).
    static func transfer(_ error: HTTPError, what: String) -> OCIError {
        OCIError(.transfer, "\(what) failed: \(error.message)", status: error.code.status, hint: error.hint,
                 category: error.category == .unexpected ? .remote : error.category, httpCode: error.code)
    }

    /// The `errors` list of a distribution error body, each message cut to 300 characters; empty when the
    /// body is not one.
    static func parseErrors(_ body: [UInt8]) -> [RegistryError] {
        guard body.count <= 1 << 20,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let list = object["errors"] as? [[String: Any]] else { return [] }
        return list.compactMap { entry in
            guard let code = entry["code"] as? String else { return nil }
            let message = (entry["message"] as? String) ?? ""
            let clean = String(message.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
            return RegistryError(code: String(code.prefix(64)), message: SecretScrubber.shared.scrubbedPrefix(clean, maxLength: 300))
        }
    }

    /// What the user can do about the registry's codes, or about the status when it gave none.
    static func hint(codes: [String], status: Int) -> String? {
        for code in codes {
            switch code {
            case "UNAUTHORIZED":
                return "check oci.username and the password in the variable oci.password_env names, or the "
                    + "registry's entry in the Docker config file (docker login)"
            case "DENIED":
                return "the credentials are valid but not allowed this action on the repository; ask for push "
                    + "(or delete) access, or use a token with that scope"
            case "NAME_UNKNOWN", "NAME_INVALID":
                return "check model_sync.oci.reference: the registry does not know this repository"
            case "MANIFEST_UNKNOWN":
                return "the registry holds no such tag or digest; run versions to list what it has"
            case "BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN":
                return "a blob the manifest needs is not in the registry; publish the set again"
            case "MANIFEST_INVALID", "MANIFEST_UNVERIFIED":
                return "the registry refused the manifest; it may not accept OCI artifacts of this type"
            case "DIGEST_INVALID", "SIZE_INVALID":
                return "the bytes sent do not match their digest; run fsck on the store and publish again"
            case "BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID":
                return "the registry dropped the upload session; try again"
            case "UNSUPPORTED":
                return "the registry does not support this operation (deletes may be disabled: for the CNCF "
                    + "registry, storage.delete.enabled: true)"
            case "TOOMANYREQUESTS":
                return "the registry is rate limiting; try again later"
            default:
                continue
            }
        }
        switch status {
        case 401: return hint(codes: ["UNAUTHORIZED"], status: 0)
        case 403: return hint(codes: ["DENIED"], status: 0)
        case 404: return "check model_sync.oci.reference and the tag or digest"
        case 405: return hint(codes: ["UNSUPPORTED"], status: 0)
        case 429: return hint(codes: ["TOOMANYREQUESTS"], status: 0)
        default: return nil
        }
    }
}
