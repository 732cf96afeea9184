/// Exit codes of `hearth sandbox run` when Hearth, not the command, decides the status.
/// Documented in README.md; the command's own status (or 128+signal) otherwise.
public enum SandboxExitCode {
    public static let usage: Int32 = 2
    public static let pidsLimit: Int32 = 121
    public static let outOfMemory: Int32 = 122
    public static let timeout: Int32 = 124
    public static let sandboxFailure: Int32 = 125
}
