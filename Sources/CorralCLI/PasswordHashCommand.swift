import ArgumentParser
import CorralController
import Foundation

struct PasswordHashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password-hash",
        abstract: "Print a bcrypt hash of a password read from stdin, for a controller's userAuth (encoding: CRYPT).")

    @Option(help: "bcrypt cost (4 to 31): each step doubles the work of every check.")
    var rounds = 12

    func run() throws {
        guard (4...31).contains(rounds) else { throw fail("--rounds \(rounds) is out of range (allowed: 4 to 31)") }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw fail("no password on stdin") }
        guard let hash = UserAuthenticator.bcrypt(line, rounds: rounds) else { throw fail("crypt(3) could not hash the password") }
        print(hash)
    }
}
