import Testing
@testable import ModelSyncKit

@Suite("RemoteMessages: what a git remote says during a push, as `remote:` lines")
struct RemoteMessagesTests {
    @Test("progress meters and blank lines are dropped; lines split across chunks are joined")
    func keepsMessages() {
        var messages = RemoteMessages()
        messages.append("Resolving deltas:  50% (1/2)\rResolving deltas: 100% (2/2), done.\n")
        messages.append("error: File big.bin is 300 MB; this exceeds Git")
        messages.append("Hub's file size limit of 100.00 MB\n\n")
        messages.append("error: GH001: Large files detected.\r\n")
        #expect(messages.lines == ["error: File big.bin is 300 MB; this exceeds GitHub's file size limit of 100.00 MB",
                                   "error: GH001: Large files detected."])
        #expect(messages.quoted == "remote: error: File big.bin is 300 MB; this exceeds GitHub's file size limit of 100.00 MB\n"
                + "remote: error: GH001: Large files detected.")
        #expect(RemoteMessages().quoted == nil)
    }

    @Test("control characters are removed and a flood is capped in bytes and lines")
    func capsFloods() {
        var messages = RemoteMessages()
        messages.append("\u{1b}[31mred\u{1b}[0m\n")
        #expect(messages.lines == ["[31mred[0m"])
        for index in 0..<5_000 { messages.append("line \(index)\n") }
        #expect(messages.lines.count == RemoteMessages.maxLines)
        #expect(messages.lines.joined().utf8.count < RemoteMessages.maxBytes)
    }
}
