import Foundation

/// Files of the checkout the tests run from (the .venv python, the built `lab` executable),
/// found by walking up from the current directory and from the calling source file.
public enum RepositoryFiles {
    public static func executable(_ relativePath: String, from sourceFile: String = #filePath) -> String? {
        for start in [FileManager.default.currentDirectoryPath, URL(fileURLWithPath: sourceFile).deletingLastPathComponent().path] {
            var directory = URL(fileURLWithPath: start)
            while true {
                let candidate = directory.appendingPathComponent(relativePath).path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                let parent = directory.deletingLastPathComponent()
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        return nil
    }
}
