// The release this build belongs to: what `duet --version` prints. CHANGELOG.md
// has a section for it; bump both together when a release is cut.

public enum DuetVersion {
    /// Semantic version, with `-dev` between releases.
    public static let string = "0.1.0-dev"
}
