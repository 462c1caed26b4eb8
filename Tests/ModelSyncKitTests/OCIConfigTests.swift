import Testing
@testable import ModelSyncKit

@Suite("model_sync.oci: the OCI registry's keys, their defaults and their checks")
struct OCIConfigTests {
    private func parse(_ oci: String, environment: [String: String] = [:]) throws -> Config {
        try Config.parse(yaml: "model_sync:\n  oci:\n" + oci, file: "bot.yaml", environment: environment)
    }

    @Test("without an oci section the git registry stays the transport, and every default holds")
    func defaults() throws {
        let config = try Config.parse(yaml: "model_sync:\n  oci:\n", file: "bot.yaml", environment: [:])
        #expect(config.oci == OCIConfig())
        #expect(!config.oci.isEnabled)
        #expect(config.oci.channel == "latest" && config.oci.concurrency == 4 && !config.oci.insecure)
        #expect(config.oci.mountFrom.isEmpty)
    }

    @Test("every key is read")
    func everyKey() throws {
        let config = try parse("""
                reference: "127.0.0.1:5000/team/models"
                channel: prod
                concurrency: 8
                username: bot
                password_env: REGISTRY_TOKEN
                insecure: true
                ca_bundle: /etc/ssl/registry.pem
                mount_from: [team/base, other]
            """)
        #expect(config.oci.reference == "127.0.0.1:5000/team/models")
        #expect(config.oci.isEnabled)
        #expect(config.oci.channel == "prod" && config.oci.concurrency == 8)
        #expect(config.oci.username == "bot" && config.oci.passwordEnv == "REGISTRY_TOKEN")
        #expect(config.oci.insecure && config.oci.caBundle == "/etc/ssl/registry.pem")
        #expect(config.oci.mountFrom == ["team/base", "other"])
    }

    @Test("references of every accepted shape load", arguments: [
        "ghcr.io/org/models", "127.0.0.1:5000/models", "localhost:5000/a/b/c", "registry.example.com/my-org/m_1",
        "[::1]:5000/models", "host.lan/a__b/c.d/e--f", "oci://ghcr.io/org/models", "LOCALHOST/m",
    ])
    func acceptedReferences(reference: String) throws {
        #expect(try parse("    reference: \"\(reference)\"\n").oci.reference == reference)
    }

    @Test("a malformed reference is refused with exit 2, naming the key and the line", arguments: [
        "https://ghcr.io/org/models", "ghcr.io", "ghcr.io/Org/Models", "ghcr.io/org/models:latest",
        "ghcr.io/org/models@sha256:00", "ghcr.io/org//models", "ghcr.io/-org/models", "ghcr.io:99999/models",
        "gh cr.io/models", "ghcr.io/org/models/", "ghcr.io/a..b",
    ])
    func refusedReferences(reference: String) throws {
        let error = #expect(throws: ConfigError.self) { try parse("    reference: \"\(reference)\"\n") }
        #expect(error?.key == "model_sync.oci.reference")
        #expect(error?.line == 3)
        #expect(error?.category.exitCode == 2)
        #expect(error?.message.contains("got \"\(reference)\"") == true)
    }

    @Test("a host without a dot or a port, not localhost, is a Docker Hub path as docker reads it: refused with both fixes", arguments: [
        ("acme/models", "acme.example:5000/models", "docker.io/acme/models"),
        ("registry/team/models", "registry.example:5000/team/models", "docker.io/registry/team/models"),
    ])
    func singleLabelHost(reference: String, ownRegistry: String, dockerHub: String) throws {
        let error = #expect(throws: ConfigError.self) { try parse("    reference: \(reference)\n") }
        let host = reference.prefix(while: { $0 != "/" })
        #expect(error?.message == "bot.yaml:3: model_sync.oci.reference: \"\(host)\" is not a registry host: docker reads a "
                + "first part without a dot or a port (other than localhost) as a path on Docker Hub; write \(ownRegistry) "
                + "for a registry of your own, or \(dockerHub) for Docker Hub, got \"\(reference)\"")
        #expect(error?.category.exitCode == 2)
    }

    @Test("a channel that is not a tag, or that would shadow a digest tag, is refused", arguments: [
        "-latest", ".hidden", "a/b", "with space", String(repeating: "x", count: 129), "sha256-abc",
    ])
    func refusedChannels(channel: String) throws {
        let error = #expect(throws: ConfigError.self) { try parse("    channel: \"\(channel)\"\n") }
        #expect(error?.key == "model_sync.oci.channel")
    }

    @Test("concurrency out of range, a bad variable name, a bad mount repository and unknown keys are refused")
    func refusedValues() throws {
        for (text, key) in [("    concurrency: 0\n", "model_sync.oci.concurrency"),
                            ("    concurrency: 65\n", "model_sync.oci.concurrency"),
                            ("    concurrency: .nan\n", "model_sync.oci.concurrency"),
                            ("    password_env: \"not a name\"\n", "model_sync.oci.password_env"),
                            ("    mount_from: [Team/Base]\n", "model_sync.oci.mount_from[0]"),
                            ("    mount_from: team/base\n", "model_sync.oci.mount_from"),
                            ("    insecure: yes\n", "model_sync.oci.insecure"),
                            ("    refrence: ghcr.io/org/m\n", "model_sync.oci.refrence")] {
            let error = #expect(throws: ConfigError.self, "\(text)") { try parse(text) }
            #expect(error?.key == key, "\(text)")
        }
        let unknown = #expect(throws: ConfigError.self) { try parse("    refrence: ghcr.io/org/m\n") }
        #expect(unknown?.hint == "did you mean \"reference\"?")
    }

    @Test("password_env needs username")
    func passwordNeedsUser() throws {
        let error = #expect(throws: ConfigError.self) { try parse("    password_env: REGISTRY_TOKEN\n") }
        #expect(error?.key == "model_sync.oci.username")
    }

    @Test("the password is a secret: scrubbed, withheld from commands that do not name it; ca_bundle is a path")
    func passwordIsSecret() throws {
        let config = try parse("""
                reference: ghcr.io/org/models
                username: bot
                password_env: REGISTRY_TOKEN
                ca_bundle: ${CA_PATH}
            """, environment: ["CA_PATH": "/etc/ssl/registry-ca-bundle.pem"])
        let secrets = Workspace.secretVariables(config: config, dotEnv: [:],
                                                environment: ["REGISTRY_TOKEN": "s3cr3t-registry-token"])
        #expect(secrets == ["REGISTRY_TOKEN": "s3cr3t-registry-token"])
        #expect(!config.secretVariables.contains("CA_PATH"))
    }
}
