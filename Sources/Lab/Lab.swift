import ArgumentParser
import LabCLI

/// The `lab` executable: every command lives in LabCLI. This executable is linked with the
/// Swift runtime built in (see Package.swift).
@main
struct Lab: AsyncParsableCommand {
    static let configuration = LabCommand.configuration
}
