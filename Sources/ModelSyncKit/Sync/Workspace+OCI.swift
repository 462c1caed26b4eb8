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
        // Empty counts as unset, as for the credentials themselves (``OCICredentials/resolve``).
        if let name = oci.passwordEnv, environment[name]?.isEmpty ?? true {
            throw UsageError("the variable \(name) named by model_sync.oci.password_env is not set (or empty)",
                             hint: "export \(name), or put it in the .env file")
        }
        if let bundle = oci.caBundle, !FileManager.default.isReadableFile(atPath: bundle) {
            throw UsageError("model_sync.oci.ca_bundle \(bundle) cannot be read", hint: "check the path and its permissions")
        }
        return reference
    }

    /// How registry requests authenticate: ``OCIAuthenticator`` (Bearer token flow, Basic, anonymous) with the
    /// credentials of `oci.username` + `oci.password_env`, else of the Docker config file (``OCICredentials``).
    func ociAuthorizer(for reference: OCIReference) throws -> any OCIAuthorizing {
        let oci = config.oci
        let credentials = try OCICredentials.resolve(registry: reference.registry, username: oci.username,
                                                     passwordEnv: oci.passwordEnv, environment: environment)
        var http = HTTPClient(requestTimeout: 60)
        http.caBundle = oci.caBundle
        return OCIAuthenticator(registry: reference.registry, credentials: credentials, insecure: oci.insecure, http: http)
    }
}
