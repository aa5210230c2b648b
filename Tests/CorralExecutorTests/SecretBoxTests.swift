import CorralExecutor
import CorralTestSupport
import Foundation
import PropertyBased
import Testing

/// Values stored encrypted: AES-GCM with the executor's key file.
@Suite struct SecretBoxTests {
    static func box() -> SecretBox {
        SecretBox(current: .init(Data((0..<32).map { UInt8($0) })))
    }

    @Test func whatIsSealedOpensOnlyWithItsKeyAndContext() async {
        let box = Self.box()
        await propertyCheck(input: Gen.int(in: 0...0x10FFFF).array(of: 0...40)) { scalars in
            let text = String(String.UnicodeScalarView(scalars.compactMap(Unicode.Scalar.init)))
            let sealed = try! box.seal(text, context: "app a env K")
            #expect(SecretBox.isSealed(sealed))
            #expect(text.isEmpty || !sealed.contains(text))
            #expect(try! box.open(sealed, context: "app a env K") == text)
            #expect(throws: SecretError.self) { try box.open(sealed, context: "app b env K") }
        }
    }

    @Test func aKeyNotHeldIsReportedNeverAnEmptyValue() throws {
        let sealed = try Self.box().seal("hunter2", context: "app web env TOKEN")
        let other = SecretBox(current: .init(Data(repeating: 7, count: 32)))
        do {
            _ = try other.open(sealed, context: "app web env TOKEN")
            Issue.record("opened with the wrong key")
        } catch {
            #expect(error.code == .unrecoverable)
            #expect(error.message.contains("app web env TOKEN"))
            #expect(!error.message.contains("hunter2"))
        }
        // Tampered bytes do not open either.
        var damaged = Array(sealed)
        damaged[damaged.count - 3] = damaged[damaged.count - 3] == "A" ? "B" : "A"
        #expect(throws: SecretError.self) { try Self.box().open(String(damaged), context: "app web env TOKEN") }
    }

    @Test func rotationKeepsOldValuesReadable() throws {
        let old = Self.box()
        let sealedBefore = try old.seal("v1", context: "c")
        let rotated = SecretBox(current: .init(Data(repeating: 9, count: 32)), previous: [old.current])
        #expect(try rotated.open(sealedBefore, context: "c") == "v1")
        let sealedAfter = try rotated.seal("v2", context: "c")
        #expect(sealedAfter.contains(":\(rotated.current.id):"))
        #expect(throws: SecretError.self) { try old.open(sealedAfter, context: "c") }
    }

    @Test func theKeyFileIsCreatedPrivateAndAWideOneIsRefused() throws {
        let dir = TemporaryDirectory.path("corral-keys")
        let path = "\(dir)/keys/secrets.key"
        let box = try SecretBox.load(keyFile: path)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(stat("\(dir)/keys", &st) == 0 && st.st_mode & 0o777 == 0o700)
        // The same key on the next start.
        #expect(try SecretBox.load(keyFile: path).current.id == box.current.id)
        chmod(path, 0o644)
        do {
            _ = try SecretBox.load(keyFile: path)
            Issue.record("a key file others may read was accepted")
        } catch {
            #expect(error.code == .keyFile && error.message.contains("644") && error.message.contains(path))
        }
        chmod(path, 0o600)
        try "# comment\nnot-a-key\n".write(toFile: path, atomically: false, encoding: .utf8)
        do {
            _ = try SecretBox.load(keyFile: path)
            Issue.record("a malformed key file was accepted")
        } catch {
            #expect(error.message.contains("\(path):2"))
        }
    }

    @Test func theClusterKeyIsDerivedFromTheControllerSecret() {
        let a = SecretBox.clusterKey(fromControllerSecret: "s3cret")
        #expect(a.id == SecretBox.clusterKey(fromControllerSecret: "s3cret").id, "every controller derives the same key")
        #expect(a.id != SecretBox.clusterKey(fromControllerSecret: "other").id)
    }

    @Test func stateFilesAreTightenedToCorralAlone() throws {
        let dir = try TemporaryDirectory.make("corral-modes")
        chmod(dir, 0o755)
        let db = "\(dir)/state.sqlite"
        FileManager.default.createFile(atPath: db, contents: nil, attributes: [.posixPermissions: 0o644])
        let store = try StateStore(directory: dir)
        try store.setMeta("k", "v")
        #expect(store.tightened.count == 2, "\(store.tightened)")
        for (path, mode) in [(dir, 0o700), (db, 0o600), (db + "-wal", 0o600), (db + "-shm", 0o600)] {
            var st = stat()
            #expect(stat(path, &st) == 0, "\(path) exists")
            #expect(st.st_mode & 0o777 == mode_t(mode), "\(path) is \(String(st.st_mode & 0o777, radix: 8))")
        }
        // A fresh directory needs no tightening.
        #expect(try StateStore(directory: TemporaryDirectory.path("corral-modes")).tightened.isEmpty)
    }
}
