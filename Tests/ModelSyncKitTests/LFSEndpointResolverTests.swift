import Foundation
import Testing
import ModelSyncTestSupport
@testable import ModelSyncKit

@Suite("LFSEndpointResolver: the Git LFS endpoint derived from a remote as git-lfs derives it")
struct LFSEndpointResolverTests {
    static func resolver(_ remote: String, lfsURL: String? = nil, token: String? = nil, user: String = "x-access-token",
                         sshKey: String? = nil) -> LFSEndpointResolver {
        LFSEndpointResolver(remoteURL: remote, lfsURL: lfsURL, token: token, username: user, sshKey: sshKey)
    }

    @Test("https remotes get <repo>.git/info/lfs, with or without .git or a trailing slash, never their user info")
    func httpsDerivation() throws {
        for remote in ["https://git.example.com/org/models", "https://git.example.com/org/models.git",
                       "https://git.example.com/org/models.git/", "https://bob:secret@git.example.com/org/models"] {
            let endpoint = try #require(try Self.resolver(remote).endpoint(for: .download))
            #expect(endpoint.url == "https://git.example.com/org/models.git/info/lfs", "\(remote)")
            #expect(endpoint.headers.isEmpty)
        }
        let local = try #require(try Self.resolver("http://127.0.0.1:8080/registry.git").endpoint(for: .upload))
        #expect(local.url == "http://127.0.0.1:8080/registry.git/info/lfs")
    }

    @Test("the token goes as HTTP Basic with git.username (x-access-token by default)")
    func tokenHeader() throws {
        let plain = try #require(try Self.resolver("https://h/o/r", token: "t0ken-1234").endpoint(for: .download))
        #expect(plain.headers.count == 1)
        #expect(plain.headers.first?.0 == "Authorization")
        #expect(plain.headers.first?.1 == "Basic " + Data("x-access-token:t0ken-1234".utf8).base64EncodedString())
        let named = try #require(try Self.resolver("https://h/o/r", token: "jwt.value", user: "_jwt").endpoint(for: .download))
        #expect(named.headers.first?.1 == "Basic " + Data("_jwt:jwt.value".utf8).base64EncodedString())
    }

    @Test("git.lfs_url wins over any remote, a path included")
    func explicitURL() throws {
        for remote in ["https://h/o/r", "/srv/registry.git", "git://h/r", "git@h:o/r.git"] {
            let endpoint = try #require(try Self.resolver(remote, lfsURL: "https://lfs.example.com/o/r").endpoint(for: .upload))
            #expect(endpoint.url == "https://lfs.example.com/o/r")
        }
    }

