import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

@Suite("registry credentials from oci.password_env and the Docker config file")
struct DockerConfigFileTests {
    static let password = "pa55-Word-xyz"
    static var auth: String { Data("alice:\(password)".utf8).base64EncodedString() }

    /// A Docker config folder holding `json` as config.json, and the environment pointing at it.
    func environment(_ json: String, in directory: TemporaryDirectory) -> [String: String] {
        directory.write("docker/config.json", json)
        return ["DOCKER_CONFIG": directory.path + "/docker", "PATH": directory.path + "/bin:/usr/bin:/bin"]
    }

    func resolve(_ registry: String, _ environment: [String: String]) throws -> OCICredentials? {
        try OCICredentials.resolve(registry: registry, username: nil, passwordEnv: nil, environment: environment)
    }

    @Test("auths keyed by host, https://host and host/v1/ all serve the host; auth is base64 of user:password")
    func keyForms() throws {
        let directory = TemporaryDirectory("docker-config")
        for key in ["ghcr.io", "https://ghcr.io", "https://ghcr.io/v1/", "GHCR.IO", "http://ghcr.io/"] {
            let env = environment(#"{"auths": {"\#(key)": {"auth": "\#(Self.auth)"}}}"#, in: directory)
            let credentials = try #require(try resolve("ghcr.io", env), "key \(key)")
            #expect(credentials.username == "alice" && credentials.password == Self.password)
            #expect(credentials.origin == .dockerConfig(file: directory.path + "/docker/config.json"))
        }
        let env = environment(#"{"auths": {"ghcr.io": {"auth": "\#(Self.auth)"}}}"#, in: directory)
        #expect(try resolve("quay.io", env) == nil, "another registry gets nothing")
        #expect(try resolve("127.0.0.1:5000", environment(#"{"auths": {"127.0.0.1:5000": {"auth": "\#(Self.auth)"}}}"#,
                                                           in: directory))?.username == "alice")
    }

    @Test("an exact key wins over another key naming the same host")
    func exactKeyFirst() throws {
        let directory = TemporaryDirectory("docker-config")
        let other = Data("bob:other-password".utf8).base64EncodedString()
        let env = environment(#"{"auths": {"https://ghcr.io": {"auth": "\#(other)"}, "ghcr.io": {"auth": "\#(Self.auth)"}}}"#,
                              in: directory)
        #expect(try resolve("ghcr.io", env)?.username == "alice")
    }

    @Test("username and password fields, an identity token, Docker Hub's legacy key, an empty entry")
    func entryForms() throws {
        let directory = TemporaryDirectory("docker-config")
        var env = environment(#"{"auths": {"ghcr.io": {"username": "alice", "password": "\#(Self.password)"}}}"#, in: directory)
        #expect(try resolve("ghcr.io", env)?.password == Self.password)
        env = environment(#"{"auths": {"ghcr.io": {"auth": "", "identitytoken": "refresh-xyz-123"}}}"#, in: directory)
        #expect(try resolve("ghcr.io", env)?.identityToken == "refresh-xyz-123")
        env = environment(#"{"auths": {"https://index.docker.io/v1/": {"auth": "\#(Self.auth)"}}}"#, in: directory)
        for registry in ["docker.io", "registry-1.docker.io", "index.docker.io"] {
            #expect(try resolve(registry, env)?.username == "alice", "\(registry)")
        }
        env = environment(#"{"auths": {"ghcr.io": {}}, "HttpHeaders": {"X": "y"}}"#, in: directory)
        #expect(try resolve("ghcr.io", env) == nil)
    }

    @Test("DOCKER_CONFIG wins over ~/.docker; no file means anonymous")
    func location() throws {
        #expect(DockerConfigFile.path(environment: ["HOME": "/home/u"]) == "/home/u/.docker/config.json")
        #expect(DockerConfigFile.path(environment: ["HOME": "/home/u", "DOCKER_CONFIG": "/etc/d"]) == "/etc/d/config.json")
        #expect(DockerConfigFile.path(environment: [:]) == nil)
        let directory = TemporaryDirectory("docker-config")
        directory.write("home/.docker/config.json", #"{"auths": {"ghcr.io": {"auth": "\#(Self.auth)"}}}"#)
        #expect(try resolve("ghcr.io", ["HOME": directory.path + "/home"])?.username == "alice")
        #expect(try resolve("ghcr.io", ["HOME": directory.path + "/nowhere"]) == nil)
    }

    @Test("a broken config file is exit 2 naming the file, and quotes none of its content")
    func broken() throws {
        let directory = TemporaryDirectory("docker-config")
        let env = environment(#"{"auths": {"ghcr.io": {"auth": "\#(Self.auth)", "password": "\#(Self.password)""#, in: directory)
        let error = try #require(throws: OCIAuthError.self) { try resolve("ghcr.io", env) }
        #expect(error.category.exitCode == 2)
        #expect(error.message.contains(directory.path + "/docker/config.json"))
        #expect(!error.message.contains(Self.password) && !error.message.contains(Self.auth))
        let badAuth = environment(#"{"auths": {"ghcr.io": {"auth": "not base64 \#(Self.password)"}}}"#, in: directory)
        let decoding = try #require(throws: OCIAuthError.self) { try resolve("ghcr.io", badAuth) }
        #expect(decoding.message.contains("\"ghcr.io\"") && !decoding.message.contains(Self.password))
        #expect(decoding.hint?.contains("docker login ghcr.io") == true)
    }

    @Test("oci.username with oci.password_env wins over the config file; a variable not set is exit 2 naming it")
    func passwordEnv() throws {
        let directory = TemporaryDirectory("docker-config")
        var env = environment(#"{"auths": {"ghcr.io": {"auth": "\#(Self.auth)"}}}"#, in: directory)
        env["GHCR_TOKEN"] = "ghp_token-value-1234"
        let credentials = try #require(try OCICredentials.resolve(registry: "ghcr.io", username: "bob",
                                                                  passwordEnv: "GHCR_TOKEN", environment: env))
        #expect(credentials.username == "bob" && credentials.password == "ghp_token-value-1234")
        #expect(credentials.origin == .environment(variable: "GHCR_TOKEN"))
        let error = try #require(throws: OCIAuthError.self) {
            try OCICredentials.resolve(registry: "ghcr.io", username: "bob", passwordEnv: "MISSING_TOKEN", environment: env)
        }
        #expect(error.category.exitCode == 2)
        #expect(error.message == "oci.password_env names MISSING_TOKEN, which is not set (or empty): "
                + "there is no password for bob at ghcr.io")
        #expect(error.hint == "export MISSING_TOKEN (or put it in .env), or remove oci.password_env "
                + "to use the credentials of `docker login ghcr.io`")
    }

    /// A fake `docker-credential-<name>` that records its arguments and stdin and prints `answer`.
    func helper(_ name: String, in directory: TemporaryDirectory, answer: String, exit code: Int = 0) {
        directory.write("bin/docker-credential-\(name)", """
            #!/bin/sh
            echo "$@" > "\(directory.path)/\(name).args"
            cat > "\(directory.path)/\(name).stdin"
            printf '%s' '\(answer)'
            exit \(code)
            """.utf8.map { $0 }, mode: 0o755)
    }

    @Test("credHelpers and credsStore run docker-credential-<name> get with the registry on stdin")
    func helpers() throws {
        let directory = TemporaryDirectory("docker-config")
        helper("perhost", in: directory, answer: #"{"ServerURL":"ghcr.io","Username":"carol","Secret":"helper-secret-1"}"#)
        helper("store", in: directory, answer: #"{"ServerURL":"x","Username":"<token>","Secret":"identity-tok-2"}"#)
        let env = environment(#"{"credsStore": "store", "credHelpers": {"ghcr.io": "perhost"}, "auths": {"ghcr.io": {}}}"#,
                              in: directory)
        let perHost = try #require(try resolve("ghcr.io", env))
        #expect(perHost.username == "carol" && perHost.password == "helper-secret-1")
        #expect(perHost.origin == .credentialHelper(name: "perhost"))
        #expect(String(decoding: directory.read("perhost.args"), as: UTF8.self) == "get\n")
        #expect(String(decoding: directory.read("perhost.stdin"), as: UTF8.self) == "ghcr.io\n")
        let store = try #require(try resolve("quay.io", env))
        #expect(store.identityToken == "identity-tok-2" && store.password.isEmpty)
        _ = try resolve("docker.io", env)
        #expect(String(decoding: directory.read("store.stdin"), as: UTF8.self) == "https://index.docker.io/v1/\n")
    }

    @Test("a helper without credentials for the host falls back to the auths entry; a failing one is exit 2")
    func helperFallbackAndFailure() throws {
        let directory = TemporaryDirectory("docker-config")
        helper("empty", in: directory, answer: "credentials not found in native keychain", exit: 1)
        var env = environment(#"{"credsStore": "empty", "auths": {"ghcr.io": {"auth": "\#(Self.auth)"}}}"#, in: directory)
        #expect(try resolve("ghcr.io", env)?.username == "alice")
        #expect(try resolve("quay.io", env) == nil)
        helper("broken", in: directory, answer: "keyring locked", exit: 3)
        env = environment(#"{"credsStore": "broken"}"#, in: directory)
        let failed = try #require(throws: OCIAuthError.self) { try resolve("ghcr.io", env) }
        #expect(failed.category.exitCode == 2)
        #expect(failed.message == "docker-credential-broken get failed for ghcr.io (exit 3): keyring locked")
    }

    @Test("a helper missing from PATH, or named with a path, is refused with a hint")
    func helperMissing() throws {
        let directory = TemporaryDirectory("docker-config")
        var env = environment(#"{"credsStore": "desktop"}"#, in: directory)
        let missing = try #require(throws: OCIAuthError.self) { try resolve("ghcr.io", env) }
        #expect(missing.category.exitCode == 2)
        #expect(missing.message == "\(directory.path)/docker/config.json names the credential helper "
                + "docker-credential-desktop, which is not on PATH")
        #expect(missing.hint?.contains("set oci.username and oci.password_env") == true)
        env = environment(#"{"credHelpers": {"ghcr.io": "../../tmp/evil"}}"#, in: directory)
        let pathName = try #require(throws: OCIAuthError.self) { try resolve("ghcr.io", env) }
        #expect(pathName.message.contains("is not a plain name"))
    }
}
