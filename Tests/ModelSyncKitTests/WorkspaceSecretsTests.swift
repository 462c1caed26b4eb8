import Foundation
import Testing
@testable import ModelSyncKit

@Suite("Workspace: which values are secrets, and which a configured command may receive")
struct WorkspaceSecretsTests {
    @Test("the .env values and the *_env variables are withheld from commands; their values and ${VAR}s are scrubbed")
    func secretsOfAWorkspace() throws {
        let directory = TemporaryDirectory()
        directory.write("prod.env", "WS_DOTENV_TOKEN=ws-dotenv-token-value\nWS_MODELS=/srv/ws-models\n")
        directory.write("bot.yaml", """
            model_sync:
              models_dir: ${WS_MODELS}
              remote: ${WS_REMOTE}
              runpod:
                api_key_env: WS_RUNPOD_KEY
                headers: {X-Literal-Token: ws-literal-header-token}
              git:
                token_env: WS_GIT_TOKEN
            """)
        let workspace = try Workspace.resolve(
            configPath: directory.path + "/bot.yaml", modelsDir: nil, storeDir: nil, envFile: directory.path + "/prod.env",
            processEnvironment: ["WS_RUNPOD_KEY": "ws-runpod-key-value", "WS_GIT_TOKEN": "ws-git-token-value",
                                 "WS_REMOTE": "ws-remote-value", "PATH": "/bin"])
        #expect(workspace.commands.secrets == [
            "WS_DOTENV_TOKEN": "ws-dotenv-token-value", "WS_MODELS": "/srv/ws-models",
            "WS_RUNPOD_KEY": "ws-runpod-key-value", "WS_GIT_TOKEN": "ws-git-token-value",
        ])
        let scrubbed = SecretScrubber.shared.scrub(
            "ws-dotenv-token-value ws-runpod-key-value ws-git-token-value ws-remote-value /srv/ws-models ws-literal-header-token")
        #expect(scrubbed == "[redacted] [redacted] [redacted] [redacted] /srv/ws-models [redacted]")
        #expect(workspace.activationOptions().commands.secrets == workspace.commands.secrets)
    }
}
