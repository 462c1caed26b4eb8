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

    // The configuration's grammar (OCIConfig.referenceProblem) and its words: the same reference is refused
    // the same way whether the configuration is loaded or the reference parsed.
    @Test("invalid references are configuration errors naming the key, in the configuration's words", arguments: [
        ("acme/models", "\"acme\" is not a registry host"),
        ("ghcr.io", "no repository"),
        ("ghcr.io/", "the repository name is empty"),
        ("ghcr.io/Acme/models", "repository \"Acme/models\": each /-separated part"),
        ("ghcr.io/acme//models", "repository \"acme//models\": each /-separated part"),
        ("ghcr.io/acme/models/", "repository \"acme/models/\": each /-separated part"),
        ("ghcr.io/-acme", "repository \"-acme\": each /-separated part"),
        ("ghcr.io/a___b", "repository \"a___b\": each /-separated part"),
        ("ghcr.io/a..b", "repository \"a..b\": each /-separated part"),
        ("ghcr.io/acme/models:latest", "without a tag or digest"),
        ("ghcr.io/acme/models@sha256:abc", "without a tag or digest"),
        ("https://ghcr.io/acme/models", "without a scheme"),
        ("host:99999/m", "port \"99999\" is not a number from 1 to 65535"),
        ("ho st.io/m", "host \"ho st.io\" is not a DNS name or IP address"),
    ])
    func invalid(text: String, reason: String) throws {
        let error = try #require(throws: ConfigError.self) { try OCIReference(parsing: text, key: "model_sync.oci.reference") }
        #expect(error.key == "model_sync.oci.reference")
        #expect(error.message == "model_sync.oci.reference: \(try #require(OCIConfig.referenceProblem(text))), got \"\(text)\"")
        #expect(error.message.contains(reason), "\(error.message)")
        #expect(error.hint == OCIConfig.referenceHint)
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
