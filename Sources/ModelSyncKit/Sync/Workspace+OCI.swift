import Foundation

extension Workspace {
    /// The OCI registry `oci.reference` names, with the client settings of the `oci` section and its
    /// credentials. A usage error (exit 2) when the section is incomplete (``checkOCIConfiguration()``).
    public func ociRegistry() throws -> OCIRegistry {
        let oci = config.oci
        let reference = try checkOCIConfiguration()
        var options = OCIClientOptions()
        options.concurrency = oci.concurrency
        options.insecure = oci.insecure
        options.caBundle = oci.caBundle
        options.mountFrom = oci.mountFrom
        let client = try OCIClient(reference: reference, auth: try ociAuthorizer(for: reference), options: options)
        return OCIRegistry(repository: client, name: reference.description)
    }

    /// Checks the `oci` section without touching the network (a daemon's start and reload): the reference
    /// parses, the password variable is set, the CA bundle is readable. Returns the reference.
    @discardableResult
    public func checkOCIConfiguration() throws -> OCIReference {
        let oci = config.oci
        guard let text = oci.reference else {
            throw UsageError("model_sync.oci.reference is not set", hint: "set it to host[:port]/repository")
        }
        let reference = try OCIReference(parsing: text, key: "model_sync.oci.reference")
        if let name = oci.passwordEnv, environment[name] == nil {
            throw UsageError("the variable \(name) named by model_sync.oci.password_env is not set",
                             hint: "export \(name), or put it in the .env file")
        }
        if let bundle = oci.caBundle, !FileManager.default.isReadableFile(atPath: bundle) {
            throw UsageError("model_sync.oci.ca_bundle \(bundle) cannot be read", hint: "check the path and its permissions")
        }
        return reference
    }

    /// How registry requests authenticate. The one place that chooses it, so the full token flow
    /// (``OCIAuthorizing`` implementations for Bearer challenges and the Docker config file) replaces this
    /// without touching the callers.
    func ociAuthorizer(for reference: OCIReference) throws -> any OCIAuthorizing {
        let oci = config.oci
        guard let user = oci.username, let name = oci.passwordEnv, let password = environment[name] else {
            return OCIBasicAuthorizer(header: nil)
        }
        return OCIBasicAuthorizer(header: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
    }
}

/// Anonymous access, or HTTP Basic with `oci.username` and the password `oci.password_env` names, sent only
/// once the registry has asked for Basic (so a registry that allows anonymous pulls never sees the password).
final class OCIBasicAuthorizer: OCIAuthorizing {
    private let header: String?
    private let challenged = Locked(false)

    init(header: String?) {
        self.header = header
    }

    func authorization(for scope: OCIScope) -> String? {
        challenged.withLock { $0 } ? header : nil
    }

    func answer(challenge: String, scope: OCIScope) throws -> String? {
        guard challenge.lowercased().hasPrefix("basic"), let header else { return nil }
        challenged.withLock { $0 = true }
        return header
    }
}