    @Test("paths, file:// and git:// have no LFS endpoint; http(s) and ssh may")
    func remoteKinds() throws {
        for remote in ["/srv/registry.git", "registry.git", "./r", "file:///srv/r.git", "git://127.0.0.1/r.git", "C:/x"] {
            #expect(try Self.resolver(remote).endpoint(for: .download) == nil, "\(remote)")
            #expect(!Self.resolver(remote).remoteMayHaveLFS, "\(remote)")
        }
        for remote in ["https://h/r", "http://h/r", "git@h:o/r.git", "ssh://git@h:2222/o/r.git"] {
            #expect(Self.resolver(remote).remoteMayHaveLFS, "\(remote)")
        }
        #expect(LFSEndpointResolver.kind(of: "git@github.com:org/models.git")
                == .ssh(user: "git", host: "github.com", port: nil, path: "org/models.git"))
        #expect(LFSEndpointResolver.kind(of: "ssh://git@host.example:2222/org/models.git")
                == .ssh(user: "git", host: "host.example", port: 2222, path: "/org/models.git"))
        #expect(LFSEndpointResolver.kind(of: "ssh://[::1]:22/r.git") == .ssh(user: nil, host: "::1", port: 22, path: "/r.git"))
        #expect(LFSEndpointResolver.kind(of: "host:/srv/r.git") == .ssh(user: nil, host: "host", port: nil, path: "srv/r.git"))
    }

    @Test("ssh is run as git-lfs runs it: -i key, -p port, user@host git-lfs-authenticate <path> <operation>")
    func sshArguments() {
        let resolver = Self.resolver("ssh://git@h:2222/o/r.git", sshKey: "/keys/id")
        #expect(resolver.sshArguments(user: "git", host: "h", port: 2222, path: "/o/r.git", operation: .upload)
                == ["-o", "BatchMode=yes", "-i", "/keys/id", "-o", "IdentitiesOnly=yes", "-p", "2222", "--", "git@h",
                    "git-lfs-authenticate", "/o/r.git", "upload"])
    }

    /// A fake `ssh` that records its arguments and runs `body` (a shell snippet).
    static func fakeSSH(_ body: String) throws -> (TemporaryDirectory, String) {
        let directory = TemporaryDirectory()
        let path = directory.path + "/ssh"
        try Data("#!/bin/sh\necho \"$@\" >> '\(directory.path)/calls'\n\(body)\n".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
        return (directory, path)
    }

    @Test("an SSH remote uses git-lfs-authenticate's href and header as given; each refresh asks again")
    func sshAuthenticate() throws {
        let (directory, ssh) = try Self.fakeSSH("""
            echo '{"href": "https://lfs.example.com/org/models", "header": {"Authorization": "RemoteAuth abc"}, "expires_in": 60}'
            """)
        var resolver = Self.resolver("git@git.example.com:org/models.git", token: "not-sent-1234")
        resolver.sshProgram = ssh
        let endpoint = try #require(try resolver.endpoint(for: .download))
        #expect(endpoint.url == "https://lfs.example.com/org/models")
        #expect(endpoint.headers.map(\.0) == ["Authorization"])
        #expect(endpoint.headers.map(\.1) == ["RemoteAuth abc"])
        _ = try resolver.refresher(for: .upload)()
        let calls = try String(contentsOfFile: directory.path + "/calls", encoding: .utf8)
        #expect(calls == "-o BatchMode=yes -- git@git.example.com git-lfs-authenticate org/models.git download\n"
                + "-o BatchMode=yes -- git@git.example.com git-lfs-authenticate org/models.git upload\n")
    }

    @Test("a server without git-lfs-authenticate gets the guessed https endpoint with the token; other failures are exit 4")
    func sshFallbackAndFailure() throws {
        let (first, missing) = try Self.fakeSSH("echo 'sh: 1: git-lfs-authenticate: not found' >&2; exit 127")
        var resolver = Self.resolver("ssh://git@git.example.com/org/models", token: "tok-12345678")
        resolver.sshProgram = missing
        let guessed = try #require(try resolver.endpoint(for: .download))
        #expect(guessed.url == "https://git.example.com/org/models.git/info/lfs")
        #expect(guessed.headers.first?.1 == "Basic " + Data("x-access-token:tok-12345678".utf8).base64EncodedString())

        let (second, refused) = try Self.fakeSSH("echo 'Permission denied (publickey).' >&2; exit 255")
        resolver.sshProgram = refused
        let error = #expect(throws: LFSEndpointError.self) { try resolver.endpoint(for: .upload) }
        #expect(error?.category.exitCode == 4)
        #expect(error?.message.contains("git-lfs-authenticate /org/models upload failed (exit 255): Permission denied (publickey).") == true,
                "\(error?.message ?? "")")

        let (third, garbage) = try Self.fakeSSH("echo 'welcome to the shell'")
        resolver.sshProgram = garbage
        let noJSON = #expect(throws: LFSEndpointError.self) { try resolver.endpoint(for: .upload) }
        #expect(noJSON?.message.contains("printed no Git LFS endpoint") == true)

        // No ssh program at all is not a server without the command.
        resolver.sshProgram = third.path + "/no-such-ssh"
        #expect(throws: LFSEndpointError.self) { try resolver.endpoint(for: .upload) }
        withExtendedLifetime((first, second, third)) {}
    }
}
