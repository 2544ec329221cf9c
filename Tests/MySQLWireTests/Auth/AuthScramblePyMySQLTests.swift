import Foundation
import MySQLWire
import Testing
import WireCore

/// The scrambles against PyMySQL's own implementation, run live on random passwords and
/// nonces (including empty and long passwords), not only on stored vectors.
@Suite(.enabled(if: PyMySQL.python != nil, "PyMySQL not found in .venv (run scripts/setup)"))
struct AuthScramblePyMySQLTests {
    @Test func randomPasswordsAndNoncesAgreeWithPyMySQL() throws {
        var cases: [(password: String, nonce: [UInt8])] = [("", Array(repeating: 7, count: 20))]
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABC0123456789!@#$%^&*()_+ü€😀")
        for _ in 0..<60 {
            let length = Int.random(in: 0...48, using: &generator)
            let password = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            cases.append((password, (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        }
        let input = cases.map { "\(Digest.hex(Array($0.password.utf8))) \(Digest.hex($0.nonce))" }.joined(separator: "\n")
        let output = try PyMySQL.run(script: """
            import sys
            from pymysql import _auth
            for line in sys.stdin.read().split("\\n"):
                password_hex, nonce_hex = line.split(" ")
                password, nonce = bytes.fromhex(password_hex), bytes.fromhex(nonce_hex)
                native = _auth.scramble_native_password(password, nonce) if password else b""
                sha2 = _auth.scramble_caching_sha2(password, nonce) if password else b""
                print("=" + native.hex(), "=" + sha2.hex())
            """, input: input)
        let lines = output.split(separator: "\n").filter { $0.hasPrefix("=") }
        #expect(lines.count == cases.count)
        for (testCase, line) in zip(cases, lines) {
            let expected = line.split(separator: " ").map { String($0.dropFirst()) }
            let native = Digest.hex(MySQLNativePassword.scramble(password: testCase.password, nonce: testCase.nonce))
            let sha2 = Digest.hex(MySQLCachingSHA2Password.scramble(password: testCase.password, nonce: testCase.nonce))
            #expect(native == expected.first, "native scramble of \(testCase.password.debugDescription)")
            #expect(sha2 == expected.last, "caching_sha2 scramble of \(testCase.password.debugDescription)")
        }
    }
}

/// The .venv python with PyMySQL, if scripts/setup installed it.
enum PyMySQL {
    static let python: String? = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)
        let candidate = parts.joined(separator: "/") + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: candidate), (try? run(candidate, script: "import pymysql", input: "")) != nil else {
            return nil
        }
        return candidate
    }()

    static func run(script: String, input: String) throws -> String {
        guard let python else { throw CocoaError(.fileNoSuchFile) }
        return try run(python, script: script, input: input)
    }

    private static func run(_ executable: String, script: String, input: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
