import CSystemd

/// Type=notify: what the daemon tells systemd (sd_notify) about its state. Every call is a no-op when
/// systemd did not start the process with a notification socket.
public enum ServiceNotifier {
    public static func ready(status: String) { send("READY=1\nSTATUS=\(line(status))") }
    public static func status(_ status: String) { send("STATUS=\(line(status))") }
    public static func stopping(status: String) { send("STOPPING=1\nSTATUS=\(line(status))") }
    /// Type=notify-reload and ExecReload both accept this pair around a reload.
    public static func reloading(status: String) { send("RELOADING=1\nSTATUS=\(line(status))") }
    public static func watchdog() { send("WATCHDOG=1") }

    /// The interval the unit's WatchdogSec= asks for, in microseconds, or nil when there is none.
    public static func watchdogInterval() -> UInt64? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return usec
    }

    static func send(_ state: String) { _ = sd_notify(0, state) }

    /// Newlines separate assignments: a status text must not start another one.
    static func line(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
