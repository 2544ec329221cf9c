import ArgumentParser
import LabCLI

/// The `lab` executable: every command lives in LabCLI; this executable is linked with the
/// Swift runtime built in (see Package.swift).
@main
extension LabCommand {}
