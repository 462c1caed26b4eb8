import Testing
@testable import ModelSyncKit

/// `host[:port]/repository` as the distribution spec and docker read it.
@Suite struct OCIReferenceTests {
    @Test("valid references split into registry and repository", arguments: [
        ("ghcr.io/acme/models", "ghcr.io", "acme/models"),
        ("127.0.0.1:5000/models", "127.0.0.1:5000", "models"),
        ("localhost/a/b/c", "localhost", "a/b/c"),
        ("Registry.Example.com:443/team/my-models_v2.x", "registry.example.com:443", "team/my-models_v2.x"),
        ("[::1]:5000/m", "[::1]:5000", "m"),
        ("oci://ghcr.io/acme/models", "ghcr.io", "acme/models"),
        ("r.io/a__b/c---d", "r.io", "a__b/c---d"),
    ])
    func valid(text: String, registry: String, repository: String) throws {
        let reference = try OCIReference(parsing: text)
        #expect(reference.registry == registry)
        #expect(reference.repository == repository)
        #expect(reference.description == "\(registry)/\(repository)")
    }

    @Test("invalid references are configuration errors naming the key", arguments: [
        ("acme/models", "does not start with a registry host"),
        ("ghcr.io", "names no repository"),
        ("ghcr.io/", "is not a valid repository name"),
        ("ghcr.io/Acme/models", "is not a valid repository name"),
        ("ghcr.io/acme//models", "is not a valid repository name"),
        ("ghcr.io/acme/models/", "is not a valid repository name"),
        ("ghcr.io/-acme", "is not a valid repository name"),
        ("ghcr.io/a___b", "is not a valid repository name"),
        ("ghcr.io/a..b", "is not a valid repository name"),
        ("ghcr.io/acme/models:latest", "names a tag"),
        ("ghcr.io/acme/models@sha256:abc", "names a digest"),
        ("https://ghcr.io/acme/models", "starts with https://"),
        ("host:99999/m", "does not start with a registry host"),
        ("ho st.io/m", "does not start with a registry host"),
    ])
    func invalid(text: String, reason: String) throws {
        let error = try #require(throws: ConfigError.self) { try OCIReference(parsing: text, key: "model_sync.oci.reference") }
        #expect(error.key == "model_sync.oci.reference")
        #expect(error.message == "model_sync.oci.reference: \"\(text)\" \(reason)")
        #expect(error.hint != nil)
        #expect(error.category.exitCode == 2)
    }

    @Test("loopback hosts and tags")
    func loopbackAndTags() throws {
        #expect(try OCIReference(parsing: "127.0.0.2:80/m").isLoopback)
        #expect(try OCIReference(parsing: "localhost:5000/m").isLoopback)
        #expect(try OCIReference(parsing: "[::1]:5000/m").isLoopback)
        #expect(try !OCIReference(parsing: "ghcr.io/m").isLoopback)
        #expect(OCIReference.isTag("latest") && OCIReference.isTag("sha256-abc") && OCIReference.isTag("_x.y-Z"))
        #expect(!OCIReference.isTag(".x") && !OCIReference.isTag("") && !OCIReference.isTag("a/b")
                && !OCIReference.isTag(String(repeating: "a", count: 129)))
    }
}
